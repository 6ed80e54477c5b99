// The one place that chooses where tensors live. Debian's LibTorch is CPU-only; a CUDA
// build of LibTorch makes "auto" pick the GPU with no other change.
#pragma once

#include <torch/torch.h>

#include <string>

namespace nnlab::detail {

// "auto" = CUDA device 0 when LibTorch has it and a GPU is present, else CPU. "cuda" is
// "cuda:0"; "cuda:N" a given device. Asking for a CUDA device that is not there
// throws std::runtime_error with a message for the user.
torch::Device selectDevice(const std::string& preference);

} // namespace nnlab::detail
