// Checkpoints: model parameters and buffers, optimizer state and the step count, written
// atomically so a crash mid-write leaves the previous checkpoint intact.
#pragma once

#include <torch/torch.h>

#include <string>

namespace nnlab::detail {

void saveCheckpoint(const std::string& path, torch::nn::Module& model,
                    torch::optim::Optimizer& optimizer, int64_t step, uint64_t specHash);

// Loads into model and optimizer (built from the same spec) and returns the step.
// Throws std::runtime_error naming the file when it is unreadable or from another model.
int64_t loadCheckpoint(const std::string& path, torch::nn::Module& model,
                       torch::optim::Optimizer& optimizer, uint64_t specHash);

} // namespace nnlab::detail
