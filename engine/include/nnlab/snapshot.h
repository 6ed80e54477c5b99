// Snapshots: what a run records beyond scalar metrics so that "Inside the network" replays
// for a stored run: decision boundaries of 2-D data, each small hidden layer's neurons on the
// same plane, weight and gradient histograms, and the validation confusion matrix. Plain
// values (no LibTorch, no Qt): the trainer's inspect hook makes them (spec.inspect), the
// Reporter hands them to TrainCallbacks::snapshots in batches, RunRecorder::addSnapshots
// queues them for the store's writer, and RunStore::snapshots reads them back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nnlab {

enum class SnapshotKind {
    // The model's class probabilities on a grid over the (2-feature) input plane.
    //   shape [classes, R, R]: values[(c * R + iy) * R + ix] is P(class c) at the centre of
    //   cell (ix, iy); ix runs from x_min to x_max (feature 0), iy from y_min to y_max
    //   (feature 1), so row 0 is the bottom of the plot. name "".
    //   meta {"resolution": R, "classes": C, "class_names": [...],
    //         "x": [x_min, x_max], "y": [y_min, y_max]               raw (unnormalized) units,
    //         "normalized_x": [..], "normalized_y": [..]}           what the network saw
    // The extent is the training data's range with a 15% margin on each side.
    DecisionBoundary,
    // One hidden layer's units on a coarser grid of the same plane (small MLPs only: the
    // first hidden layers of <= 16 units, up to 2 of them).
    //   shape [units, r, r], same cell order as DecisionBoundary; the activation after the
    //   layer's nonlinearity when one follows it, else the linear layer's output.
    //   name: the path of the layer whose output it is ("1" for the relu after linear "0").
    //   meta: the DecisionBoundary keys (x, y, normalized_x, normalized_y, resolution = r) plus
    //         {"units": U, "layer_type": "relu", "linear": "0"}
    NeuronBoundary,
    // Histogram of one conv2d/linear layer's weight tensor (bias not included).
    //   shape [bins]: counts (as floats). name: the layer path ("0", "3.body.0").
    //   meta {"edges": [bins + 1 increasing values], "tensor": "0.weight", "count": N}
    WeightHistogram,
    // The same for the gradient of that weight at the step (before clipping is not kept:
    // the gradient the optimizer used).
    GradientHistogram,
    // The validation split's confusion matrix at an evaluation (each epoch's end).
    //   shape [C, C]: values[t * C + p] = samples of true class t predicted as p (counts as
    //   floats). name "validation". meta {"classes": C, "class_names": [...], "epoch": E,
    //   "samples": N}
    ConfusionMatrix,
};

const char* toString(SnapshotKind kind);   // "decision_boundary", "neuron_boundary", "weight_histogram",
                                           // "gradient_histogram", "confusion_matrix"
std::optional<SnapshotKind> snapshotKindFromString(const std::string& text);

struct Snapshot {
    SnapshotKind kind = SnapshotKind::DecisionBoundary;
    std::string name;                // layer path, or "" (see each kind)
    int64_t step = 0;                // optimizer steps taken when it was made
    std::vector<int64_t> shape;      // row-major; the product is values.size()
    std::vector<float> values;
    std::string meta;                // compact JSON object, keys per kind above

    int64_t elementCount() const;    // product of shape (1 for an empty shape)
};

} // namespace nnlab
