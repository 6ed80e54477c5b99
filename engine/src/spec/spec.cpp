#include "nnlab/spec.h"

#include "nnlab/layer_types.h"

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

} // namespace nnlab
