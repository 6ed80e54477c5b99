// Reading results back (compareRuns, measureRun; nnlab/compress.h). The Pareto frontier: pareto.cpp.
#include "nnlab/compress.h"

#include "compress_methods.h"
#include "compress_record.h"
#include "measure.h"
#include "quantize.h"
#include "builder.h"
#include "weights_io.h"

#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <algorithm>
#include <stdexcept>

namespace nnlab {

namespace {

using namespace compress;

CompressMethod methodOf(const nlohmann::json& info)
{
    if (!info.contains("method") || !info["method"].is_string())
        return CompressMethod::None;
    return compressMethodFromName(info["method"].get<std::string>()).value_or(CompressMethod::None);
}

std::string modelArtifactOf(const RunStore& store, const std::string& runId)
{
    const auto artifacts = store.artifacts(runId);
    if (!artifacts.ok())
        throw std::runtime_error(artifacts.error.message);
    for (auto it = artifacts.value.rbegin(); it != artifacts.value.rend(); ++it)
        if (it->kind == "model")
            return it->path;
    return {};
}

// The parent's figures as a child recorded them (measured in the child's process): the
// newest child's that has them.
std::optional<ModelMeasurement> recordedByChild(const RunStore& store, const std::string& runId)
{
    const auto runs = store.listRuns();
    if (!runs.ok())
        return std::nullopt;
    for (const RunSummary& run : runs.value)   // newest first
        if (run.parentId == runId)
            if (auto m = measurementFromMetrics(run.metrics, kParentPrefix))
                return m;
    return std::nullopt;
}

} // namespace

ModelMeasurement measureRun(const RunStore& store, const std::string& runId, int latencyThreads, int latencyCalls,
                            const CompressProgressFn& progress)
{
    const auto id = store.resolveRunId(runId);
    if (!id.ok())
        throw std::runtime_error(id.error.message);
    MeasureOptions timing;
    timing.threads = latencyThreads;
    timing.calls = latencyCalls;
    const nlohmann::json info = compressionInfoOf(store, id.value);
    const CompressMethod method = methodOf(info);
    if (method == CompressMethod::QuantizeStatic || method == CompressMethod::QuantizeDynamic) {
        const std::string path = modelArtifactOf(store, id.value);
        if (path.empty())
            throw std::runtime_error("run " + id.value + " records no model file to measure");
        const auto model = std::make_shared<detail::QuantizedModel>(detail::QuantizedModel::load(path));
        MeasurableModel measurable;
        measurable.spec = model->spec();
        measurable.filePath = path;
        const std::vector<std::string> names = model->stageNames();
        for (size_t i = 0; i < names.size(); ++i)
            measurable.stages.push_back({names[i], [model, i](const torch::Tensor& x) { return model->forwardStage(i, x); },
                                         model->stageQuantized(i)});
        measurable.parameters = model->parameters();
        return measureModel(measurable, loadMeasureData(model->spec()), timing, progress);
    }
    // A pruned or distilled result: the float model in its recorded file (sparse or dense),
    // that file's size; measured as nnlab's own float build of the file's experiment.
    const std::string modelFile = method == CompressMethod::None ? std::string() : modelArtifactOf(store, id.value);
    if (!modelFile.empty()) {
        const TrainedWeights weights = weightsFromSafetensors(modelFile);
        const Preparation prepared = prepareExperiment(weights.spec);
        if (!prepared.ok())
            throw std::runtime_error(modelFile + ": its experiment does not validate: " + prepared.errorText());
        torch::nn::Sequential model = detail::buildModel(weights.spec.model, prepared.experiment.model);
        detail::loadWeightsInto(*model, weights.tensors);
        return measureModel(floatModel(weights.spec, model, modelFile), loadMeasureData(weights.spec), timing, progress);
    }
    const TrainedWeights weights = loadTrainedWeights(store, id.value, CheckpointChoice::Best);
    const MeasureData data = loadMeasureData(weights.spec);
    return measureFloatWeights(weights.spec, weights.tensors, weights.interface, data, timing, store.path(), progress);
}

std::vector<CompareRow> compareRuns(const RunStore& store, const std::vector<std::string>& runIds, bool measureMissing,
                                    const CompressProgressFn& progress)
{
    std::vector<CompareRow> rows;
    for (const std::string& given : runIds) {
        const auto id = store.resolveRunId(given);
        if (!id.ok())
            throw std::runtime_error(id.error.message);
        const auto run = store.getRun(id.value);
        if (!run.ok())
            throw std::runtime_error(run.error.message);
        CompareRow row;
        row.runId = run.value.id;
        row.name = run.value.name;
        row.parentId = run.value.parentId;
        const nlohmann::json info = compressionInfoOf(store, row.runId);
        row.method = methodOf(info);
        if (auto parent = measurementFromMetrics(run.value.metrics, kParentPrefix)) {
            row.parentMeasurement = *parent;
            if (info.contains("parent_layers"))
                row.parentMeasurement.layers = layersFromJson(info["parent_layers"]);
        }
        if (auto recorded = measurementFromMetrics(run.value.metrics, kResultPrefix)) {
            row.measurement = *recorded;
            if (info.contains("layers"))
                row.measurement.layers = layersFromJson(info["layers"]);
        } else if (auto byChild = recordedByChild(store, row.runId)) {
            row.measurement = *byChild;
        } else if (measureMissing) {
            if (progress)
                progress({"measuring " + row.runId, int64_t(rows.size()), int64_t(runIds.size())});
            row.measurement = measureRun(store, row.runId, 1, 50, progress);
        } else {
            row.measurement.validationAccuracy = row.measurement.testAccuracy = -1.0;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

} // namespace nnlab
