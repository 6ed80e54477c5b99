// Validation and shape inference before any tensor exists: per-layer output shapes,
// parameter counts and multiply-accumulates, and every problem with its JSON path.
#pragma once

#include "nnlab/spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nnlab {

using Shape = std::vector<int64_t>;
std::string shapeText(const Shape& shape);   // "[16, 14, 14]"

struct LayerInfo {
    std::string path;        // "model.layers[3].layers[0]"
    std::string name;        // parameter prefix in checkpoints: "3.body.0"
    std::string type;        // "conv2d", or "shortcut" for a residual's projection
    int depth = 0;           // nesting level (0 = top)
    Shape inputShape;
    Shape outputShape;       // empty when the layer could not be inferred
    int64_t parameters = 0;
    int64_t macs = 0;        // multiply-accumulates per sample
    bool ok = true;          // false for the layer a problem points at
};

struct ModelInfo {
    std::vector<LayerInfo> layers;   // depth-first: a residual row, its body, then its shortcut
    Shape outputShape;
    int64_t parameters = 0;
    int64_t macs = 0;
    bool ok = true;
    // False when shapes wait for the data (model.input omitted, or the output layer's size left
    // to it): the rows from there on have no shapes, parameters or MACs, and that is no problem.
    bool shapesKnown = true;
};

// Infers shapes through the model, appending problems with their paths.
ModelInfo inspectModel(const ModelSpec& model, Problems& problems);

// True when the model leaves its input shape or its output size to the data.
bool dependsOnData(const ModelSpec& model);

// The spec with what it leaves to the data filled in: an empty model.input becomes
// `sampleShape`, and an out_features of 0 on the output layer becomes `numClasses`
// (cross_entropy) or `targetDim` (mse) when that is > 0. Everything else is unchanged, so a
// mismatch with the data is still reported by whoever checks the fit.
ExperimentSpec completeFromData(const ExperimentSpec& spec, const Shape& sampleShape, int64_t numClasses,
                                int64_t targetDim);

// Every value check of the experiment plus shape inference and the fit between the model's
// output, the loss and (where known without reading files) the data. What the model leaves to
// the data is no problem: a built-in source fills it in (its sample shape and classes are
// known), otherwise the shapes that depend on it stay unknown.
// `model`, when given, receives the inspection of spec.model done on the way (completed from
// the built-in source's shape and classes).
Problems validateExperiment(const ExperimentSpec& spec, ModelInfo* model = nullptr);

// Number of classes a source has when known without reading files; 0 otherwise.
int64_t knownClassCount(const DataSpec& data);

} // namespace nnlab
