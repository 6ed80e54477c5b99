// Fused CPU kernels for the patterns that dominate small CNNs once the convolutions are fast.
//
// The builder (builder.cpp) substitutes these modules where a spec's layer sequence matches;
// parameter and buffer names do not change, so checkpoints and stored runs are unaffected.
// Every module falls back to LibTorch's own operators for inputs the kernels do not cover
// (other devices, dtypes or ranks), so a CUDA build behaves exactly as before.
#pragma once

#include <torch/torch.h>

namespace nnlab::detail {

// Max pooling over 2x2 windows with stride 2 (no padding, floor mode), optionally followed by
// ReLU, as one operator. LibTorch's max_pool2d keeps an int64 index per output, zero-fills
// the whole input gradient and then scatters into it, and on channels-last tensors copies
// the incoming gradient first; a ReLU adds a pass forward and a threshold pass backward.
// Here the forward pass writes the output and a one-byte code per output (which of the four
// inputs won, or "clipped by the ReLU"), and the backward pass writes every input gradient
// once. Results are identical to max_pool2d (+ relu): the same element wins ties (the first
// in scan order; NaN wins), and the gradient is routed, not computed.
class MaxPool2x2Impl : public torch::nn::Module {
public:
    explicit MaxPool2x2Impl(bool relu) : m_relu(relu) {}
    torch::Tensor forward(const torch::Tensor& x);
    bool relu() const { return m_relu; }

private:
    bool m_relu;
};
TORCH_MODULE(MaxPool2x2);

// Linear, optionally followed by ReLU, as one autograd node on 2-D CPU float inputs: the
// same matrix products as LibTorch's linear, without the transposes, the separate ReLU node
// and their operator calls, which is most of a small MLP's step. No input gradient is
// computed for the data. Parameters keep Linear's names ("weight", "bias") and initial
// values; other inputs run linear and relu.
//
// Other activations the same way (`activation`), each with its gradient read from the
// output: leaky ReLU (slope >= 0), tanh and sigmoid.
class LinearReluImpl : public torch::nn::Module {
public:
    enum class Activation { None, Relu, LeakyRelu, Tanh, Sigmoid };
    LinearReluImpl(const torch::nn::LinearOptions& options, bool relu);
    LinearReluImpl(const torch::nn::LinearOptions& options, Activation activation, double negativeSlope = 0.0);
    torch::Tensor forward(const torch::Tensor& x);

    torch::Tensor weight, bias;

private:
    Activation m_activation;
    double m_negativeSlope;   // LeakyRelu
};
TORCH_MODULE(LinearRelu);

// The first layer of many image models, Conv2d -> [ReLU ->] 2x2 max-pooling (either order of
// ReLU and pooling), as one operator for inputs that need no gradient (the data). LibTorch
// writes the full-resolution convolution output, pools it, and in the backward pass
// scatters the pooled gradient back to full resolution for the weight gradient, in which
// three of every four terms are zero. Here each pooled output computes its four convolution
// outputs in registers, keeps the maximum and a code for the winner, and the weight
// gradient is summed over the winners only. Supports stride 1, no dilation, one group and
// zero padding (the builder checks); other inputs, devices and dtypes, and inputs that need
// a gradient, run conv2d, relu and max_pool2d instead. Parameters keep Conv2d's names
// ("weight", "bias") and initial values.
class ConvPool2x2Impl : public torch::nn::Module {
public:
    ConvPool2x2Impl(const torch::nn::Conv2dOptions& options, bool relu);
    torch::Tensor forward(const torch::Tensor& x);
    // The output's memory format (the kernel computes NHWC; NCHW costs a copy), set with the
    // execution's (tuning.cpp): the input cannot tell, having one channel as a rule.
    void setChannelsLast(bool channelsLast) { m_channelsLast = channelsLast; }

