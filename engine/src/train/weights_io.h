// Plain named tensors (nnlab/safetensors.h) into and out of a built LibTorch module, by
// state-dict name: parameters, then buffers (BatchNorm running statistics).
#pragma once

#include "nnlab/safetensors.h"

#include <torch/torch.h>

#include <vector>

namespace nnlab::detail {

std::vector<NamedTensor> weightsOf(torch::nn::Module& model);

// Copies every parameter and buffer of `model` from `tensors`; throws std::runtime_error
// naming a tensor that is missing or of another shape.
void loadWeightsInto(torch::nn::Module& model, const std::vector<NamedTensor>& tensors);

} // namespace nnlab::detail
