// `nnlab-cli distill` (a student trained on a stored run's soft targets, as `train` trains)
// and `nnlab-cli sensitivity` (each layer's accuracy drop under pruning and int8, a table).
#include "compress_commands.h"

#include "cli_args.h"
#include "experiment_arg.h"
#include "train_command.h"

#include "interrupt.h"
#include "progress_bar.h"

#include "nnlab/distill.h"
#include "nnlab/sensitivity.h"
#include "nnlab/store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

namespace nnlab::cli {

namespace {

const char* kDistillHelp = R"(Usage: nnlab-cli distill --teacher RUN STUDENT.json [options]

Trains the student experiment on a stored run's soft targets (knowledge distillation):
  loss = alpha x T^2 x KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) x CE
The teacher runs in evaluation mode on every batch; the student is recorded as a run whose
parent is the teacher, with train/kd and train/ce beside train/loss. `runs resume` continues
an interrupted student, still distilling. Teacher and student must take the same input and
give the same number of outputs.

Options:
  --teacher RUN            the teacher: a run id or a unique prefix (its best checkpoint)
  --alpha A                weight of the teacher's term, in [0, 1] (default 0.7; 0 = plain CE)
  --temperature T          softening of both distributions, > 0 (default 4)
  --epochs N               shorthand for --set training.epochs=N
  --set key.path=value     override any field of the student's experiment (repeatable)
  --db PATH                run store file, the teacher's and the student's (default: $NNLAB_DB,
                           else $XDG_DATA_HOME/nnlab/runs.db)
  --quiet                  no progress bar
  -h, --help               this help

Exit status: 0 finished, 1 failed, 2 bad arguments (no such teacher, alpha or T out of range,
a student whose input or output size differs from the teacher's), 130 interrupted.
)";

} // namespace

int distillCommand(std::vector<std::string> argv)
{
    Args args(std::move(argv));
    if (args.wantsHelp()) {
        std::fputs(kDistillHelp, stdout);
        return kExitOk;
    }
    DistillOptions distill;
    TrainRunOptions options;
    options.quiet = args.flag("--quiet");
    if (auto db = args.value("--db"))
        options.databasePath = *db;
    if (auto teacher = args.value("--teacher"))
        distill.teacherRun = *teacher;
    else
        return usageError("distill", "--teacher RUN is required (the run to learn from)");
    for (auto [name, target] : {std::pair{"--alpha", &distill.alpha}, std::pair{"--temperature", &distill.temperature}})
        if (auto text = args.value(name)) {
            const std::optional<double> value = parseNumber(*text);
            if (!value)
                return usageError("distill", std::string(name) + ": not a number: " + *text);
            *target = *value;
        }
    if (const std::string problems = checkDistillOptions(distill); !problems.empty())
        return usageError("distill", problems);
    std::vector<std::string> overrides = args.values("--set");
    if (auto epochs = args.value("--epochs"))
        overrides.push_back("training.epochs=" + *epochs);
    const ExperimentArgument student = experimentArgument("distill", args, overrides);
    if (student.exitStatus != 0)
        return student.exitStatus;

    // The teacher and the fit, before any data is loaded: a bad pair is a usage error.
    {
        StoreOptions readOnly;
        readOnly.readOnly = true;
        const std::string db = options.databasePath.empty() ? defaultDatabasePath() : options.databasePath;
        auto store = RunStore::open(db, readOnly);
        if (!store.ok())
            return usageError("distill", "run store " + db + ": " + store.error.message);
        TeacherInfo teacher;
        try {
            teacher = describeTeacher(*store.value, distill.teacherRun);
        } catch (const std::exception& e) {
            return usageError("distill", std::string("--teacher: ") + e.what());
        }
        if (const std::string problem = checkStudentFits(teacher, student.experiment); !problem.empty())
            return usageError("distill", student.name + ": " + problem);
        if (!options.quiet)
            std::printf("teacher: run %s (%s), alpha %g, temperature %g\n", teacher.runId.c_str(), teacher.runName.c_str(),
                        distill.alpha, distill.temperature);
    }
    options.session = [&](const PreparedExperiment& experiment, TrainControl& control, const RunSessionOptions& session,
                          const RunSessionHooks& hooks) { return distillSession(experiment, distill, control, session, hooks); };
    return trainExperiment(student.experiment, options);
}

