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
class LinearReluImpl : public torch::nn::Module {
public:
    LinearReluImpl(const torch::nn::LinearOptions& options, bool relu);
    torch::Tensor forward(const torch::Tensor& x);

    torch::Tensor weight, bias;

private:
    bool m_relu;
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
class BatchNormReluImpl : public torch::nn::Module {
public:
    explicit BatchNormReluImpl(const torch::nn::BatchNorm2dOptions& options);
    torch::Tensor forward(const torch::Tensor& x);
    // relu(batch_norm(x)) + skip in the same pass: the end of a residual block (builder.h).
    torch::Tensor forwardAdd(const torch::Tensor& x, const torch::Tensor& skip);

    torch::nn::BatchNorm2dOptions options;
    torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

private:
    // Evaluation mode without autograd, channels-last: one pass with the running statistics.
    bool evaluationKernelApplies(const torch::Tensor& x, const torch::Tensor& skip) const;
};
TORCH_MODULE(BatchNormRelu);

} // namespace nnlab::detail
