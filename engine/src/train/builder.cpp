#include "builder.h"
#include "fused_ops.h"
#include "nnlab/build_plan.h"
#include "nnlab/trainer.h"

#include <cstdlib>

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
    if (m_depthwiseKernel && c10::get_if<torch::ExpandingArray<2>>(&options.padding())
        && c10::get_if<torch::enumtype::kZeros>(&options.padding_mode())) {
        const int64_t stride = (*options.stride())[0], padding = (*c10::get<torch::ExpandingArray<2>>(options.padding()))[0];
        if ((*options.stride())[1] == stride && (*c10::get<torch::ExpandingArray<2>>(options.padding()))[1] == padding
            && (*options.dilation())[1] == (*options.dilation())[0]
            && depthwiseKernelApplies(x, weight, options.groups(), stride, padding, (*options.dilation())[0]))
            return depthwiseConv2d(x, weight, bias, stride, padding);
    }
    if (!m_native)
        return nn::Conv2dImpl::forward(x);
    const auto& padding = c10::get<torch::ExpandingArray<2>>(options.padding());
    return at::thnn_conv2d(x, weight, options.kernel_size(), bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt,
                           options.stride(), padding);
}

namespace {

// Options of the layers that have more than one module form (plain and fused): built here once.
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

nn::LinearOptions linearOptions(const LayerSpec& s, const Shape& in)
{
    return nn::LinearOptions(in[0], s.intOption("out_features")).bias(s.flag("bias"));
}

// Pooling's stride 0 means "the kernel size", as in torch.nn.
int64_t poolStride(const LayerSpec& s)
{
    return s.intOption("stride") > 0 ? s.intOption("stride") : s.intOption("kernel_size");
}

using Builder = std::function<nn::AnyModule(const LayerSpec&, const PlannedModule&)>;

// The builder table: one entry per layer type of layer_types.cpp (residual blocks are
// assembled by build() from their body's plan).
const std::map<std::string, Builder>& builders()
{
    static const std::map<std::string, Builder> table{
        {"linear", [](const LayerSpec& s, const PlannedModule& m) {
             return nn::AnyModule(nn::Linear(linearOptions(s, m.inputShape)));
         }},
        {"conv2d", [](const LayerSpec& s, const PlannedModule& m) {
             return nn::AnyModule(TunedConv2d(conv2dOptions(s, m.inputShape), m.inputShape));
         }},
        {"batchnorm1d", [](const LayerSpec& s, const PlannedModule& m) {
             return nn::AnyModule(nn::BatchNorm1d(nn::BatchNorm1dOptions(m.inputShape[0]).eps(s.option("eps"))
                                                      .momentum(s.option("momentum")).affine(s.flag("affine"))));
         }},
        {"batchnorm2d", [](const LayerSpec& s, const PlannedModule& m) {
             return nn::AnyModule(nn::BatchNorm2d(batchNorm2dOptions(s, m.inputShape)));
         }},
        {"layernorm", [](const LayerSpec& s, const PlannedModule& m) {
             return nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions(m.inputShape).eps(s.option("eps"))
                                                    .elementwise_affine(s.flag("elementwise_affine"))));
         }},
        {"dropout", [](const LayerSpec& s, const PlannedModule&) {
             return nn::AnyModule(nn::Dropout(nn::DropoutOptions(s.option("p"))));
         }},
        {"relu", [](const LayerSpec&, const PlannedModule& m) { return nn::AnyModule(nn::ReLU(nn::ReLUOptions(m.inplace))); }},
        {"leaky_relu", [](const LayerSpec& s, const PlannedModule& m) {
             return nn::AnyModule(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(s.option("negative_slope")).inplace(m.inplace)));
         }},
        {"gelu", [](const LayerSpec&, const PlannedModule&) { return nn::AnyModule(nn::GELU()); }},
        {"tanh", [](const LayerSpec&, const PlannedModule&) { return nn::AnyModule(nn::Tanh()); }},
        {"sigmoid", [](const LayerSpec&, const PlannedModule&) { return nn::AnyModule(nn::Sigmoid()); }},
        {"maxpool2d", [](const LayerSpec& s, const PlannedModule&) {
             return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(s.intOption("kernel_size")).stride(poolStride(s))
                                                    .padding(s.intOption("padding"))));
         }},
        {"avgpool2d", [](const LayerSpec& s, const PlannedModule&) {
             return nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(s.intOption("kernel_size")).stride(poolStride(s))
                                                    .padding(s.intOption("padding"))));
         }},
        {"adaptive_avgpool2d", [](const LayerSpec& s, const PlannedModule&) {
             return nn::AnyModule(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(s.intOption("output_size"))));
         }},
        {"flatten", [](const LayerSpec&, const PlannedModule&) { return nn::AnyModule(nn::Flatten()); }},
    };
    return table;
}

