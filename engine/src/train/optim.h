// Optimizers from OptimizerSpec: torch::optim objects, kept as the checkpoint format (the
// step itself runs in flat_optim).
#pragma once

#include "nnlab/spec.h"

#include <torch/torch.h>

#include <memory>

namespace nnlab::detail {

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const OptimizerSpec& spec,
                                                       std::vector<torch::Tensor> parameters);

} // namespace nnlab::detail
