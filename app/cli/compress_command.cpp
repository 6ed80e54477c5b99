// `nnlab-cli compress RUN --prune S | --quantize int8 ...` and `nnlab-cli compare RUN...`
// (nnlab/compress.h): a compressed, measured run, and the table that compares runs.
#include "compress_commands.h"

#include "cli_args.h"
#include "interrupt.h"
#include "progress_bar.h"

#include "nnlab/compress.h"
#include "nnlab/store.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

namespace nnlab::cli {

namespace {

const char* kCompressHelp = R"(Usage: nnlab-cli compress RUN --prune S [pruning options] [options]
       nnlab-cli compress RUN --quantize int8 [quantization options] [options]

Makes a smaller or faster version of a trained run and records it as a new run whose parent is
RUN. The parent and the result are measured the same way in this process: accuracy on the
validation and test splits, parameters and non-zero parameters, bytes of the saved model, and
latency at batch 1 and 64 (median and 10th-90th percentile of --latency-calls calls after
warm-up, on --latency-threads threads), throughput. `nnlab-cli compare` shows them side by side.

Pruning:
  --prune S               fraction of weights (or, --structured, of filters) removed, in [0, 1)
  --structured            remove whole conv filters and linear outputs: a smaller model
  --global                unstructured: one magnitude threshold over all layers
  --norm l1|l2            structured: how filters are ranked (default l1)
  --finetune-epochs N     train N epochs after pruning, masks held (default 0); the
                          fine-tuning run is the result
  --schedule oneshot|agp  prune at once (default), or ramp the sparsity up over fine-tuning
                          (AGP, cubic; needs --finetune-epochs >= 1)
Quantization:
  --quantize int8         post-training int8 of conv and linear layers
  --dynamic               dynamic int8 (linear weights; activations per call) instead of static
  --per-channel           weight scales per output channel (default per tensor)
  --calibrate N           training samples that set activation ranges (default 1000)
  --max-drop D            keep the costliest layers in float until the validation accuracy
                          drop is at most D (0.01 = 1 point)
  --float-layer NAME      keep this layer in float (repeatable; "0", "3.body.0")
  --engine E              onednn, qnnpack or fbgemm (default: the best this CPU supports)
  --no-fastest            keep every int8 layer in int8 even where float measured faster
Options:
  --db PATH               run store file (default $NNLAB_DB, else ~/.local/share/nnlab/runs.db)
  --name NAME             the new run's name (default "<parent name> <method>")
  --latency-threads N     threads while timing (default 1)
  --latency-calls N       timed calls per batch size, >= 10 (default 50)
  -h, --help              this help

Exit status: 0 recorded, 1 failed, 2 bad arguments, unknown run or a run without a
checkpoint, 130 cancelled.
)";

const char* kCompareHelp = R"(Usage: nnlab-cli compare RUN... [--format table|csv|json] [--cost size|latency1|latency64]

The Pareto table of runs: for each, its method (empty for an uncompressed run), parent, size
on disk, parameters and non-zero parameters, validation and test accuracy, latency at batch 1
and 64 (median, p10-p90), throughput, and whether it is on the frontier (no other run is more
accurate on the test split at a lower cost). Figures are those compress recorded; an
uncompressed run is shown with the figures a child recorded for it, else measured now.

Options:
  --format F              table (default), csv or json
  --cost C                the frontier's cost: size (default), latency1 or latency64
  --no-measure            leave runs without recorded figures blank instead of measuring them
  --db PATH               run store file
  -h, --help              this help

Exit status: 0 shown, 1 failed, 2 bad arguments or unknown run.
)";

int intOption(Args& args, const std::string& name, int64_t& out, std::string& error)
{
    const auto text = args.value(name);
    if (!text)
        return 0;
    const auto number = parseNumber(*text);
    if (!number || *number != double(int64_t(*number))) {
        error = name + ": '" + *text + "' is not a whole number";
        return 1;
    }
    out = int64_t(*number);
    return 0;
}