    torch::nn::Conv2dOptions options;
    torch::Tensor weight, bias;

private:
    int64_t padding() const;
    bool m_relu;
    bool m_channelsLast = false;
};
TORCH_MODULE(ConvPool2x2);

// BatchNorm2d followed by ReLU, as one operator: in training, the batch statistics and the
// output in two passes; in evaluation without autograd, one pass with the running statistics;
// for inputs the kernels do not cover, LibTorch's batch_norm and relu. Forward makes
// one pass for the batch statistics and one for the output; backward one pass for the two
// per-channel sums and one for the input gradient, with the ReLU mask read from the saved
// output. Running statistics and the affine parameters keep BatchNorm2d's names
// ("weight", "bias", "running_mean", "running_var", "num_batches_tracked").
//
// The same kernels serve BatchNorm1d on [N, C] inputs (the same rows of C channels) and
// batch normalization alone or followed by leaky ReLU (`activation`), and on [N, C] inputs a
// dropout after that (its noise drawn as dropout draws it, applied in the same pass): the
// planner fuses every batchnorm1d/2d layer (build_plan.h).
class BatchNormReluImpl : public torch::nn::Module {
public:
    enum class Activation { None, Relu, LeakyRelu };
    // dropout: the p of a dropout layer after the activation, applied in training (0: none)
    explicit BatchNormReluImpl(const torch::nn::BatchNorm2dOptions& options, Activation activation = Activation::Relu,
                               double negativeSlope = 0.0, double dropout = 0.0);
    torch::Tensor forward(const torch::Tensor& x);
    // act(batch_norm(x)) + skip in the same pass: the end of a residual block (builder.h).
    torch::Tensor forwardAdd(const torch::Tensor& x, const torch::Tensor& skip);

    torch::nn::BatchNorm2dOptions options;
    torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

private:
    // Evaluation mode without autograd, channels-last: one pass with the running statistics.
    bool evaluationKernelApplies(const torch::Tensor& x, const torch::Tensor& skip) const;
    Activation m_activation;
    double m_negativeSlope;   // LeakyRelu
    double m_dropout;         // in [0, 1)
};
TORCH_MODULE(BatchNormRelu);

// Cross-entropy with the mean over the batch (torch::nn::functional::cross_entropy's
// defaults) as one autograd node for [N, K] CPU float logits and int64 targets in [0, K)
// (fused_loss.cpp); other inputs run cross_entropy itself.
torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& target);

// An activation (none, ReLU, leaky ReLU, tanh, sigmoid) followed by average pooling (any
// square kernel, stride and padding; count_include_pad, floor mode), as one operator
// (fused_act_pool.cpp): the forward pass writes only the pooled output, the backward pass
// recomputes the activation from the saved input and writes each input gradient once.
// Other inputs run LibTorch's activation and avg_pool2d. No parameters.
class ActAvgPoolImpl : public torch::nn::Module {
public:
    enum class Activation { None, Relu, LeakyRelu, Tanh, Sigmoid };
    ActAvgPoolImpl(const torch::nn::AvgPool2dOptions& options, Activation activation, double negativeSlope = 0.0);
    torch::Tensor forward(const torch::Tensor& x);
    bool kernelApplies(const torch::Tensor& x) const;

    torch::nn::AvgPool2dOptions options;

private:
    Activation m_activation;
    double m_negativeSlope;
};
TORCH_MODULE(ActAvgPool);

// Depthwise convolution (groups = input = output channels, square 3x3 or 5x5 kernel, no
// dilation, zero padding) forward and backward as direct channels-last loops
// (fused_depthwise.cpp); TunedConv2d calls it where depthwiseKernelApplies. The output and
// the input gradient keep the input's memory format.
bool depthwiseKernelApplies(const torch::Tensor& x, const torch::Tensor& weight, int64_t groups, int64_t stride,
                            int64_t padding, int64_t dilation);
torch::Tensor depthwiseConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              int64_t stride, int64_t padding);

} // namespace nnlab::detail
