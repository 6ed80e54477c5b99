// Building a QuantizedModel from a spec and float weights: the spec's layers walked into
// steps, BatchNorm folded into the conv or linear before it, ReLU fused, residual blocks with
// their shortcuts. Which steps then run in int8 is decided elsewhere (quantize_static.cpp).
#include "quantize_impl.h"

#include "nnlab/model_info.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace nnlab::detail {
namespace {

class Builder {
public:
    // `folded`: the weights already have their BatchNorms folded in (a saved QuantizedModel).
    Builder(const ModelInfo& info, const std::vector<NamedTensor>& weights, bool folded = false) : m_folded(folded)
    {
        for (const LayerInfo& row : info.layers)
            m_rows[row.name] = &row;
        for (const NamedTensor& t : weights)
            m_weights[t.name] = &t;
    }

    std::vector<QStep> steps(const std::vector<LayerSpec>& specs, const std::string& prefix)
    {
        std::vector<QStep> out;
        for (size_t i = 0; i < specs.size(); ++i) {
            const LayerSpec& s = specs[i];
            QStep step;
            step.name = nameOf(specs, prefix, i);
            step.type = s.type;
            const LayerInfo& row = rowOf(step.name);
            if (s.type == "conv2d" || s.type == "linear") {
                weighted(step, s, row);
                // Fold a following BatchNorm of the matching kind, then fuse a ReLU.
                const char* norm = s.type == "conv2d" ? "batchnorm2d" : "batchnorm1d";
                if (i + 1 < specs.size() && specs[i + 1].type == norm && rowOf(nameOf(specs, prefix, i + 1)).inputShape.size()
                                                                             == (s.type == "conv2d" ? 3u : 1u)) {
                    ++i;
                    foldBatchNorm(step, specs[i], nameOf(specs, prefix, i));
                    step.fused = norm;
                    step.absorbed.push_back(nameOf(specs, prefix, i));
                }
                if (i + 1 < specs.size() && specs[i + 1].type == "relu") {
                    ++i;
                    step.relu = true;
                    step.fused += step.fused.empty() ? "relu" : "+relu";
                    step.absorbed.push_back(nameOf(specs, prefix, i));
                }
            } else if (s.type == "batchnorm1d" || s.type == "batchnorm2d") {
                step.kind = QStep::Kind::BatchNorm;
                batchNorm(step, s, step.name);
            } else if (s.type == "relu") {
                step.kind = QStep::Kind::Relu;
            } else if (s.type == "leaky_relu") {
                step.kind = QStep::Kind::LeakyRelu;
                step.slope = s.option("negative_slope");
            } else if (s.type == "gelu") {
                step.kind = QStep::Kind::Gelu;
            } else if (s.type == "tanh") {
                step.kind = QStep::Kind::Tanh;
            } else if (s.type == "sigmoid") {
                step.kind = QStep::Kind::Sigmoid;
            } else if (s.type == "maxpool2d" || s.type == "avgpool2d") {
                step.kind = s.type == "maxpool2d" ? QStep::Kind::MaxPool : QStep::Kind::AvgPool;
                step.kernel = s.intOption("kernel_size");
                step.poolStride = s.intOption("stride") > 0 ? s.intOption("stride") : step.kernel;
                step.poolPadding = s.intOption("padding");
            } else if (s.type == "adaptive_avgpool2d") {
                step.kind = QStep::Kind::AdaptiveAvgPool;
                step.outputSize = s.intOption("output_size");
            } else if (s.type == "flatten") {
                step.kind = QStep::Kind::Flatten;
            } else if (s.type == "dropout") {
                step.kind = QStep::Kind::Identity;
            } else if (s.type == "layernorm") {
                step.kind = QStep::Kind::LayerNorm;
                step.normShape = row.inputShape;
                step.eps = s.option("eps");
                if (s.flag("elementwise_affine")) {
                    step.weight = tensor(step.name + ".weight", row.inputShape);
                    step.bias = tensor(step.name + ".bias", row.inputShape);
                }
            } else if (s.type == "residual") {
                step.kind = QStep::Kind::Residual;
                step.body = steps(s.layers, step.name + ".body.");
                const auto sc = m_rows.find(step.name + ".shortcut");
                if (sc != m_rows.end())
                    step.shortcut.push_back(projection(*sc->second));
            } else {
                throw std::runtime_error("layer " + step.name + ": type \"" + s.type + "\" is not known to the quantizer");
            }
            out.push_back(std::move(step));
        }
        attachConvPools(out);
        return out;
    }

    // A conv2d (+ ReLU) that the fused float kernel covers, followed by 2x2 max-pooling.
    static void attachConvPools(std::vector<QStep>& steps)
    {
        for (size_t i = 0; i + 1 < steps.size(); ++i) {
            QStep& c = steps[i];
            const QStep& p = steps[i + 1];
            if (c.kind != QStep::Kind::Conv || p.kind != QStep::Kind::MaxPool || p.kernel != 2 || p.poolStride != 2
                || p.poolPadding != 0 || c.stride != std::vector<int64_t>{1, 1} || c.dilation != std::vector<int64_t>{1, 1}
                || c.groups != 1 || c.padding[0] != c.padding[1])
                continue;
            c.convPool = ConvPool2x2(torch::nn::Conv2dOptions(c.weight.size(1), c.weight.size(0), c.weight.size(2))
                                         .padding(c.padding[0]), c.relu);
            c.convPool->setChannelsLast(true);
            refreshFloatPath(c);
        }
    }

private:
    static std::string nameOf(const std::vector<LayerSpec>& specs, const std::string& prefix, size_t i)
    {
        return prefix + (specs[i].name.empty() ? std::to_string(i) : specs[i].name);
    }