// A run's checkpoint checked here, so that "no checkpoint" is a usage error (exit 2) and not
// a failure found after loading data.
std::string checkParent(const std::string& db, const std::string& run)
{
    StoreOptions readOnly;
    readOnly.readOnly = true;
    auto store = RunStore::open(db, readOnly);
    if (!store.ok())
        return store.error.message;
    const auto id = store.value->resolveRunId(run);
    if (!id.ok())
        return id.error.message;
    const auto details = store.value->getRun(id.value);
    if (!details.ok())
        return details.error.message;
    const std::string latest = checkpointPathFor(db, id.value, CheckpointKind::Latest);
    const std::string best = checkpointPathFor(db, id.value, CheckpointKind::Best);
    if (!std::filesystem::exists(latest) && !std::filesystem::exists(best))
        return "run " + id.value + " (" + details.value.name + ") has no checkpoint (looked for " + latest
               + "); only a run that wrote a checkpoint can be compressed";
    return {};
}

std::string percent(double accuracy)
{
    if (accuracy < 0)
        return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f%%", 100.0 * accuracy);
    return text;
}

std::string ms(const LatencyFigure& l)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.3f (%.3f-%.3f)", l.medianMs, l.p10Ms, l.p90Ms);
    return text;
}

void printPair(const CompressResult& r)
{
    const ModelMeasurement& p = r.parent;
    const ModelMeasurement& m = r.measurement;
    auto ratio = [](double a, double b) {
        char text[32];
        std::snprintf(text, sizeof text, "%.2fx", b > 0 ? a / b : 0.0);
        return std::string(text);
    };
    std::printf("%-22s %24s %24s %8s\n", "", "parent", "result", "ratio");
    std::printf("%-22s %24lld %24lld %8s\n", "file bytes", (long long)p.fileBytes, (long long)m.fileBytes,
                ratio(double(p.fileBytes), double(m.fileBytes)).c_str());
    std::printf("%-22s %24lld %24lld\n", "parameters", (long long)p.parameters, (long long)m.parameters);
    std::printf("%-22s %24lld %24lld\n", "non-zero parameters", (long long)p.nonzeroParameters, (long long)m.nonzeroParameters);
    std::printf("%-22s %24s %24s\n", "validation accuracy", percent(p.validationAccuracy).c_str(), percent(m.validationAccuracy).c_str());
    std::printf("%-22s %24s %24s\n", "test accuracy", percent(p.testAccuracy).c_str(), percent(m.testAccuracy).c_str());
    std::printf("%-22s %24s %24s %8s\n", "latency b1 ms", ms(p.batch1).c_str(), ms(m.batch1).c_str(),
                ratio(p.batch1.medianMs, m.batch1.medianMs).c_str());
    std::printf("%-22s %24s %24s %8s\n", "latency b64 ms", ms(p.batch64).c_str(), ms(m.batch64).c_str(),
                ratio(p.batch64.medianMs, m.batch64.medianMs).c_str());
    std::printf("%-22s %24.0f %24.0f\n", "throughput /s", p.throughput, m.throughput);
}

} // namespace

