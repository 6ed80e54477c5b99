#include "optim.h"

#include <stdexcept>

namespace nnlab::detail {

namespace optim = torch::optim;

std::unique_ptr<optim::Optimizer> makeOptimizer(const OptimizerSpec& s, std::vector<torch::Tensor> params)
{
    if (s.type == "sgd")
        return std::make_unique<optim::SGD>(params, optim::SGDOptions(s.lr).momentum(s.momentum)
                                                        .nesterov(s.nesterov).weight_decay(s.weightDecay));
    if (s.type == "adam")
        return std::make_unique<optim::Adam>(params, optim::AdamOptions(s.lr).betas({s.beta1, s.beta2})
                                                         .eps(s.eps).weight_decay(s.weightDecay));
    if (s.type == "adamw")
        return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(s.lr).betas({s.beta1, s.beta2})
                                                          .eps(s.eps).weight_decay(s.weightDecay));
    if (s.type == "rmsprop")
        return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions(s.lr).alpha(s.alpha).eps(s.eps)
                                                            .weight_decay(s.weightDecay).momentum(s.momentum));
    throw std::invalid_argument("optimizer.type: unknown optimizer \"" + s.type + "\"");
}

} // namespace nnlab::detail
