#include "builder.h"
#include "fused_ops.h"
#include "nnlab/trainer.h"

#include <cstdlib>

#include <functional>
#include <map>
#include <set>
#include <stdexcept>

namespace nnlab::detail {

namespace nn = torch::nn;

ResidualImpl::ResidualImpl(nn::Sequential body, nn::AnyModule shortcut)
    : m_body(register_module("body", std::move(body))), m_shortcut(std::move(shortcut))
{
    if (!m_shortcut.is_empty())
        register_module("shortcut", m_shortcut.ptr());
    if (!m_body->is_empty())
        m_fusedTail = std::dynamic_pointer_cast<BatchNormReluImpl>(m_body->ptr(m_body->size() - 1));
}

torch::Tensor ResidualImpl::forward(torch::Tensor x)
{
    const torch::Tensor skip = m_shortcut.is_empty() ? x : m_shortcut.forward<torch::Tensor>(x);
    if (!m_fusedTail)
        return m_body->forward(x) + skip;
    torch::Tensor h = x;
    for (auto it = m_body->begin(); it + 1 != m_body->end(); ++it)
        h = it->forward<torch::Tensor>(h);
    return m_fusedTail->forwardAdd(h, skip);
}

TunedConv2dImpl::TunedConv2dImpl(const nn::Conv2dOptions& options, Shape inputShape)
    : nn::Conv2dImpl(options), m_inputShape(std::move(inputShape))
{
}

bool TunedConv2dImpl::nativeCapable() const
{
    const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&options.padding());
    return padding && options.groups() == 1 && (*options.dilation())[0] == 1 && (*options.dilation())[1] == 1
           && c10::get_if<torch::enumtype::kZeros>(&options.padding_mode());
}

torch::Tensor TunedConv2dImpl::forward(const torch::Tensor& x)
{
    if (!m_native)
        return nn::Conv2dImpl::forward(x);
    const auto& padding = c10::get<torch::ExpandingArray<2>>(options.padding());
    return at::thnn_conv2d(x, weight, options.kernel_size(), bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt,
                           options.stride(), padding);
}

