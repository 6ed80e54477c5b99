// Spec -> LibTorch module. One table maps each layer type to its builder; parameter names
// follow the spec ("3.body.0.weight", "3.shortcut.weight", "6.bias").
#pragma once

#include "nnlab/model_info.h"
#include "nnlab/spec.h"

#include <torch/torch.h>

namespace nnlab::detail {

// A residual block: body(x) + x, or body(x) + shortcut(x) with a learned projection.
class ResidualImpl : public torch::nn::Module {
public:
    ResidualImpl(torch::nn::Sequential body, torch::nn::AnyModule shortcut);
    torch::Tensor forward(torch::Tensor x);

private:
    torch::nn::Sequential m_body;
    torch::nn::AnyModule m_shortcut;   // empty when the shapes already match
};
TORCH_MODULE(Residual);

// Builds the network; throws std::invalid_argument with the validation problems when the
// spec does not validate (callers validate first, so this is a programming error guard).
torch::nn::Sequential buildModel(const ModelSpec& spec);

} // namespace nnlab::detail
