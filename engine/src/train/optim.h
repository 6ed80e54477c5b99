// Optimizers from OptimizerSpec, and the learning rate set each step from the schedule.
#pragma once

#include "nnlab/spec.h"

#include <torch/torch.h>

#include <memory>

namespace nnlab::detail {

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const OptimizerSpec& spec,
                                                       std::vector<torch::Tensor> parameters);
void setLearningRate(torch::optim::Optimizer& optimizer, double lr);

} // namespace nnlab::detail
