// Sensitivity analysis (nnlab/sensitivity.h): each prunable layer alone pruned to each
// sparsity of the ladder, or alone in int8, evaluated on the run's own validation data.
//
// Pruning here zeroes weights in place and puts them back after the cell: the accuracy is
// what pruning gives, without building a smaller model per cell. Structured cells zero whole
// filters (output features) with their bias and the channel of the BatchNorm that follows,
// so the channel carries nothing, as when it is removed.
#include "nnlab/sensitivity.h"

#include "builder.h"
#include "measure.h"
#include "quantize.h"
#include "weights_io.h"

#include "nnlab/atomic_file.h"
#include "nnlab/data.h"
#include "nnlab/model_info.h"
#include "nnlab/run_recorder.h"
#include "nnlab/runtime.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <cmath>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace nnlab {

namespace {

bool quantizable(const std::string& type) { return type == "conv2d" || type == "linear" || type == "shortcut"; }

std::vector<int> specPathOf(const std::string& path)   // "model.layers[3].layers[0]" -> {3, 0}
{
    std::vector<int> out;
    static const std::regex index(R"(\[(\d+)\])");
    for (auto it = std::sregex_iterator(path.begin(), path.end(), index); it != std::sregex_iterator(); ++it)
        out.push_back(std::stoi((*it)[1].str()));
    return out;
}

struct Row {
    SensitivityLayer layer;
    std::string batchNorm;   // the BatchNorm right after it (its channels go with its filters)
};

// conv2d and linear layers, except the model's last linear (its outputs are the classes).
std::vector<Row> prunableRows(const ModelInfo& model)
{
    int last = -1;
    for (size_t i = 0; i < model.layers.size(); ++i)
        if (model.layers[i].type == "linear")
            last = int(i);
    std::vector<Row> rows;
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const LayerInfo& l = model.layers[i];
        if ((l.type != "conv2d" && l.type != "linear") || int(i) == last)
            continue;
        Row row;
        row.layer.name = l.name;
        row.layer.type = l.type;
        row.layer.specPath = specPathOf(l.path);
        row.layer.parameters = l.parameters;
        if (i + 1 < model.layers.size() && model.layers[i + 1].depth == l.depth
            && model.layers[i + 1].type.rfind("batchnorm", 0) == 0)
            row.batchNorm = model.layers[i + 1].name;
        rows.push_back(row);
    }
    return rows;
}

torch::Tensor parameterOf(torch::nn::Module& model, const std::string& name, bool required = true)
{
    for (auto& p : model.named_parameters())
        if (p.key() == name)
            return p.value();
    if (required)
        throw std::runtime_error("sensitivity: the model has no parameter " + name);
    return {};
}

// Zeroes the smallest-magnitude fraction of the layer's weights, or its weakest filters.
void prune(torch::nn::Module& model, const Row& row, double sparsity, bool structured, PruneNorm norm)
{
    torch::NoGradGuard noGrad;
    torch::Tensor w = parameterOf(model, row.layer.name + ".weight");
    if (!structured) {
        const int64_t k = int64_t(std::floor(sparsity * double(w.numel()) + 1e-9));
        if (k > 0)
            w.view(-1).index_fill_(0, w.abs().reshape(-1).argsort().slice(0, 0, k), 0.0);
        return;
    }
    const int64_t filters = w.size(0);
    const int64_t k = int64_t(std::floor(sparsity * double(filters) + 1e-9));
    if (k <= 0)
        return;
    const torch::Tensor flat = w.reshape({filters, -1});
    const torch::Tensor norms = norm == PruneNorm::L1 ? flat.abs().sum(1) : flat.pow(2).sum(1).sqrt();
    const torch::Tensor gone = norms.argsort().slice(0, 0, k);
    w.index_fill_(0, gone, 0.0);
    if (torch::Tensor b = parameterOf(model, row.layer.name + ".bias", false); b.defined())
        b.index_fill_(0, gone, 0.0);
    if (!row.batchNorm.empty()) {   // gamma and beta 0: the channel is 0 after it too
        parameterOf(model, row.batchNorm + ".weight").index_fill_(0, gone, 0.0);
        parameterOf(model, row.batchNorm + ".bias").index_fill_(0, gone, 0.0);
    }
}