namespace {

const char* kSensitivityHelp = R"(Usage: nnlab-cli sensitivity RUN [options]

For each prunable layer of a stored run (conv2d, and linear except the output layer), the
validation accuracy with that layer alone pruned to each sparsity, and alone in int8 (every
other layer in float), against the unchanged model: a heat map of accuracy drops. The result
is recorded as a run under RUN (tag "sensitivity"); the GUI draws it.

Options:
  --sparsities LIST        comma-separated fractions in [0, 1) (default 0.2,0.4,0.6,0.8)
  --structured             remove whole filters / output features (default: single weights
                           by magnitude)
  --norm l1|l2             structured: how filters are ranked (default l1)
  --no-int8                no int8 column
  --calibrate N            int8: training samples that set activation ranges (default 1000)
  --format table|csv|json  output (default table: drops in accuracy points)
  --db PATH                run store file (default: $NNLAB_DB, else $XDG_DATA_HOME/nnlab/runs.db)
  --no-store               do not record the result
  --quiet                  no progress bar
  -h, --help               this help

Exit status: 0 done, 1 failed, 2 bad arguments (no such run, a sparsity outside [0, 1)),
130 interrupted (the cells done so far are printed and recorded).
)";

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\n") == std::string::npos)
        return text;
    std::string out = "\"";
    for (char c : text)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

void printTable(const SensitivityResult& r)
{
    std::printf("base %s accuracy %.2f%%; accuracy drop in points when the layer alone is %s\n", r.split.c_str(),
                100.0 * r.baseAccuracy, r.structured ? "pruned by filters, or in int8" : "pruned by magnitude, or in int8");
    size_t width = 5;
    for (const auto& l : r.layers)
        width = std::max(width, l.name.size() + l.type.size() + 3);
    std::printf("%-*s %10s", int(width), "layer", "params");
    for (const auto& s : r.settings)
        std::printf(" %8s", s.label().c_str());
    std::printf("\n");
    for (size_t i = 0; i < r.layers.size(); ++i) {
        const std::string name = r.layers[i].name + " (" + r.layers[i].type + ")";
        std::printf("%-*s %10lld", int(width), name.c_str(), static_cast<long long>(r.layers[i].parameters));
        for (const SensitivityCell& c : r.cells[i]) {
            if (!c.error.empty())
                std::printf(" %8s", "error");
            else if (!c.ran())
                std::printf(" %8s", "-");
            else
                std::printf(" %8.2f", 100.0 * c.drop);
        }
        std::printf("\n");
    }
    for (size_t i = 0; i < r.layers.size(); ++i)
        for (size_t s = 0; s < r.settings.size(); ++s)
            if (!r.cells[i][s].error.empty())
                std::printf("%s %s: %s\n", r.layers[i].name.c_str(), r.settings[s].label().c_str(), r.cells[i][s].error.c_str());
}

void printCsv(const SensitivityResult& r)
{
    std::printf("layer,type,parameters,setting,sparsity,accuracy,drop,error\n");
    for (size_t i = 0; i < r.layers.size(); ++i)
        for (size_t s = 0; s < r.settings.size(); ++s) {
            const SensitivityCell& c = r.cells[i][s];
            const SensitivitySetting& set = r.settings[s];
            std::printf("%s,%s,%lld,%s,%s,%s,%s,%s\n", csvField(r.layers[i].name).c_str(), r.layers[i].type.c_str(),
                        static_cast<long long>(r.layers[i].parameters), set.label().c_str(),
                        set.kind == SensitivityKind::Int8 ? "" : std::to_string(set.sparsity).c_str(),
                        c.ran() ? std::to_string(c.accuracy).c_str() : "", c.ran() ? std::to_string(c.drop).c_str() : "",
                        csvField(c.error).c_str());
        }
}

} // namespace

