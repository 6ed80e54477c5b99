// Checkpoints: model parameters and buffers, the flat optimizer's state, the step and what
// the hooks need to continue (the learning-rate scale, the best metric so far). Written
// atomically (temporary file, fsync, rename, fsync of the folder), so a crash at any moment
// leaves the previous checkpoint or the new one, never a torn file.
#pragma once

#include "flat_optim.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace nnlab::detail {

// Checkpoint format 2 (format 1, before the flat optimizer saved itself, kept a
// torch::optim object's state; those files are refused with a message saying so).
inline constexpr int64_t kCheckpointFormat = 2;

struct CheckpointState {
    int64_t step = 0;                                          // optimizer steps taken
    double lrScale = 1.0;                                      // factor hooks applied to the schedule's rate
    double bestValue = std::numeric_limits<double>::quiet_NaN();   // best value of training.best_metric so far
};

void saveCheckpoint(const std::string& path, torch::nn::Module& model, const FlatOptimizer& optimizer,
                    const CheckpointState& state, uint64_t layoutHash);

// Loads into a model and optimizer built from the same prepared experiment (the optimizer
// is repacked, since loading replaces the parameters' storage). Throws std::runtime_error
// naming the file when it is unreadable, from another model or of an older format.
// `afterModelLoad` runs between loading the weights and repacking the optimizer (the
// execution's memory format is applied there).
CheckpointState loadCheckpoint(const std::string& path, torch::nn::Module& model, FlatOptimizer& optimizer,
                               uint64_t layoutHash, const std::function<void()>& afterModelLoad = {});

// The model's weights only (export, predict, serve): same checks as loadCheckpoint, without
// an optimizer. Throws std::runtime_error naming the file.
void loadCheckpointWeights(const std::string& path, torch::nn::Module& model, uint64_t layoutHash);

} // namespace nnlab::detail