// The run's own data as training splits and normalizes it. The tensors alias the bundle's
// vectors (detail::toTensors), so both live here together.
struct EvaluationData {
    DataBundle bundle;
    PreparedExperiment fitted;
    detail::TensorSet train, validation, test;
};

EvaluationData loadEvaluationData(const ExperimentSpec& spec)
{
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        throw std::runtime_error("the run's experiment no longer validates: " + prepared.errorText());
    EvaluationData out;
    out.bundle = loadData(spec.data, true, spec.seed);
    out.fitted = detail::fittedTo(prepared.experiment, out.bundle);
    const torch::Device cpu(torch::kCPU);
    out.train = detail::toTensors(out.bundle.train, true, cpu);
    out.validation = detail::toTensors(out.bundle.validation, true, cpu);
    out.test = detail::toTensors(out.bundle.test, true, cpu);
    return out;
}

std::string sensitivityPathFor(const std::string& db, const std::string& runId)
{
    std::string path = checkpointPathFor(db, runId, CheckpointKind::Latest);
    const size_t dot = path.rfind(".pt");
    return (dot == std::string::npos ? path : path.substr(0, dot)) + ".sensitivity.json";
}

// The analysis as a run under its source (sensitivity.h says what it holds).
void record(SensitivityResult& result, const std::string& db, const RunDetails& source)
{
    auto recorder = RunRecorder::open(db);
    if (!recorder.ok())
        throw std::runtime_error("run store " + db + ": " + recorder.error.message);
    RunStartInfo info;
    info.name = source.name + " sensitivity";
    info.parentId = source.id;
    info.tags = {"sensitivity"};
    info.notes = std::string("Sensitivity analysis: ") + (result.structured ? "structured" : "unstructured")
                 + " pruning of each layer alone" + (result.settings.empty() || result.settings.back().kind != SensitivityKind::Int8 ? "" : ", and int8 of each layer alone")
                 + ", " + result.split + " accuracy.";
    info.torchVersion = torchVersion();
    const ParseResult parsed = parseExperiment(source.experimentJson);
    auto id = recorder.value->begin(parsed.spec, source.experimentJson, info);
    if (!id.ok())
        throw std::runtime_error("run store " + db + ": " + id.error.message);
    result.runId = id.value;
    const std::string path = sensitivityPathFor(db, result.runId);
    writeFileAtomically(path, sensitivityToJson(result));
    recorder.value->addMetrics({MetricPoint{"sensitivity/base_accuracy", 0, 0.0, result.baseAccuracy}});
    recorder.value->addArtifact(path, "sensitivity", 0);
    TrainResult done;
    done.status = result.cancelled ? TrainStatus::Cancelled : TrainStatus::Finished;
    done.message = result.cancelled ? "cancelled" : "";
    done.seconds = result.seconds;
    const StoreError e = recorder.value->finish(done);
    if (!e.ok())
        throw std::runtime_error("run store " + db + ": " + e.message);
}

} // namespace

