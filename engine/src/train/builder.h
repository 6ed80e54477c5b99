// Spec -> LibTorch module, the builder's second pass. Parameter names follow the spec
// ("3.body.0.weight", "3.shortcut.weight", "6.bias").
#pragma once

#include "nnlab/model_info.h"
#include "nnlab/spec.h"

#include <torch/torch.h>

namespace nnlab::detail {

class BatchNormReluImpl;

// A residual block: body(x) + x, or body(x) + shortcut(x) with a learned projection. When
// the body ends in a fused BatchNormRelu, the addition runs inside it (forwardAdd).
class ResidualImpl : public torch::nn::Module {
public:
    ResidualImpl(torch::nn::Sequential body, torch::nn::AnyModule shortcut);
    torch::Tensor forward(torch::Tensor x);

private:
    torch::nn::Sequential m_body;
    torch::nn::AnyModule m_shortcut;                // empty when the shapes already match
    std::shared_ptr<BatchNormReluImpl> m_fusedTail;  // the body's last module, when it adds
};
TORCH_MODULE(Residual);

// A Conv2d whose back end is picked per layer by measuring (tuning.cpp): oneDNN through
// torch::conv2d, or LibTorch's native im2col + GEMM kernel called directly, so that the
// choice also holds in the backward pass. On this class of CPU the two differ by several
// times per layer shape, in both directions, so one global oneDNN switch loses either way.
class TunedConv2dImpl : public torch::nn::Conv2dImpl {
public:
    TunedConv2dImpl(const torch::nn::Conv2dOptions& options, Shape inputShape);
    torch::Tensor forward(const torch::Tensor& x);
    bool nativeCapable() const;           // plain zero padding, no dilation or groups
    void setNative(bool native) { m_native = native && nativeCapable(); }
    bool native() const { return m_native; }
    const Shape& inputShape() const { return m_inputShape; }   // per sample
    // Depthwise layers (groups = channels) run nnlab's direct kernel (fused_depthwise.cpp)
    // where it applies. Off by default (about LibTorch's channels-last speed so far).
    void setDepthwiseKernel(bool on) { m_depthwiseKernel = on; }

private:
    bool m_native = false;
    bool m_depthwiseKernel = false;
    Shape m_inputShape;
};
TORCH_MODULE(TunedConv2d);

// Whether buildModel fuses by default: yes, unless NNLAB_FUSED_OPS=0 is set (for measuring
// the fused kernels against LibTorch's: tests/bench/README.md).
bool fusionEnabled();

// Builds the network from its validated spec and inspection (PreparedExperiment holds both):
// planModel (nnlab/build_plan.h) decides the modules, one table of layer types builds them.
// `fuse` substitutes the fused kernels of fused_ops.h where the plan allows.
torch::nn::Sequential buildModel(const ModelSpec& spec, const ModelInfo& info, bool fuse = fusionEnabled());
// For callers without a prepared experiment (tests, buildAndProbe): inspects the spec first
// and throws std::invalid_argument with its first problem.
torch::nn::Sequential buildModel(const ModelSpec& spec, bool fuse = fusionEnabled());

} // namespace nnlab::detail