int compressCommand(std::vector<std::string> argv)
{
    Args args(std::move(argv));
    if (args.wantsHelp()) {
        std::fputs(kCompressHelp, stdout);
        return kExitOk;
    }
    CompressRequest request;
    request.databasePath = args.value("--db").value_or(defaultDatabasePath());
    request.runName = args.value("--name").value_or("");
    std::string error;
    const auto prune = args.value("--prune");
    const auto quantize = args.value("--quantize");
    const bool structured = args.flag("--structured");
    const bool global = args.flag("--global");
    const auto norm = args.value("--norm");
    const auto schedule = args.value("--schedule");
    const bool dynamic = args.flag("--dynamic");
    const bool perChannel = args.flag("--per-channel");
    const bool noFastest = args.flag("--no-fastest");
    const auto maxDrop = args.value("--max-drop");
    const auto engine = args.value("--engine");
    const std::vector<std::string> floatLayers = args.values("--float-layer");
    int64_t finetune = 0, calibrate = request.quantize.calibrationSamples, threads = 1, calls = 50;
    intOption(args, "--finetune-epochs", finetune, error) || intOption(args, "--calibrate", calibrate, error)
        || intOption(args, "--latency-threads", threads, error) || intOption(args, "--latency-calls", calls, error);
    std::string leftover;
    const std::vector<std::string> positionals = args.positionals(leftover);
    if (!leftover.empty() || !args.missingValue().empty())
        return usageError("compress", leftover.empty() ? args.missingValue() + " needs a value" : leftover);
    if (!error.empty())
        return usageError("compress", error);
    if (positionals.size() != 1)
        return usageError("compress", "expected one RUN, got " + std::to_string(positionals.size()));
    if (bool(prune) == bool(quantize))
        return usageError("compress", "give one of --prune S or --quantize int8");

    if (prune) {
        const auto sparsity = parseNumber(*prune);
        if (!sparsity)
            return usageError("compress", "--prune: '" + *prune + "' is not a number");
        request.method = structured ? CompressMethod::PruneStructured : CompressMethod::PruneUnstructured;
        request.prune.sparsity = *sparsity;
        request.prune.structured = structured;
        request.prune.global = global;
        request.prune.finetuneEpochs = finetune;
        if (norm && *norm != "l1" && *norm != "l2")
            return usageError("compress", "--norm: '" + *norm + "' is not l1 or l2");
        request.prune.norm = norm && *norm == "l2" ? PruneNorm::L2 : PruneNorm::L1;
        if (schedule && *schedule != "oneshot" && *schedule != "agp")
            return usageError("compress", "--schedule: '" + *schedule + "' is not oneshot or agp");
        request.prune.schedule = schedule && *schedule == "agp" ? PruneSchedule::Agp : PruneSchedule::OneShot;
        if (dynamic || perChannel || maxDrop || engine || noFastest || !floatLayers.empty())
            return usageError("compress", "quantization options (--dynamic, --per-channel, --max-drop, --engine, "
                                          "--float-layer, --no-fastest) need --quantize int8");
    } else {
        if (*quantize != "int8")
            return usageError("compress", "--quantize: '" + *quantize + "' is not int8 (the only precision)");
        request.method = dynamic ? CompressMethod::QuantizeDynamic : CompressMethod::QuantizeStatic;
        request.quantize.mode = dynamic ? QuantizeMode::Dynamic : QuantizeMode::Static;
        request.quantize.perChannel = perChannel;
        request.quantize.calibrationSamples = calibrate;
        request.quantize.fastestPerLayer = !noFastest;
        request.quantize.floatLayers = floatLayers;
        if (maxDrop) {
            const auto drop = parseNumber(*maxDrop);
            if (!drop || *drop < 0)
                return usageError("compress", "--max-drop: '" + *maxDrop + "' is not a fraction >= 0 (0.01 = 1 point)");
            request.quantize.maxDrop = *drop;
        }
        if (engine) {
            if (*engine == "onednn")
                request.quantize.engine = QuantEngine::OneDnn;
            else if (*engine == "qnnpack")
                request.quantize.engine = QuantEngine::Qnnpack;
            else if (*engine == "fbgemm")
                request.quantize.engine = QuantEngine::Fbgemm;
            else
                return usageError("compress", "--engine: '" + *engine + "' is not onednn, qnnpack or fbgemm");
        }
        if (structured || global || norm || schedule || finetune)
            return usageError("compress", "pruning options (--structured, --global, --norm, --schedule, "
                                          "--finetune-epochs) need --prune S");
    }
    request.latencyThreads = int(threads);
    request.latencyCalls = int(calls);
    if (const std::string problem = checkParent(request.databasePath, positionals[0]); !problem.empty())
        return usageError("compress", problem);

    TrainControl control;
    CancelOnSignal cancelOnSignal(control);
    ProgressBar bar(true);
    std::string lastStage;
    CompressResult result;
    try {
        result = compressRun(positionals[0], request, control, [&](const CompressProgress& p) {
            if (p.stage != lastStage && p.stage != "fine-tuning") {
                bar.message(p.stage);
                lastStage = p.stage;
            }
            if (p.total > 0)
                bar.updateItems(p.done, p.total, p.stage == "fine-tuning" ? "steps" : "parts");
        });
    } catch (const std::invalid_argument& e) {
        bar.finish();
        return usageError("compress", e.what());
    } catch (const std::exception& e) {
        bar.finish();
        std::fprintf(stderr, "nnlab-cli compress: %s\n", e.what());
        return kExitFailed;
    }
    bar.finish();
    if (control.isCancelled() || result.summary.rfind("cancelled", 0) == 0) {
        std::fprintf(stderr, "nnlab-cli compress: %s\n", result.summary.c_str());
        return kExitCancelled;
    }
    std::printf("run %s\n", result.runId.c_str());
    printPair(result);
    std::printf("%s\nmodel: %s\n", result.summary.c_str(), result.modelPath.c_str());
    return kExitOk;
}