nn::Sequential build(const std::vector<PlannedModule>& plan, const std::vector<LayerSpec>& specs);

// A residual block's learned projection: a linear map for flat shapes, else a strided 1x1 conv.
nn::AnyModule shortcut(const PlannedModule& m)
{
    if (!m.shortcut)
        return {};
    const Shape& in = m.shortcutInput;
    const Shape& out = m.shortcutOutput;
    if (in.size() == 1)
        return nn::AnyModule(nn::Linear(in[0], out[0]));
    return nn::AnyModule(TunedConv2d(nn::Conv2dOptions(in[0], out[0], 1).stride((in[1] + out[1] - 1) / out[1]), in));
}

nn::AnyModule module(const PlannedModule& m, const LayerSpec& s)
{
    switch (m.kind) {
    case PlannedKind::Layer: return builders().at(s.type)(s, m);
    case PlannedKind::ConvPool2x2: return nn::AnyModule(ConvPool2x2(conv2dOptions(s, m.inputShape), m.relu));
    case PlannedKind::MaxPool2x2: return nn::AnyModule(MaxPool2x2(m.relu));
    case PlannedKind::LinearRelu: {
        using Act = LinearReluImpl::Activation;
        static const std::map<FusedActivation, Act> other{{FusedActivation::None, Act::None},
                                                          {FusedActivation::LeakyRelu, Act::LeakyRelu},
                                                          {FusedActivation::Tanh, Act::Tanh},
                                                          {FusedActivation::Sigmoid, Act::Sigmoid}};
        return nn::AnyModule(LinearRelu(linearOptions(s, m.inputShape), m.relu ? Act::Relu : other.at(m.activation),
                                        m.negativeSlope));
    }
    case PlannedKind::BatchNormRelu: {
        using Act = BatchNormReluImpl::Activation;
        const Act act = m.relu ? Act::Relu : m.activation == FusedActivation::LeakyRelu ? Act::LeakyRelu : Act::None;
        return nn::AnyModule(BatchNormRelu(batchNorm2dOptions(s, m.inputShape), act, m.negativeSlope, m.dropout));
    }
    case PlannedKind::ActAvgPool: {
        using Act = ActAvgPoolImpl::Activation;
        const Act act = m.relu                                               ? Act::Relu
                        : m.activation == FusedActivation::Tanh      ? Act::Tanh
                        : m.activation == FusedActivation::Sigmoid   ? Act::Sigmoid
                        : m.activation == FusedActivation::LeakyRelu ? Act::LeakyRelu
                                                                     : Act::None;
        return nn::AnyModule(ActAvgPool(nn::AvgPool2dOptions(s.intOption("kernel_size")).stride(poolStride(s))
                                            .padding(s.intOption("padding")), act, m.negativeSlope));
    }
    case PlannedKind::Residual: return nn::AnyModule(Residual(build(m.body, s.layers), shortcut(m)));
    }
    throw std::logic_error("unknown planned module kind");
}

nn::Sequential build(const std::vector<PlannedModule>& plan, const std::vector<LayerSpec>& specs)
{
    nn::Sequential seq;
    for (const auto& m : plan)
        seq->push_back(m.name, module(m, specs[m.layer]));
    return seq;
}

} // namespace

bool fusionEnabled()
{
    const char* env = std::getenv("NNLAB_FUSED_OPS");
    return !(env && std::string(env) == "0");
}

nn::Sequential buildModel(const ModelSpec& spec, const ModelInfo& info, bool fuse)
{
    // The depthwise kernel (fused_depthwise.cpp) stays off: at batch 64 on one core it runs
    // at about LibTorch's channels-last speed (bench_fused_conv), not yet a gain to build on.
    return build(planModel(spec, info, fuse), spec.layers);
}

nn::Sequential buildModel(const ModelSpec& spec, bool fuse)
{
    Problems problems;
    const ModelInfo info = inspectModel(spec, problems);
    if (!problems.empty())
        throw std::invalid_argument("model does not validate: " + problems.front().text());
    return buildModel(spec, info, fuse);
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