    const LayerInfo& rowOf(const std::string& name) const
    {
        const auto it = m_rows.find(name);
        if (it == m_rows.end() || it->second->inputShape.empty())
            throw std::runtime_error("layer " + name + ": its shapes are unknown (is the experiment completed from its data?)");
        return *it->second;
    }

    torch::Tensor tensor(const std::string& name, const std::vector<int64_t>& shape) const
    {
        const auto it = m_weights.find(name);
        if (it == m_weights.end())
            throw std::runtime_error("weights: no tensor \"" + name + "\"");
        if (it->second->shape != shape)
            throw std::runtime_error("weights: \"" + name + "\" has shape " + shapeText(it->second->shape)
                                     + ", the model needs " + shapeText(shape));
        return torch::from_blob(const_cast<float*>(it->second->values.data()), shape, torch::kFloat32).clone();
    }

    void weighted(QStep& step, const LayerSpec& s, const LayerInfo& row)
    {
        const int64_t in = row.inputShape[0];
        if (s.type == "conv2d") {
            step.kind = QStep::Kind::Conv;
            const int64_t out = s.intOption("out_channels"), k = s.intOption("kernel_size");
            step.groups = s.intOption("groups");
            step.stride = {s.intOption("stride"), s.intOption("stride")};
            step.padding = {s.intOption("padding"), s.intOption("padding")};
            step.dilation = {s.intOption("dilation"), s.intOption("dilation")};
            step.weight = tensor(step.name + ".weight", {out, in / std::max<int64_t>(1, step.groups), k, k});
            step.bias = s.flag("bias") ? tensor(step.name + ".bias", {out}) : torch::zeros({out});
        } else {
            step.kind = QStep::Kind::Linear;
            const int64_t out = row.outputShape.empty() ? s.intOption("out_features") : row.outputShape[0];
            step.weight = tensor(step.name + ".weight", {out, in});
            step.bias = s.flag("bias") ? tensor(step.name + ".bias", {out}) : torch::zeros({out});
        }
    }

    QStep projection(const LayerInfo& row)
    {
        QStep step;
        step.name = row.name;
        step.type = "shortcut";
        const Shape& in = row.inputShape;
        const Shape& out = row.outputShape;
        step.kind = in.size() == 1 ? QStep::Kind::Linear : QStep::Kind::Conv;
        if (in.size() == 1) {
            step.weight = tensor(step.name + ".weight", {out[0], in[0]});
        } else {
            const int64_t stride = (in[1] + out[1] - 1) / out[1];   // as the builder's strided 1x1 conv
            step.stride = {stride, stride};
            step.weight = tensor(step.name + ".weight", {out[0], in[0], 1, 1});
        }
        step.bias = tensor(step.name + ".bias", {out[0]});
        return step;
    }

    void batchNorm(QStep& step, const LayerSpec& s, const std::string& name)
    {
        const int64_t c = rowOf(name).inputShape[0];
        step.eps = s.option("eps");
        step.mean = tensor(name + ".running_mean", {c});
        step.var = tensor(name + ".running_var", {c});
        step.weight = s.flag("affine") ? tensor(name + ".weight", {c}) : torch::ones({c});
        step.bias = s.flag("affine") ? tensor(name + ".bias", {c}) : torch::zeros({c});
    }

    // conv(x) then BN = conv with weights W * g / sqrt(var + eps) and bias (b - mean) * that + beta.
    void foldBatchNorm(QStep& step, const LayerSpec& s, const std::string& name)
    {
        if (m_folded)
            return;
        QStep bn;
        batchNorm(bn, s, name);
        const torch::Tensor factor = bn.weight / torch::sqrt(bn.var + bn.eps);
        std::vector<int64_t> shape(step.weight.dim(), 1);
        shape[0] = -1;
        step.weight = (step.weight * factor.reshape(shape)).contiguous();
        step.bias = (step.bias - bn.mean) * factor + bn.bias;
    }

    std::map<std::string, const LayerInfo*> m_rows;
    std::map<std::string, const NamedTensor*> m_weights;
    bool m_folded = false;
};

} // namespace


QuantizedModel QuantizedModel::fromFloat(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights)
{
    return buildQuantizedModel(spec, weights, false);
}

QuantizedModel buildQuantizedModel(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights, bool folded)
{
    Problems problems;
    const ModelInfo info = inspectModel(spec.model, problems);
    if (!problems.empty())
        throw std::runtime_error("the model does not validate: " + problems.front().text());
    if (!info.shapesKnown)
        throw std::runtime_error("the model's shapes wait for its data; complete the experiment first");
    QuantizedModel model;
    model.impl().spec = spec;
    model.impl().steps = Builder(info, weights, folded).steps(spec.model.layers, "");
    model.impl().engine = resolveQuantEngine(QuantEngine::Auto);
    model.impl().report.engine = model.impl().engine;
    for (const QStep* s : quantizableSteps(model.impl().steps))
        model.impl().report.layers.push_back({s->name, s->type, false, "float", s->fused, 1, 0.0, {}});
    return model;
}

} // namespace nnlab::detail
