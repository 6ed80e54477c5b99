// LinearRelu (fused_ops.h): Linear (+ an activation) as one autograd node.
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;
using Act = LinearReluImpl::Activation;

// ---------------------------------------------------------------------------------------
// Linear (+ activation), the activation applied in place on the product and its gradient
// computed from that output, as LibTorch's own backward formulas for relu, leaky_relu (whose
// result keeps the input's sign for a slope >= 0), tanh and sigmoid do.

void activateInPlace(torch::Tensor& y, Act act, double slope)
{
    switch (act) {
    case Act::None: break;
    case Act::Relu: y.clamp_min_(0.0); break;
    case Act::LeakyRelu: at::leaky_relu_(y, slope); break;
    case Act::Tanh: y.tanh_(); break;
    case Act::Sigmoid: y.sigmoid_(); break;
    }
}

torch::Tensor gradientBelow(const torch::Tensor& g, const torch::Tensor& y, Act act, double slope)
{
    switch (act) {
    case Act::None: return g;
    case Act::Relu: return at::threshold_backward(g, y, 0.0);   // as relu's
    case Act::LeakyRelu: return at::leaky_relu_backward(g, y, slope, /*self_is_result=*/true);
    case Act::Tanh: return at::tanh_backward(g, y);
    case Act::Sigmoid: return at::sigmoid_backward(g, y);
    }
    return g;
}

struct LinearReluFn : public torch::autograd::Function<LinearReluFn> {
    // bias: empty when absent
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias, int64_t activation, double slope)
    {
        const Act act = static_cast<Act>(activation);
        torch::Tensor y = bias.numel() ? at::addmm(bias, x, weight.t()) : at::mm(x, weight.t());
        activateInPlace(y, act, slope);
        ctx->save_for_backward({x, weight, act != Act::None ? y : torch::Tensor()});
        ctx->saved_data["activation"] = activation;
        ctx->saved_data["slope"] = slope;
        ctx->saved_data["bias"] = bias.numel() > 0;
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& weight = saved[1];
        const Act act = static_cast<Act>(ctx->saved_data["activation"].toInt());
        const torch::Tensor g = gradientBelow(grads[0], saved[2], act, ctx->saved_data["slope"].toDouble());
        torch::Tensor gx, gWeight, gBias;
        if (ctx->needs_input_grad(0))
            gx = at::mm(g, weight);
        if (ctx->needs_input_grad(1))
            gWeight = at::mm(g.t(), x);
        if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2))
            gBias = g.sum(0);
        return {gx, gWeight, gBias, torch::Tensor(), torch::Tensor()};
    }
};

} // namespace

LinearReluImpl::LinearReluImpl(const torch::nn::LinearOptions& options, bool relu)
    : LinearReluImpl(options, relu ? Activation::Relu : Activation::None)
{
}

LinearReluImpl::LinearReluImpl(const torch::nn::LinearOptions& options, Activation activation, double negativeSlope)
    : m_activation(activation), m_negativeSlope(negativeSlope)
{
    TORCH_CHECK(activation != Activation::LeakyRelu || negativeSlope >= 0.0,
                "LinearRelu: a leaky ReLU's gradient is read from the output only for a slope >= 0");
    torch::nn::Linear linear(options);   // Linear's initialization, drawing the same random numbers
    weight = register_parameter("weight", linear->weight);
    if (options.bias())
        bias = register_parameter("bias", linear->bias);
}

torch::Tensor LinearReluImpl::forward(const torch::Tensor& x)
{
    const bool kernel = x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 2
                        && weight.scalar_type() == torch::kFloat && x.size(1) == weight.size(1);
    if (kernel)
        return LinearReluFn::apply(x, weight, orEmpty(bias, weight), static_cast<int64_t>(m_activation), m_negativeSlope);
    torch::Tensor y = torch::linear(x, weight, bias);
    switch (m_activation) {
    case Activation::None: return y;
    case Activation::Relu: return torch::relu_(y);
    case Activation::LeakyRelu: return torch::leaky_relu_(y, m_negativeSlope);
    case Activation::Tanh: return torch::tanh(y);
    case Activation::Sigmoid: return torch::sigmoid(y);
    }
    return y;
}

} // namespace nnlab::detail
