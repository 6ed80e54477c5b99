// The network run layer by layer as its spec describes it, from named tensors, so that every
// layer's output can be looked at. The trained module (builder.h) fuses and reorders layers
// (build_plan.h): its modules' outputs are not the spec's layers'. This forward is the spec's
// semantics in LibTorch's functional ops, reading the parameters and buffers by state-dict
// name, so it needs no second module (building one would draw from LibTorch's global
// generator, which concurrent trainers share) and works on exported weights too.
//
// Dropout is the identity here (eval or not): inspection must not draw random numbers.
// `training` picks batch normalization's statistics: the batch's (as the training step
// sees them, nothing updated) or the running ones (as prediction does).
#pragma once

#include "nnlab/spec.h"

#include <torch/torch.h>

#include <functional>
#include <string>
#include <unordered_map>

namespace nnlab::detail {

using TensorMap = std::unordered_map<std::string, torch::Tensor>;

// A module's parameters and buffers by state-dict name, detached (they alias the module's).
TensorMap moduleTensors(torch::nn::Module& module);

// A layer's state-dict path in its list: "<prefix><name or index>".
std::string layerPath(const std::string& prefix, const LayerSpec& layer, size_t index);

// Called after each layer with its path ("3", "3.body.0"), spec and output. Return false to
// stop the forward pass there (the function then returns that output).
using LayerVisitor = std::function<bool(const std::string& path, const LayerSpec& layer, const torch::Tensor& output)>;

// Runs `layers` on x (a batch), calling `visit` after each top-level layer and each layer of a
// residual block's body (a block's own output after its body's). Throws std::runtime_error
// for a tensor missing from `tensors`.
torch::Tensor specForward(const std::vector<LayerSpec>& layers, torch::Tensor x, const TensorMap& tensors,
                          bool training, const LayerVisitor& visit = {});

} // namespace nnlab::detail
