#include "nnlab/spec.h"

#include "nnlab/layer_types.h"

#include <tuple>

namespace nnlab {

double LayerSpec::option(const std::string& key) const
{
    if (auto it = options.find(key); it != options.end())
        return it->second;
    if (const auto* info = findLayerType(type))
        if (const auto* opt = findOption(*info, key))
            return opt->defaultValue;
    return 0.0;
}

namespace {

LayerSpec layer(const std::string& type, std::map<std::string, double> options = {},
                std::vector<LayerSpec> children = {})
{
    LayerSpec spec;
    spec.type = type;
    if (const auto* info = findLayerType(type))
        for (const auto& opt : info->options)
            spec.options[opt.key] = opt.defaultValue;
    for (const auto& [key, value] : options)
        spec.options[key] = value;
    spec.layers = std::move(children);
    return spec;
}

} // namespace

std::vector<MonitorSpec> defaultMonitors()
{
    MonitorSpec nan;
    nan.metric = "train/loss";
    nan.rule = MonitorRule::NotFinite;
    nan.actions = {MonitorAction::Stop};
    return {nan};
}

ExperimentSpec defaultExperiment()
{
    // A small CNN that reaches ~88% validation accuracy on Fashion-MNIST in two epochs on
    // two CPU cores; kept in step with resources/experiments/fashion-cnn.json.
    ExperimentSpec spec;
    spec.name = "fashion-cnn";
    spec.seed = 0;
    spec.data.source = "fashion-mnist";
    spec.data.trainLimit = 12000;
    spec.data.validationFraction = 0.1;
    spec.model.input = {1, 28, 28};
    spec.model.layers = {
        layer("conv2d", {{"out_channels", 16}, {"kernel_size", 3}, {"padding", 1}}),
        layer("relu"),
        layer("maxpool2d", {{"kernel_size", 2}}),
        layer("residual", {},
              {layer("conv2d", {{"out_channels", 16}, {"kernel_size", 3}, {"padding", 1}}),
               layer("batchnorm2d"), layer("relu")}),
        layer("maxpool2d", {{"kernel_size", 2}}),
        layer("flatten"),
        layer("linear", {{"out_features", 10}}),
    };
    spec.loss = "cross_entropy";
    spec.optimizer.type = "adamw";
    spec.optimizer.lr = 2e-3;
    spec.optimizer.weightDecay = 0.01;
    spec.schedule.type = "cosine";
    spec.schedule.warmupSteps = 100;
    spec.training.epochs = 2;
    spec.training.batchSize = 64;
    spec.training.gradClipNorm = 1.0;
    return spec;
}

// Equality, field by field. Each fields() binds every field of its struct, in declaration
// order, and compares them all: a struct with one more field no longer decomposes into that
// many names, so adding a field stops the build here until it is listed, and so compared.
namespace {

auto fields(const LayerSpec& l)
{
    const auto& [type, name, options, layers] = l;
    return std::tie(type, name, options, layers);
}

auto fields(const ModelSpec& m)
{
    const auto& [input, layers] = m;
    return std::tie(input, layers);
}

auto fields(const DataSpec& d)
{
    const auto& [source, path, testPath, samples, classes, noise, trainLimit, validationFraction, normalize,
                 shuffle, labelColumn, header, delimiter, skipRows, comment] = d;
    return std::tie(source, path, testPath, samples, classes, noise, trainLimit, validationFraction, normalize,
                    shuffle, labelColumn, header, delimiter, skipRows, comment);
}

auto fields(const OptimizerSpec& o)
{
    const auto& [type, lr, momentum, nesterov, weightDecay, beta1, beta2, eps, alpha] = o;
    return std::tie(type, lr, momentum, nesterov, weightDecay, beta1, beta2, eps, alpha);
}

auto fields(const ScheduleSpec& s)
{
    const auto& [type, warmupSteps, stepSize, gamma, minLr, pctStart, divFactor, finalDivFactor] = s;
    return std::tie(type, warmupSteps, stepSize, gamma, minLr, pctStart, divFactor, finalDivFactor);
}

auto fields(const TrainingSpec& t)
{
    const auto& [epochs, batchSize, evalBatchSize, gradClipNorm, gradClipValue, threads, device, logEverySteps,
                 checkpointEverySteps, checkpointEverySeconds, bestMetric, deterministic, workers] = t;
    return std::tie(epochs, batchSize, evalBatchSize, gradClipNorm, gradClipValue, threads, device, logEverySteps,
                    checkpointEverySteps, checkpointEverySeconds, bestMetric, deterministic, workers);
}

auto fields(const MonitorSpec& m)
{
    const auto& [name, metric, rule, value, coefficient, window, minDelta, patience, actions, lrFactor, maxRollbacks] = m;
    return std::tie(name, metric, rule, value, coefficient, window, minDelta, patience, actions, lrFactor, maxRollbacks);
}

auto fields(const SweepParameter& p)
{
    const auto& [path, values, min, max, scale, integer] = p;
    return std::tie(path, values, min, max, scale, integer);
}

auto fields(const SweepSpec& s)
{
    const auto& [method, parameters, trials, concurrent, metric, pruner, reductionFactor, minEpochs] = s;
    return std::tie(method, parameters, trials, concurrent, metric, pruner, reductionFactor, minEpochs);
}

auto fields(const InspectSpec& i)
{
    const auto& [layerStatsEverySteps, histogramsEverySteps, boundaryEverySteps, boundaryResolution, confusionMatrix] = i;
    return std::tie(layerStatsEverySteps, histogramsEverySteps, boundaryEverySteps, boundaryResolution, confusionMatrix);
}

auto fields(const ExperimentSpec& e)
{
    const auto& [name, seed, data, model, loss, optimizer, schedule, training, monitors, sweep, inspect] = e;
    return std::tie(name, seed, data, model, loss, optimizer, schedule, training, monitors, sweep, inspect);
}

} // namespace

bool operator==(const LayerSpec& a, const LayerSpec& b) { return fields(a) == fields(b); }
bool operator!=(const LayerSpec& a, const LayerSpec& b) { return !(a == b); }
bool operator==(const ModelSpec& a, const ModelSpec& b) { return fields(a) == fields(b); }
bool operator!=(const ModelSpec& a, const ModelSpec& b) { return !(a == b); }
bool operator==(const DataSpec& a, const DataSpec& b) { return fields(a) == fields(b); }
bool operator!=(const DataSpec& a, const DataSpec& b) { return !(a == b); }
bool operator==(const OptimizerSpec& a, const OptimizerSpec& b) { return fields(a) == fields(b); }
bool operator!=(const OptimizerSpec& a, const OptimizerSpec& b) { return !(a == b); }
bool operator==(const ScheduleSpec& a, const ScheduleSpec& b) { return fields(a) == fields(b); }
bool operator!=(const ScheduleSpec& a, const ScheduleSpec& b) { return !(a == b); }
bool operator==(const TrainingSpec& a, const TrainingSpec& b) { return fields(a) == fields(b); }
bool operator!=(const TrainingSpec& a, const TrainingSpec& b) { return !(a == b); }
bool operator==(const MonitorSpec& a, const MonitorSpec& b) { return fields(a) == fields(b); }
bool operator!=(const MonitorSpec& a, const MonitorSpec& b) { return !(a == b); }
bool operator==(const SweepParameter& a, const SweepParameter& b) { return fields(a) == fields(b); }
bool operator!=(const SweepParameter& a, const SweepParameter& b) { return !(a == b); }
bool operator==(const SweepSpec& a, const SweepSpec& b) { return fields(a) == fields(b); }
bool operator!=(const SweepSpec& a, const SweepSpec& b) { return !(a == b); }
bool operator==(const InspectSpec& a, const InspectSpec& b) { return fields(a) == fields(b); }
bool operator!=(const InspectSpec& a, const InspectSpec& b) { return !(a == b); }
bool operator==(const ExperimentSpec& a, const ExperimentSpec& b) { return fields(a) == fields(b); }
bool operator!=(const ExperimentSpec& a, const ExperimentSpec& b) { return !(a == b); }

} // namespace nnlab
