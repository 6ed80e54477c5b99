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
};

// Infers shapes through the model, appending problems with their paths.
ModelInfo inspectModel(const ModelSpec& model, Problems& problems);

// Every value check of the experiment plus shape inference and the fit between the model's
// output, the loss and (where known without reading files) the data.
Problems validateExperiment(const ExperimentSpec& spec);

// Number of classes a source has when known without reading files; 0 otherwise.
int64_t knownClassCount(const DataSpec& data);

} // namespace nnlab