namespace {

nn::BatchNorm2dOptions batchNorm2dOptions(const LayerSpec& s, const Shape& in)
{
    return nn::BatchNorm2dOptions(in[0]).eps(s.option("eps")).momentum(s.option("momentum")).affine(s.flag("affine"));
}

nn::Conv2dOptions conv2dOptions(const LayerSpec& s, const Shape& in)
{
    return nn::Conv2dOptions(in[0], s.intOption("out_channels"), s.intOption("kernel_size"))
        .stride(s.intOption("stride"))
        .padding(s.intOption("padding"))
        .dilation(s.intOption("dilation"))
        .groups(s.intOption("groups"))
        .bias(s.flag("bias"));
}

using Builder = std::function<nn::AnyModule(const LayerSpec&, const Shape& in)>;

// The builder table: one entry per layer type of layer_types.cpp.
const std::map<std::string, Builder>& builders()
{
    static const std::map<std::string, Builder> table{
        {"linear", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::Linear(nn::LinearOptions(in[0], s.intOption("out_features")).bias(s.flag("bias"))));
         }},
        {"conv2d", [](const LayerSpec& s, const Shape& in) { return nn::AnyModule(TunedConv2d(conv2dOptions(s, in), in)); }},
        {"batchnorm1d", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::BatchNorm1d(nn::BatchNorm1dOptions(in[0]).eps(s.option("eps"))
                                                      .momentum(s.option("momentum")).affine(s.flag("affine"))));
         }},
        {"batchnorm2d", [](const LayerSpec& s, const Shape& in) {
             return nn::AnyModule(nn::BatchNorm2d(batchNorm2dOptions(s, in)));
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
    Assembler(const ModelInfo& info, bool fuse) : m_fuse(fuse)
    {
        for (const auto& row : info.layers)
            (row.type == "shortcut" ? m_shortcuts : m_rows)[row.path] = &row;
    }

    // Layers run in spec order, with two kinds of rewrite that leave outputs and gradients
    // unchanged and every parameter and buffer under its spec name:
    // - fusion (fused_ops.h): the model's first conv2d with 2x2 max-pooling (and a ReLU)
    //   becomes one ConvPool2x2, under the convolution's name; 2x2 max-pooling next to a ReLU
    //   (either order: max(relu(a), ...) = relu(max(a, ...))) one MaxPool2x2, under the
    //   pooling layer's name; a BatchNorm2d followed by a ReLU one BatchNormRelu and a
    //   linear layer (with the ReLU after it) one LinearRelu, under the first layer's name;
    // - otherwise an increasing activation followed by max-pooling runs after the pooling,
    //   so it sees a quarter of the elements (2x2 pooling), forward and backward.
    nn::Sequential sequence(const std::vector<LayerSpec>& specs, const std::string& path)
    {
        nn::Sequential seq;
        const auto name = [&](size_t i) { return specs[i].name.empty() ? std::to_string(i) : specs[i].name; };
        // Whether a ReLU may work in place depends on what runs just before it: the type of
        // the last module added (after a reordering, the activation), or "fused" for the
        // fused modules, whose backward passes keep their inputs, not their outputs.
        std::string last;
        const auto add = [&](size_t i) {
            seq->push_back(name(i), layer(specs[i], path + "[" + std::to_string(i) + "]", writesFreshOutput(last)));
            last = specs[i].type;
        };
        const auto addFused = [&](size_t i, nn::AnyModule module) {
            seq->push_back(name(i), std::move(module));
            last = "fused";
        };
        for (size_t i = 0; i < specs.size(); ++i) {
            const bool pair = i + 1 < specs.size();
            if (size_t used = firstConvPool(specs, path, i); used > 0) {
                addFused(i, nn::AnyModule(ConvPool2x2(conv2dOptions(specs[i], m_rows.at(path + "[0]")->inputShape), used == 3)));
                i += used - 1;
            } else if (m_fuse && pair && specs[i].type == "relu" && pool2x2(specs[i + 1])) {
                addFused(i + 1, nn::AnyModule(MaxPool2x2(true)));
                ++i;
            } else if (m_fuse && pair && pool2x2(specs[i]) && specs[i + 1].type == "relu") {
                addFused(i, nn::AnyModule(MaxPool2x2(true)));
                ++i;
            } else if (m_fuse && specs[i].type == "linear") {
                const bool relu = pair && specs[i + 1].type == "relu";
                const Shape& in = m_rows.at(path + "[" + std::to_string(i) + "]")->inputShape;
                seq->push_back(name(i), LinearRelu(nn::LinearOptions(in[0], specs[i].intOption("out_features"))
                                                       .bias(specs[i].flag("bias")), relu));
                i += relu ? 1 : 0;
                // keeps its output for the ReLU's gradient: what follows must not overwrite it
                last = relu ? "relu" : "linear";
            } else if (m_fuse && pair && specs[i].type == "batchnorm2d" && specs[i + 1].type == "relu") {
                const Shape& in = m_rows.at(path + "[" + std::to_string(i) + "]")->inputShape;
                addFused(i, nn::AnyModule(BatchNormRelu(batchNorm2dOptions(specs[i], in))));
                ++i;
            } else if (pair && increasing(specs[i].type) && specs[i + 1].type == "maxpool2d") {
                add(i + 1);
                last = "maxpool2d";   // the activation may then overwrite the pooled output
                add(i);
                ++i;
            } else {
                add(i);
            }
        }
        return seq;
    }

private:
    // A ReLU may overwrite its input when that is a fresh tensor whose producer does not
    // need its own output for the backward pass: it saves writing a new activation, which
    // on CNNs costs as much memory traffic as the ReLU itself. Not after a view (flatten),
    // the data (first layer) or an activation that keeps its output (tanh, sigmoid).
    static bool writesFreshOutput(const std::string& type)
    {
        static const std::set<std::string> types{"linear", "conv2d", "batchnorm1d", "batchnorm2d", "layernorm",
                                                 "maxpool2d", "avgpool2d", "adaptive_avgpool2d", "residual", "fused"};
        return types.count(type) > 0;
    }

    static bool increasing(const std::string& type)
    {
        return type == "relu" || type == "leaky_relu" || type == "tanh" || type == "sigmoid";
    }

    // The first layer of the model (its input is the data, which needs no gradient): a
    // stride-1 convolution followed by 2x2 pooling, or by ReLU and pooling in either order.
    // Returns how many layers ConvPool2x2 replaces (0: none).
    size_t firstConvPool(const std::vector<LayerSpec>& specs, const std::string& path, size_t i) const
    {
        if (!m_fuse || path != "model.layers" || i != 0 || specs.size() < 2 || specs[0].type != "conv2d")
            return 0;
        const LayerSpec& conv = specs[0];
        if (conv.intOption("stride") != 1 || conv.intOption("dilation") != 1 || conv.intOption("groups") != 1)
            return 0;
        if (pool2x2(specs[1]))
            return specs.size() > 2 && specs[2].type == "relu" ? 3 : 2;
        return specs.size() > 2 && specs[1].type == "relu" && pool2x2(specs[2]) ? 3 : 0;
    }

    bool pool2x2(const LayerSpec& s) const
    {
        return s.type == "maxpool2d" && s.intOption("kernel_size") == 2
               && (s.intOption("stride") == 0 || s.intOption("stride") == 2) && s.intOption("padding") == 0;
    }

    nn::AnyModule layer(const LayerSpec& s, const std::string& path, bool inplaceAllowed)
    {
        const LayerInfo& row = *m_rows.at(path);
        if (m_fuse && pool2x2(s))
            return nn::AnyModule(MaxPool2x2(false));
        if (s.type == "relu" && inplaceAllowed)
            return nn::AnyModule(nn::ReLU(nn::ReLUOptions(true)));
        if (s.type == "leaky_relu" && inplaceAllowed)
            return nn::AnyModule(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(s.option("negative_slope")).inplace(true)));
        if (s.type == "residual") {
            nn::AnyModule shortcut;
            if (auto it = m_shortcuts.find(path); it != m_shortcuts.end()) {
                const Shape& in = it->second->inputShape;
                const Shape& out = it->second->outputShape;
                if (in.size() == 1)
                    shortcut = nn::AnyModule(nn::Linear(in[0], out[0]));
                else
                    shortcut = nn::AnyModule(TunedConv2d(nn::Conv2dOptions(in[0], out[0], 1)
                                                             .stride((in[1] + out[1] - 1) / out[1]), in));
            }
            return nn::AnyModule(Residual(sequence(s.layers, path + ".layers"), std::move(shortcut)));
        }
        return builders().at(s.type)(s, row.inputShape);
    }

    bool m_fuse;
    std::map<std::string, const LayerInfo*> m_rows;
    std::map<std::string, const LayerInfo*> m_shortcuts;
};

} // namespace

bool fusionEnabled()
{
    const char* env = std::getenv("NNLAB_FUSED_OPS");
    return !(env && std::string(env) == "0");
}

nn::Sequential buildModel(const ModelSpec& spec, bool fuse)
{
    Problems problems;
    const ModelInfo info = inspectModel(spec, problems);
    if (!problems.empty())
        throw std::invalid_argument("model does not validate: " + problems.front().text());
    Assembler assembler(info, fuse);
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