SensitivityResult runSensitivity(const std::string& runIdOrPrefix, const SensitivityOptions& options,
                                 TrainControl& control, const SensitivityProgressFn& progress)
{
    if (const std::string problems = checkSensitivityOptions(options); !problems.empty())
        throw std::invalid_argument(problems);
    const auto started = std::chrono::steady_clock::now();
    const std::string db = options.databasePath.empty() ? defaultDatabasePath() : options.databasePath;
    StoreOptions readOnly;
    readOnly.readOnly = true;
    auto store = RunStore::open(db, readOnly);
    if (!store.ok())
        throw std::runtime_error("run store " + db + ": " + store.error.message);
    const TrainedWeights weights = loadTrainedWeights(*store.value, runIdOrPrefix, CheckpointChoice::Best);
    if (!weights.spec.isClassification())
        throw std::runtime_error("run " + weights.runId + " is not a classifier: sensitivity measures accuracy");
    const auto source = store.value->getRun(weights.runId);
    if (!source.ok())
        throw std::runtime_error("run " + weights.runId + ": " + source.error.message);

    SensitivityResult result;
    result.sourceRunId = weights.runId;
    result.structured = options.structured;
    for (double s : options.sparsities)
        result.settings.push_back({SensitivityKind::Sparsity, s});
    if (options.int8)
        result.settings.push_back({SensitivityKind::Int8, 0.0});

    if (progress)
        progress({0, 0, "", "loading data"});
    const EvaluationData data = loadEvaluationData(weights.spec);
    const detail::TensorSet& set = !data.validation.empty() ? data.validation : data.test;
    result.split = !data.validation.empty() ? "validation" : "test";
    if (set.empty())
        throw std::runtime_error("run " + weights.runId + ": its experiment holds no validation or test samples");
    const std::vector<Row> rows = prunableRows(data.fitted.model);
    if (rows.empty())
        throw std::runtime_error("run " + weights.runId + ": no layer to analyse (conv2d, or linear before the last)");

    torch::nn::Sequential model = detail::buildModel(data.fitted.spec.model, data.fitted.model, /*fuse=*/false);
    detail::loadWeightsInto(*model, weights.tensors);
    model->eval();
    const compress::ForwardFn forward = [&](const torch::Tensor& x) { return model->forward(x); };
    result.baseAccuracy = compress::accuracyOf(forward, set, true);

    std::vector<std::string> quantizableLayers;
    for (const LayerInfo& l : data.fitted.model.layers)
        if (quantizable(l.type))
            quantizableLayers.push_back(l.name);
    detail::QuantizeData calibration;
    if (options.int8)
        calibration.calibration = data.train.x.slice(0, 0, std::min<int64_t>(options.calibrationSamples, data.train.count));

    const int64_t total = int64_t(rows.size() * result.settings.size());
    int64_t done = 0;
    for (const Row& row : rows) {
        result.layers.push_back(row.layer);
        result.cells.emplace_back(result.settings.size());
    }
    for (size_t r = 0; r < rows.size() && !result.cancelled; ++r) {
        for (size_t s = 0; s < result.settings.size(); ++s) {
            const SensitivitySetting& setting = result.settings[s];
            if (progress)
                progress({done, total, rows[r].layer.name, setting.label()});
            if (!control.waitWhilePaused()) {
                result.cancelled = true;
                break;
            }
            SensitivityCell& cell = result.cells[r][s];
            try {
                if (setting.kind == SensitivityKind::Sparsity) {
                    prune(*model, rows[r], setting.sparsity, options.structured, options.norm);
                    cell.accuracy = compress::accuracyOf(forward, set, true);
                    detail::loadWeightsInto(*model, weights.tensors);   // back to the trained weights
                } else {
                    QuantizeOptions q;
                    q.mode = QuantizeMode::Static;
                    q.calibrationSamples = calibration.calibration.size(0);
                    q.fastestPerLayer = false;   // int8 as such, not the faster of int8 and float
                    for (const std::string& name : quantizableLayers)
                        if (name != rows[r].layer.name)
                            q.floatLayers.push_back(name);
                    detail::QuantizeExtras extras;
                    extras.int8Layers = {rows[r].layer.name};
                    const detail::QuantizedModel quantized = detail::quantizeModel(data.fitted.spec, weights.tensors, q, calibration, extras);
                    cell.accuracy = compress::accuracyOf([&](const torch::Tensor& x) { return quantized.forward(x); }, set, true);
                }
                cell.drop = result.baseAccuracy - cell.accuracy;
            } catch (const std::exception& e) {
                cell.error = e.what();
                detail::loadWeightsInto(*model, weights.tensors);
            }
            ++done;
        }
    }
    if (progress)
        progress({done, total, "", result.cancelled ? "cancelled" : "done"});
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (options.record)
        record(result, db, source.value);
    return result;
}

} // namespace nnlab