int sensitivityCommand(std::vector<std::string> argv)
{
    Args args(std::move(argv));
    if (args.wantsHelp()) {
        std::fputs(kSensitivityHelp, stdout);
        return kExitOk;
    }
    SensitivityOptions options;
    options.structured = args.flag("--structured");
    options.int8 = !args.flag("--no-int8");
    options.record = !args.flag("--no-store");
    const bool quiet = args.flag("--quiet");
    if (auto db = args.value("--db"))
        options.databasePath = *db;
    if (auto list = args.value("--sparsities")) {
        options.sparsities.clear();
        std::stringstream in(*list);
        std::string item;
        while (std::getline(in, item, ',')) {
            const std::optional<double> value = parseNumber(item);
            if (!value)
                return usageError("sensitivity", "--sparsities: not a number: \"" + item + "\"");
            options.sparsities.push_back(*value);
        }
    }
    if (auto norm = args.value("--norm")) {
        if (*norm != "l1" && *norm != "l2")
            return usageError("sensitivity", "--norm: l1 or l2, got " + *norm);
        options.norm = *norm == "l1" ? PruneNorm::L1 : PruneNorm::L2;
    }
    if (auto n = args.value("--calibrate")) {
        const std::optional<double> value = parseNumber(*n);
        if (!value || *value < 1 || *value != std::floor(*value))
            return usageError("sensitivity", "--calibrate: a whole number >= 1, got " + *n);
        options.calibrationSamples = int64_t(*value);
    }
    const std::string format = args.value("--format").value_or("table");
    if (format != "table" && format != "csv" && format != "json")
        return usageError("sensitivity", "--format: table, csv or json, got " + format);
    std::string error;
    const auto runs = args.positionals(error);
    if (error.empty() && runs.size() != 1)
        error = "expected one RUN (a run id or a unique prefix)";
    if (!error.empty())
        return usageError("sensitivity", error);
    if (const std::string problems = checkSensitivityOptions(options); !problems.empty())
        return usageError("sensitivity", problems);
    {   // an unknown run or one without a checkpoint is a usage error, before any data loads
        StoreOptions readOnly;
        readOnly.readOnly = true;
        const std::string db = options.databasePath.empty() ? defaultDatabasePath() : options.databasePath;
        auto store = RunStore::open(db, readOnly);
        if (!store.ok())
            return usageError("sensitivity", "run store " + db + ": " + store.error.message);
        const auto id = store.value->resolveRunId(runs[0]);
        if (!id.ok())
            return usageError("sensitivity", "run " + runs[0] + ": " + id.error.message);
        const auto artifacts = store.value->artifacts(id.value);
        if (!artifacts.ok() || std::none_of(artifacts.value.begin(), artifacts.value.end(), [](const RunArtifact& a) {
                return a.kind == "checkpoint" || a.kind == "best_checkpoint";
            }))
            return usageError("sensitivity", "run " + id.value + " has no checkpoint to analyse");
    }

    ProgressBar bar(!quiet);
    TrainControl control;
    std::optional<CancelOnSignal> interrupt(std::in_place, control);
    SensitivityResult result;
    try {
        result = runSensitivity(runs[0], options, control, [&](const SensitivityProgress& p) {
            if (p.total > 0)
                bar.updateItems(p.done, p.total, "cells");
            else if (!p.setting.empty() && !quiet)
                bar.message(p.setting);
        });
    } catch (const std::invalid_argument& e) {
        bar.finish();
        return usageError("sensitivity", e.what());
    } catch (const std::exception& e) {
        bar.finish();
        std::fprintf(stderr, "nnlab-cli sensitivity: %s\n", e.what());
        return kExitFailed;
    }
    bar.finish();
    interrupt.reset();
    if (format == "json")
        std::printf("%s\n", sensitivityToJson(result).c_str());
    else if (format == "csv")
        printCsv(result);
    else
        printTable(result);
    if (!result.runId.empty() && format == "table")
        std::printf("recorded as run %s (parent %s)\n", result.runId.c_str(), result.sourceRunId.c_str());
    if (result.cancelled) {
        std::fprintf(stderr, "interrupted: the cells not reached are shown as -\n");
        return kExitCancelled;
    }
    return kExitOk;
}

} // namespace nnlab::cli
