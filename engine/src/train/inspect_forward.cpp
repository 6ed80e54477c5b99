#include "inspect_forward.h"

#include <stdexcept>

namespace nnlab::detail {

TensorMap moduleTensors(torch::nn::Module& module)
{
    TensorMap out;
    for (const auto& item : module.named_parameters())
        out[item.key()] = item.value().detach();
    for (const auto& item : module.named_buffers())
        out[item.key()] = item.value().detach();
    return out;
}

std::string layerPath(const std::string& prefix, const LayerSpec& layer, size_t index)
{
    return prefix + (layer.name.empty() ? std::to_string(index) : layer.name);
}

namespace {

const torch::Tensor& need(const TensorMap& tensors, const std::string& name)
{
    const auto it = tensors.find(name);
    if (it == tensors.end())
        throw std::runtime_error("the model has no tensor \"" + name + "\"");
    return it->second;
}

torch::Tensor optional(const TensorMap& tensors, const std::string& name)
{
    const auto it = tensors.find(name);
    return it == tensors.end() ? torch::Tensor() : it->second;
}

int64_t poolStride(const LayerSpec& s)
{
    return s.intOption("stride") > 0 ? s.intOption("stride") : s.intOption("kernel_size");
}

struct Walker {
    const TensorMap& tensors;
    bool training;
    const LayerVisitor& visit;
    bool stopped = false;

    torch::Tensor layer(const LayerSpec& s, const std::string& path, const torch::Tensor& x)
    {
        const std::string& t = s.type;
        if (t == "linear")
            return torch::linear(x, need(tensors, path + ".weight"), optional(tensors, path + ".bias"));
        if (t == "conv2d")
            return torch::conv2d(x, need(tensors, path + ".weight"), optional(tensors, path + ".bias"),
                                 {s.intOption("stride")}, {s.intOption("padding")}, {s.intOption("dilation")},
                                 s.intOption("groups"));
        if (t == "batchnorm1d" || t == "batchnorm2d") {
            // Batch statistics without updating anything: no running tensors passed.
            const bool batchStats = training && x.size(0) > 1;
            return torch::batch_norm(x, optional(tensors, path + ".weight"), optional(tensors, path + ".bias"),
                                     batchStats ? torch::Tensor() : need(tensors, path + ".running_mean"),
                                     batchStats ? torch::Tensor() : need(tensors, path + ".running_var"),
                                     batchStats, s.option("momentum"), s.option("eps"), false);
        }
        if (t == "layernorm") {
            const std::vector<int64_t> shape(x.sizes().begin() + 1, x.sizes().end());
            return torch::layer_norm(x, shape, optional(tensors, path + ".weight"), optional(tensors, path + ".bias"),
                                     s.option("eps"));
        }
        if (t == "dropout")
            return x;
        if (t == "relu")
            return torch::relu(x);
        if (t == "leaky_relu")
            return torch::leaky_relu(x, s.option("negative_slope"));
        if (t == "gelu")
            return torch::gelu(x);
        if (t == "tanh")
            return torch::tanh(x);
        if (t == "sigmoid")
            return torch::sigmoid(x);
        if (t == "maxpool2d")
            return torch::max_pool2d(x, {s.intOption("kernel_size")}, {poolStride(s)}, {s.intOption("padding")});
        if (t == "avgpool2d")
            return torch::avg_pool2d(x, {s.intOption("kernel_size")}, {poolStride(s)}, {s.intOption("padding")});
        if (t == "adaptive_avgpool2d")
            return torch::adaptive_avg_pool2d(x, {s.intOption("output_size"), s.intOption("output_size")});
        if (t == "flatten")
            return x.flatten(1);
        if (t == "residual") {
            const torch::Tensor body = sequence(s.layers, x, path + ".body.");
            if (stopped)
                return body;
            const torch::Tensor weight = optional(tensors, path + ".shortcut.weight");
            if (!weight.defined())
                return body + x;
            const torch::Tensor bias = optional(tensors, path + ".shortcut.bias");
            if (x.dim() == 2)
                return body + torch::linear(x, weight, bias);
            const int64_t stride = (x.size(2) + body.size(2) - 1) / body.size(2);   // as builder.cpp's shortcut
            return body + torch::conv2d(x, weight, bias, {stride});
        }
        throw std::runtime_error("inspection does not know layer type \"" + t + "\"");
    }

    torch::Tensor sequence(const std::vector<LayerSpec>& layers, torch::Tensor x, const std::string& prefix)
    {
        for (size_t i = 0; i < layers.size() && !stopped; ++i) {
            const std::string path = layerPath(prefix, layers[i], i);
            x = layer(layers[i], path, x);
            if (!stopped && visit && !visit(path, layers[i], x))
                stopped = true;
        }
        return x;
    }
};

} // namespace

torch::Tensor specForward(const std::vector<LayerSpec>& layers, torch::Tensor x, const TensorMap& tensors,
                          bool training, const LayerVisitor& visit)
{
    torch::NoGradGuard noGrad;
    Walker walker{tensors, training, visit};
    return walker.sequence(layers, std::move(x), "");
}

} // namespace nnlab::detail
