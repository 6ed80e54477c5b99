// The builder's first pass, with no LibTorch: from the layer list and its inferred shapes,
// decide which modules the network is built from. It is where every rewrite is decided, so
// it can be unit-tested and shown; the second pass (engine/src/train/builder.cpp) only turns
// each planned module into a LibTorch module from one table of layer types.
//
// Two kinds of rewrite, both leaving outputs, gradients and parameter names unchanged:
// - fusion (engine/src/train/fused_ops.h): the model's first stride-1 conv2d with 2x2 max-
//   pooling (and a ReLU, in either order) becomes one ConvPool2x2 under the convolution's
//   name; 2x2 max-pooling next to a ReLU (either order: max(relu(a), ...) = relu(max(a, ...)))
//   one MaxPool2x2 under the pooling layer's name; every batchnorm1d/2d (with the ReLU or
//   leaky ReLU after it, and on flat samples a dropout after those) one BatchNormRelu and a
//   linear layer (with the ReLU, leaky ReLU, tanh or sigmoid after it) one LinearRelu, under
//   the first layer's name;
// - reordering: an increasing activation followed by max-pooling runs after the pooling, so
//   it sees a quarter of the elements (2x2 pooling), forward and backward.
// And one memory rule: a ReLU (or leaky ReLU) works in place when what runs just before it
// writes a fresh tensor whose backward pass does not need that output.
#pragma once

#include "nnlab/model_info.h"
#include "nnlab/spec.h"

#include <string>
#include <vector>

namespace nnlab {

enum class PlannedKind {
    Layer,           // the layer's own module, from the builder table
    ConvPool2x2,     // first conv2d (+ ReLU) + 2x2 max-pool as one kernel
    MaxPool2x2,      // 2x2 max-pool kernel (+ ReLU when `relu`)
    LinearRelu,      // linear (+ ReLU when `relu`, or `activation`) as one autograd node
    BatchNormRelu,   // batchnorm1d/2d [+ ReLU or leaky ReLU] (+ the residual add when it ends a block)
    Residual,        // a residual block: `body`, and a projection when `shortcut`
    ActAvgPool,      // [ReLU or `activation` +] avgpool2d as one kernel, under the pooling layer's name
};

// An activation fused into the module before it, other than ReLU (PlannedModule::relu):
// BatchNormRelu takes LeakyRelu, LinearRelu every one.
enum class FusedActivation { None, LeakyRelu, Tanh, Sigmoid };

struct PlannedModule {
    PlannedKind kind = PlannedKind::Layer;
    size_t layer = 0;            // index (in its list) of the spec layer whose name and options it takes
    size_t count = 1;            // spec layers it computes (ConvPool2x2: 2 or 3, fused pairs: 2)
    std::string name;            // module name: the layer's name, else its index
    std::string path;            // that layer's JSON path: "model.layers[3]"
    Shape inputShape;            // that layer's input, per sample
    bool relu = false;           // a fused ReLU
    FusedActivation activation = FusedActivation::None;   // with `relu` false: another fused activation
    double negativeSlope = 0.0;  // FusedActivation::LeakyRelu's
    double dropout = 0.0;        // BatchNormRelu on flat samples: a fused dropout's p (0: none)
    bool inplace = false;        // Layer relu / leaky_relu: overwrite the input
    std::vector<PlannedModule> body;   // Residual: the body's plan
    bool shortcut = false;       // Residual: a learned projection (shapes differ)
    Shape shortcutInput;         // Residual with shortcut: the block's input ...
    Shape shortcutOutput;        // ... and output shapes
};

// `model` is inspectModel(spec) without problems. `fuse` false plans plain LibTorch modules
// (the reordering and the in-place rule still apply).
std::vector<PlannedModule> planModel(const ModelSpec& spec, const ModelInfo& model, bool fuse);

// One line per module, nested blocks indented ("0 conv_pool2x2+relu", "3 relu inplace"), for
// tests and for a developer reading what was built.
std::string describePlan(const std::vector<PlannedModule>& plan, const std::vector<LayerSpec>& layers);

} // namespace nnlab
