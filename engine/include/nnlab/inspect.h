// Inside the network, on demand: a trained model's feature maps for one input, and its
// confusion report on the validation split with the examples behind each cell. (What a run
// records while it trains is in snapshot.h and spec.h's InspectSpec.) Plain values, no
// LibTorch types; every function runs the model on the calling thread, in evaluation mode
// without gradients, and throws std::runtime_error with a message naming what is wrong.
#pragma once

#include "nnlab/snapshot.h"
#include "nnlab/trained_model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nnlab {

// A layer whose output featureMaps can show: every top-level layer and every layer of a
// residual block's body, in model order.
struct InspectableLayer {
    std::string path;                   // state-dict path: "0", "3", "3.body.0"
    std::string type;                   // "conv2d", "relu", "residual", ...
    std::vector<int64_t> outputShape;   // per sample: [channels, h, w] or [features]
};
std::vector<InspectableLayer> inspectableLayers(const TrainedWeights& weights);

struct FeatureMaps {
    std::string layerPath;
    std::string layerType;
    // [channels, h, w] for an image-shaped output (one map a channel), else [features].
    std::vector<int64_t> shape;
    std::vector<float> values;          // row-major, shape's product
    std::vector<float> minimum;         // per channel (or one for [features]): for colouring
    std::vector<float> maximum;
};
// The output of `layerPath` for one raw input (interface.sampleShape values, unnormalized:
// normalized inside as in training). Throws for an unknown layer path (naming the valid
// ones) or an input of the wrong size.
FeatureMaps featureMaps(const TrainedWeights& weights, const std::string& layerPath, const std::vector<float>& rawInput);

// The weights of the first conv2d layer as images, for a filter grid: [out, in, kh, kw].
// Empty shape when the model has no conv2d layer.
struct FilterBank {
    std::string layerPath;
    std::vector<int64_t> shape;
    std::vector<float> values;
};
FilterBank firstLayerFilters(const TrainedWeights& weights);

// Per-class precision and recall of a confusion matrix (row = true class, column =
// predicted, classes x classes counts). A class never predicted has precision 0; one with
// no samples recall 0.
struct ClassScores {
    std::vector<double> precision;
    std::vector<double> recall;
    double accuracy = 0.0;
    int64_t samples = 0;
};
ClassScores classScores(const std::vector<float>& matrix, int64_t classes);

struct ConfusionExample {
    int64_t index = 0;                  // position in the validation split
    std::vector<float> raw;             // the raw input (pixels 0..255, CSV values), sampleShape
    float probability = 0.0f;           // the predicted class's probability
    float trueProbability = 0.0f;       // the true class's probability
};

struct ConfusionOptions {
    int64_t examplesPerCell = 24;       // at most this many examples kept per cell, most confident first
    bool correctExamples = false;       // also keep examples of the diagonal cells
};

struct ConfusionReport {
    int64_t classes = 0;
    std::vector<std::string> classNames;
    std::vector<int64_t> sampleShape;   // of each example's raw values
    std::vector<float> matrix;          // classes x classes counts, row = true class, column = predicted
    ClassScores scores;
    // Per cell (t * classes + p): its examples. Off-diagonal cells are the misclassified.
    std::vector<std::vector<ConfusionExample>> examples;
};
// Runs the model over the experiment's validation split (its data loaded, split and
// normalized as training did). Throws for a regression model, an experiment with
// validation_fraction 0, or data that cannot be loaded.
ConfusionReport confusionReport(const TrainedWeights& weights, const ConfusionOptions& options = {});

} // namespace nnlab
