// Each method's code behind compressRun's seam (compress_methods.h): quantization calls
// quantize.h, pruning calls prune.h; this file only translates options and wraps the results.
#include "compress_methods.h"

#include "nnlab/model_interface.h"
#include "nnlab/spec_json.h"
#include "quantize.h"

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

Compressed pruneParent(const MethodContext&)
{
    throw std::runtime_error("--prune: pruning is not in this build yet");
}

} // namespace nnlab::compress
