#include "builder.h"
#include "nnlab/trainer.h"

#include <functional>
#include <map>
#include <stdexcept>

namespace nnlab::detail {

namespace nn = torch::nn;

ResidualImpl::ResidualImpl(nn::Sequential body, nn::AnyModule shortcut)
    : m_body(register_module("body", std::move(body))), m_shortcut(std::move(shortcut))
{
    if (!m_shortcut.is_empty())
        register_module("shortcut", m_shortcut.ptr());
}

torch::Tensor ResidualImpl::forward(torch::Tensor x)
{
    torch::Tensor y = m_body->forward(x);
    return m_shortcut.is_empty() ? y + x : y + m_shortcut.forward(x);
}

namespace {

using Builder = std::function<nn::AnyModule(const LayerSpec&, const Shape& in)>;

// The builder table: one entry per layer type of layer_types.cpp.
const std::map<std::string, Builder>& builders()
{
    static const std::map<std::string, Builder> table{
        {"linear", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::Linear(nn::LinearOptions(in[0], s.intOption("out_features")).bias(s.flag("bias"))));
         }},
        {"conv2d", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in[0], s.intOption("out_channels"), s.intOption("kernel_size"))
                                                 .stride(s.intOption("stride"))
                                                 .padding(s.intOption("padding"))
                                                 .dilation(s.intOption("dilation"))
                                                 .groups(s.intOption("groups"))
                                                 .bias(s.flag("bias"))));
         }},
        {"batchnorm1d", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::BatchNorm1d(nn::BatchNorm1dOptions(in[0]).eps(s.option("eps"))
                                                      .momentum(s.option("momentum")).affine(s.flag("affine"))));
         }},
        {"batchnorm2d", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::BatchNorm2d(nn::BatchNorm2dOptions(in[0]).eps(s.option("eps"))
                                                      .momentum(s.option("momentum")).affine(s.flag("affine"))));
         }},
        {"layernorm", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions(in).eps(s.option("eps"))
                                                    .elementwise_affine(s.flag("elementwise_affine"))));
         }},
        {"dropout", [](const LayerSpec& s, const Shape&) {
             return nn::AnyModule(nn::Dropout(nn::DropoutOptions(s.option("p"))));
         }},
        {"relu", [](const LayerSpec&, const Shape&) { return nn::AnyModule(nn::ReLU()); }},
        {"leaky_relu", [](const LayerSpec& s, const Shape&) {
             return nn::AnyModule(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(s.option("negative_slope"))));
         }},
        {"gelu", [](const LayerSpec&, const Shape&) { return nn::AnyModule(nn::GELU()); }},
        {"tanh", [](const LayerSpec&, const Shape&) { return nn::AnyModule(nn::Tanh()); }},
        {"sigmoid", [](const LayerSpec&, const Shape&) { return nn::AnyModule(nn::Sigmoid()); }},
        {"maxpool2d", [](const LayerSpec& s, const Shape&) {
             const int64_t k = s.intOption("kernel_size");
             const int64_t stride = s.intOption("stride") > 0 ? s.intOption("stride") : k;
             return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(k).stride(stride).padding(s.intOption("padding"))));
         }},
        {"avgpool2d", [](const LayerSpec& s, const Shape&) {
             const int64_t k = s.intOption("kernel_size");
             const int64_t stride = s.intOption("stride") > 0 ? s.intOption("stride") : k;
             return nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(k).stride(stride).padding(s.intOption("padding"))));
         }},
        {"adaptive_avgpool2d", [](const LayerSpec& s, const Shape&) {
             return nn::AnyModule(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(s.intOption("output_size"))));
         }},
        {"flatten", [](const LayerSpec&, const Shape&) { return nn::AnyModule(nn::Flatten()); }},
    };
    return table;
}

class Assembler {
public:
    explicit Assembler(const ModelInfo& info)
    {
        for (const auto& row : info.layers)
            (row.type == "shortcut" ? m_shortcuts : m_rows)[row.path] = &row;
    }

    nn::Sequential sequence(const std::vector<LayerSpec>& specs, const std::string& path)
    {
        nn::Sequential seq;
        for (size_t i = 0; i < specs.size(); ++i) {
            const std::string at = path + "[" + std::to_string(i) + "]";
            const std::string name = specs[i].name.empty() ? std::to_string(i) : specs[i].name;
            seq->push_back(name, layer(specs[i], at));
        }
        return seq;
    }

private:
    nn::AnyModule layer(const LayerSpec& s, const std::string& path)
    {
        const LayerInfo& row = *m_rows.at(path);
        if (s.type == "residual") {
            nn::AnyModule shortcut;
            if (auto it = m_shortcuts.find(path); it != m_shortcuts.end()) {
                const Shape& in = it->second->inputShape;
                const Shape& out = it->second->outputShape;
                if (in.size() == 1)
                    shortcut = nn::AnyModule(nn::Linear(in[0], out[0]));
                else
                    shortcut = nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in[0], out[0], 1)
                                                            .stride((in[1] + out[1] - 1) / out[1])));
            }
            return nn::AnyModule(Residual(sequence(s.layers, path + ".layers"), std::move(shortcut)));
        }
        return builders().at(s.type)(s, row.inputShape);
    }

    std::map<std::string, const LayerInfo*> m_rows;
    std::map<std::string, const LayerInfo*> m_shortcuts;
};

} // namespace

nn::Sequential buildModel(const ModelSpec& spec)
{
    Problems problems;
    const ModelInfo info = inspectModel(spec, problems);
    if (!problems.empty())
        throw std::invalid_argument("model does not validate: " + problems.front().text());
    Assembler assembler(info);
    return assembler.sequence(spec.layers, "model.layers");
}

} // namespace nnlab::detail

namespace nnlab {

BuiltModel buildAndProbe(const ModelSpec& spec)
{
    torch::NoGradGuard noGrad;
    torch::nn::Sequential model = detail::buildModel(spec);
    BuiltModel built;
    for (const auto& item : model->named_parameters()) {
        built.parameterNames.push_back(item.key());
        built.parameters += item.value().numel();
    }
    model->eval();
    std::vector<int64_t> shape{2};
    shape.insert(shape.end(), spec.input.begin(), spec.input.end());
    const torch::Tensor out = model->forward(torch::zeros(shape));
    built.outputShape.assign(out.sizes().begin() + 1, out.sizes().end());
    return built;
}

} // namespace nnlab
