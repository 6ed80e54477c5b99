// Each method's code behind compressRun's seam (compress_methods.h): quantization calls
// quantize.h, pruning calls prune.h; this file only translates options and wraps the results.
#include "compress_methods.h"

#include "nnlab/model_interface.h"
#include "nnlab/spec_json.h"
#include "prune.h"
#include "quantize.h"
#include "sparse_weights.h"

#include "builder.h"
#include "weights_io.h"
#include "nnlab/experiment.h"

#include <algorithm>
#include <stdexcept>

namespace nnlab::compress {

namespace {

MeasurableModel quantizedMeasurable(const std::shared_ptr<detail::QuantizedModel>& model, const std::string& path)
{
    MeasurableModel out;
    out.spec = model->spec();
    out.filePath = path;
    const std::vector<std::string> names = model->stageNames();
    for (size_t i = 0; i < names.size(); ++i)
        out.stages.push_back({names[i], [model, i](const torch::Tensor& x) { return model->forwardStage(i, x); },
                              model->stageQuantized(i)});
    out.parameters = model->parameters();
    return out;
}

nlohmann::json quantizeReportJson(const detail::QuantizeReport& report)
{
    nlohmann::json layers = nlohmann::json::array();
    for (const detail::QuantLayerReport& l : report.layers)
        layers.push_back({{"name", l.name}, {"type", l.type}, {"int8", l.int8}, {"why", l.why}, {"fused", l.fused},
                          {"int8_from_batch", l.int8FromBatch}, {"accuracy_drop", l.accuracyDrop}});
    return {{"float_accuracy", report.floatAccuracy}, {"int8_accuracy", report.int8Accuracy}, {"layers", layers}};
}

} // namespace

Compressed quantizeParent(const MethodContext& context)
{
    const QuantizeOptions& options = context.request.quantize;
    const bool dynamic = options.mode == QuantizeMode::Dynamic;
    detail::QuantizeData data;
    if (!dynamic) {
        const int64_t n = std::min(options.calibrationSamples, context.data.train.count);
        if (n < 1)
            throw std::runtime_error("--calibrate: the experiment has no training samples to calibrate on");
        data.calibration = context.data.train.x.slice(0, 0, n);
    }
    if (options.maxDrop >= 0) {
        if (context.data.validation.empty())
            throw std::invalid_argument("--max-drop: the experiment holds no validation split to measure the drop on "
                                        "(data.validation_fraction is 0)");
        data.validationX = context.data.validation.x;
        data.validationY = context.data.validation.y;
    }
    detail::QuantizeExtras extras;
    extras.timingThreads = context.request.latencyThreads;
    const CompressProgressFn& progress = context.progress;
    const auto model = std::make_shared<detail::QuantizedModel>(detail::quantizeModel(
        context.parent.spec, context.parent.tensors, options, data, extras,
        [&progress](const std::string& stage, int64_t done, int64_t total) {
            if (progress)
                progress({stage, done, total});
        }));

    Compressed out;
    out.spec = model->spec();
    out.suffix = ".int8.safetensors";
    const detail::QuantizeReport& report = model->report();
    out.options = {{"mode", dynamic ? "dynamic" : "static"},
                   {"engine", detail::quantEngineName(model->engine())},
                   {"per_channel", options.perChannel},
                   {"calibrate", dynamic ? 0 : report.calibrationSamples},
                   {"max_drop", options.maxDrop},
                   {"fastest_per_layer", options.fastestPerLayer},
                   {"float_layers", options.floatLayers},
                   {"report", quantizeReportJson(report)}};
    const std::string interface = interfaceToJson(context.parent.interface);
    const std::string parentId = context.parent.runId;
    out.save = [model, interface, parentId](const std::string& path) {
        model->save(path, {{"interface", interface}, {"parent", parentId}});
    };
    out.measurable = [model](const std::string& path) { return quantizedMeasurable(model, path); };
    return out;
}

namespace {

const char* normName(PruneNorm norm) { return norm == PruneNorm::L2 ? "l2" : "l1"; }

nlohmann::json sparsityJson(const ModelSpec& model, const std::vector<NamedTensor>& tensors)
{
    nlohmann::json out = nlohmann::json::array();
    for (const detail::LayerSparsity& l : detail::layerSparsity(model, tensors))
        out.push_back({{"name", l.name}, {"type", l.type}, {"parameters", l.parameters},
                       {"nonzero_parameters", l.nonzeroParameters}, {"sparsity", l.sparsity()}});
    return out;
}

// A pruned float model: saved dense (structured: it is smaller) or sparse (unstructured: the
// zeros cost a bit each), measured as nnlab's own float build of its spec.
Compressed prunedModel(const ExperimentSpec& spec, std::vector<NamedTensor> tensors, bool sparse,
                       nlohmann::json options, const MethodContext& context)
{
    Compressed out;
    out.spec = spec;
    out.suffix = sparse ? ".sparse.safetensors" : ".safetensors";
    options["layers"] = sparsityJson(spec.model, tensors);
    out.options = std::move(options);
    const auto weights = std::make_shared<std::vector<NamedTensor>>(std::move(tensors));
    const std::map<std::string, std::string> metadata = {{"experiment", experimentToJson(spec)},
                                                         {"interface", interfaceToJson(context.parent.interface)},
                                                         {"parent", context.parent.runId}};
    out.save = [weights, sparse, metadata](const std::string& path) {
        if (sparse)
            detail::writeSparseWeights(path, *weights, metadata);
        else
            writeSafetensors(path, *weights, metadata);
    };
    out.measurable = [weights, spec](const std::string& path) {
        const Preparation prepared = prepareExperiment(spec);
        if (!prepared.ok())
            throw std::runtime_error("the pruned experiment does not validate: " + prepared.errorText());
        torch::nn::Sequential model = detail::buildModel(spec.model, prepared.experiment.model);
        detail::loadWeightsInto(*model, *weights);
        return floatModel(spec, model, path);
    };
    out.weights = *weights;
    return out;
}

} // namespace

Compressed pruneParent(const MethodContext& context)
{
    const PruneOptions& options = context.request.prune;
    const TrainedWeights& parent = context.parent;
    if (options.structured && options.schedule == PruneSchedule::Agp)
        throw std::invalid_argument("--schedule agp: the gradual schedule ramps unstructured sparsity; "
                                    "structured pruning removes its filters at once (drop --structured or --schedule)");
    nlohmann::json settings = {{"sparsity", options.sparsity}, {"structured", options.structured},
                               {"global", options.global}, {"norm", normName(options.norm)},
                               {"finetune_epochs", options.finetuneEpochs},
                               {"schedule", options.schedule == PruneSchedule::Agp ? "agp" : "oneshot"}};
    if (context.progress)
        context.progress({"pruning", 0, 1});

    if (options.structured) {
        detail::StructuredPruneResult pruned = detail::pruneStructured(parent.spec, parent.tensors, options);
        nlohmann::json groups = nlohmann::json::array();
        for (const detail::PrunedGroup& g : pruned.groups)
            groups.push_back({{"producers", g.producers}, {"channels", g.channels}, {"kept", g.kept.size()},
                              {"prunable", g.prunable}, {"reason", g.reason}});
        settings["groups"] = groups;
        Compressed out = prunedModel(pruned.spec, pruned.tensors, false, settings, context);
        if (options.finetuneEpochs > 0) {
            out.finetune = true;
            out.finetuneEpochs = options.finetuneEpochs;
            const ExperimentSpec spec = pruned.spec;
            out.finish = [spec, settings, &context](const std::vector<NamedTensor>& tuned) {
                return prunedModel(spec, tuned, false, settings, context);
            };
        }
        return out;
    }

    // Unstructured: AGP starts dense (masks of ones at sparsity 0) and the hook ramps it up.
    PruneOptions first = options;
    if (options.schedule == PruneSchedule::Agp)
        first.sparsity = 0.0;
    detail::UnstructuredPruneResult pruned = detail::pruneUnstructured(parent.spec.model, parent.tensors, first);
    Compressed out = prunedModel(parent.spec, pruned.tensors, true, settings, context);
    if (options.finetuneEpochs > 0) {
        const int64_t batch = std::max<int64_t>(1, parent.spec.training.batchSize);
        const int64_t stepsPerEpoch = (context.data.train.count + batch - 1) / batch;
        const auto hook = detail::makePruneMaskHook(pruned.masks, options, std::max<int64_t>(1, stepsPerEpoch * options.finetuneEpochs));
        out.finetune = true;
        out.finetuneEpochs = options.finetuneEpochs;
        out.trainHooks = {hook};
        const ExperimentSpec spec = parent.spec;
        out.finish = [spec, settings, hook, &context](const std::vector<NamedTensor>& tuned) {
            return prunedModel(spec, detail::applyMasks(tuned, hook->masks()), true, settings, context);
        };
    }
    return out;
}

} // namespace nnlab::compress