namespace {

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\n") == std::string::npos)
        return text;
    std::string out = "\"";
    for (char c : text)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string fixed(double value, int decimals)
{
    char text[48];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string accuracyField(double accuracy) { return accuracy < 0 ? "" : fixed(accuracy, 4); }

} // namespace

int compareCommand(std::vector<std::string> argv)
{
    Args args(std::move(argv));
    if (args.wantsHelp()) {
        std::fputs(kCompareHelp, stdout);
        return kExitOk;
    }
    const std::string db = args.value("--db").value_or(defaultDatabasePath());
    const std::string format = args.value("--format").value_or("table");
    const std::string costText = args.value("--cost").value_or("size");
    const bool noMeasure = args.flag("--no-measure");
    std::string error;
    const std::vector<std::string> runs = args.positionals(error);
    if (!error.empty() || !args.missingValue().empty())
        return usageError("compare", error.empty() ? args.missingValue() + " needs a value" : error);
    if (runs.empty())
        return usageError("compare", "expected one or more RUNs");
    if (format != "table" && format != "csv" && format != "json")
        return usageError("compare", "--format: '" + format + "' is not table, csv or json");
    ParetoCost cost = ParetoCost::FileBytes;
    if (costText == "latency1")
        cost = ParetoCost::LatencyBatch1;
    else if (costText == "latency64")
        cost = ParetoCost::LatencyBatch64;
    else if (costText != "size")
        return usageError("compare", "--cost: '" + costText + "' is not size, latency1 or latency64");

    StoreOptions readOnly;
    readOnly.readOnly = true;
    auto store = RunStore::open(db, readOnly);
    if (!store.ok()) {
        std::fprintf(stderr, "nnlab-cli compare: %s\n", store.error.message.c_str());
        return kExitFailed;
    }
    for (const std::string& run : runs)
        if (const auto id = store.value->resolveRunId(run); !id.ok())
            return usageError("compare", id.error.message);
    std::vector<CompareRow> rows;
    try {
        rows = compareRuns(*store.value, runs, !noMeasure, [](const CompressProgress& p) {
            if (p.stage.rfind("measuring ", 0) == 0)
                std::fprintf(stderr, "%s\n", p.stage.c_str());
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli compare: %s\n", e.what());
        return kExitFailed;
    }
    std::vector<bool> onFrontier(rows.size(), false);
    for (size_t i : paretoFrontier(rows, cost))
        onFrontier[i] = true;

    if (format == "json") {
        std::printf("[\n");
        for (size_t i = 0; i < rows.size(); ++i) {
            const CompareRow& r = rows[i];
            const ModelMeasurement& m = r.measurement;
            auto latency = [](const LatencyFigure& l) {
                return "{\"median_ms\": " + fixed(l.medianMs, 4) + ", \"p10_ms\": " + fixed(l.p10Ms, 4)
                       + ", \"p90_ms\": " + fixed(l.p90Ms, 4) + ", \"calls\": " + std::to_string(l.calls) + "}";
            };
            auto quoted = [](const std::string& text) {
                std::string out = "\"";
                for (char c : text)
                    out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
                return out + "\"";
            };
            auto acc = [&](double a) { return a < 0 ? std::string("null") : fixed(a, 6); };
            auto parentJson = [&](const ModelMeasurement& p) {
                if (p.testAccuracy < 0 && p.fileBytes == 0)
                    return std::string("null");
                return "{\"file_bytes\": " + std::to_string(p.fileBytes) + ", \"validation_accuracy\": "
                       + acc(p.validationAccuracy) + ", \"test_accuracy\": " + acc(p.testAccuracy)
                       + ", \"latency_b1\": " + latency(p.batch1) + ", \"latency_b64\": " + latency(p.batch64)
                       + ", \"throughput\": " + fixed(p.throughput, 1) + "}";
            };
            std::printf("  {\"run\": %s, \"name\": %s, \"method\": %s, \"parent\": %s, \"file_bytes\": %lld, "
                        "\"parameters\": %lld, \"nonzero_parameters\": %lld, \"validation_accuracy\": %s, "
                        "\"test_accuracy\": %s, \"latency_b1\": %s, \"latency_b64\": %s, \"throughput\": %s, "
                        "\"frontier\": %s, \"parent_measurement\": %s}%s\n",
                        quoted(r.runId).c_str(), quoted(r.name).c_str(), quoted(compressMethodName(r.method)).c_str(),
                        quoted(r.parentId).c_str(), (long long)m.fileBytes, (long long)m.parameters,
                        (long long)m.nonzeroParameters, acc(m.validationAccuracy).c_str(), acc(m.testAccuracy).c_str(),
                        latency(m.batch1).c_str(), latency(m.batch64).c_str(), fixed(m.throughput, 1).c_str(),
                        onFrontier[i] ? "true" : "false", parentJson(r.parentMeasurement).c_str(),
                        i + 1 < rows.size() ? "," : "");
        }
        std::printf("]\n");
        return kExitOk;
    }
    if (format == "csv") {
        std::printf("run,name,method,parent,file_bytes,parameters,nonzero_parameters,validation_accuracy,test_accuracy,"
                    "latency_b1_ms,latency_b1_p10_ms,latency_b1_p90_ms,latency_b64_ms,latency_b64_p10_ms,"
                    "latency_b64_p90_ms,throughput,frontier\n");
        for (size_t i = 0; i < rows.size(); ++i) {
            const CompareRow& r = rows[i];
            const ModelMeasurement& m = r.measurement;
            std::printf("%s,%s,%s,%s,%lld,%lld,%lld,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", csvField(r.runId).c_str(),
                        csvField(r.name).c_str(), compressMethodName(r.method), csvField(r.parentId).c_str(),
                        (long long)m.fileBytes, (long long)m.parameters, (long long)m.nonzeroParameters,
                        accuracyField(m.validationAccuracy).c_str(), accuracyField(m.testAccuracy).c_str(),
                        fixed(m.batch1.medianMs, 4).c_str(), fixed(m.batch1.p10Ms, 4).c_str(), fixed(m.batch1.p90Ms, 4).c_str(),
                        fixed(m.batch64.medianMs, 4).c_str(), fixed(m.batch64.p10Ms, 4).c_str(),
                        fixed(m.batch64.p90Ms, 4).c_str(), fixed(m.throughput, 1).c_str(), onFrontier[i] ? "1" : "0");
        }
        return kExitOk;
    }
    std::printf("%-28s %-22s %-16s %-12s %10s %8s %8s %8s %8s %-22s %-24s %9s %s\n", "run", "name", "method", "parent",
                "bytes", "params", "nonzero", "val", "test", "b1 ms (p10-p90)", "b64 ms (p10-p90)", "samples/s",
                "frontier");
    for (size_t i = 0; i < rows.size(); ++i) {
        const CompareRow& r = rows[i];
        const ModelMeasurement& m = r.measurement;
        const std::string parent = r.parentId.empty() ? "" : r.parentId.substr(r.parentId.rfind('-') + 1, 8);
        std::printf("%-28s %-22.22s %-16s %-12s %10lld %8lld %8lld %8s %8s %-22s %-24s %9.0f %s\n", r.runId.c_str(),
                    r.name.c_str(), compressMethodName(r.method), parent.c_str(), (long long)m.fileBytes,
                    (long long)m.parameters, (long long)m.nonzeroParameters, percent(m.validationAccuracy).c_str(),
                    percent(m.testAccuracy).c_str(), ms(m.batch1).c_str(), ms(m.batch64).c_str(), m.throughput,
                    onFrontier[i] ? "*" : "");
    }
    return kExitOk;
}

} // namespace nnlab::cli
