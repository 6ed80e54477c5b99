// LinearRelu (fused_ops.h): Linear (+ ReLU) as one autograd node.
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

// ---------------------------------------------------------------------------------------
// Linear (+ ReLU)

struct LinearReluFn : public torch::autograd::Function<LinearReluFn> {
    // bias: empty when absent
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias, bool relu)
    {
        torch::Tensor y = bias.numel() ? at::addmm(bias, x, weight.t()) : at::mm(x, weight.t());
        if (relu)
            y.clamp_min_(0.0);
        ctx->save_for_backward({x, weight, relu ? y : torch::Tensor()});
        ctx->saved_data["relu"] = relu;
        ctx->saved_data["bias"] = bias.numel() > 0;
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& weight = saved[1];
        // below the ReLU: the gradient where its output is > 0 (threshold_backward, as relu's)
        const torch::Tensor g = ctx->saved_data["relu"].toBool() ? at::threshold_backward(grads[0], saved[2], 0.0) : grads[0];
        torch::Tensor gx, gWeight, gBias;
        if (ctx->needs_input_grad(0))
            gx = at::mm(g, weight);
        if (ctx->needs_input_grad(1))
            gWeight = at::mm(g.t(), x);
        if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2))
            gBias = g.sum(0);
        return {gx, gWeight, gBias, torch::Tensor()};
    }
};

} // namespace

LinearReluImpl::LinearReluImpl(const torch::nn::LinearOptions& options, bool relu) : m_relu(relu)
{
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
        return LinearReluFn::apply(x, weight, orEmpty(bias, weight), m_relu);
    torch::Tensor y = torch::linear(x, weight, bias);
    return m_relu ? torch::relu_(y) : y;
}

} // namespace nnlab::detail
