// Decision-boundary pictures, as TensorFlow Playground draws them: each grid cell coloured by
// the class colours blended with the model's probabilities, paler where the model is unsure,
// and each hidden neuron's output on the same plane in a diverging orange-white-blue scale.
// Plain functions on the snapshots (nnlab/snapshot.h), so tests check them pixel by pixel.
#pragma once

#include "nnlab/snapshot.h"

#include <QColor>
#include <QImage>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace inspect {

// The colour of class `index`: Playground's orange and blue for the first two, then the rest
// of Tableau 10.
QColor classColour(int index);

// The plane a DecisionBoundary or NeuronBoundary snapshot covers, in raw feature units.
struct PlaneExtent {
    double xMin = -1, xMax = 1, yMin = -1, yMax = 1;
};

// A DecisionBoundary or NeuronBoundary snapshot, checked and unpacked.
struct BoundaryGrid {
    int64_t step = 0;
    QString name;              // NeuronBoundary: the layer path
    int channels = 0;          // classes, or units
    int resolution = 0;        // cells per side
    PlaneExtent extent;
    QStringList classNames;    // DecisionBoundary only, may be empty
    QString layerType;         // NeuronBoundary: "relu", ...
    std::vector<float> values; // [channels, R, R], row 0 at the bottom (snapshot.h)
};

// Nullopt with *error naming what is wrong (a shape that does not match, bad meta JSON).
std::optional<BoundaryGrid> unpackBoundary(const nnlab::Snapshot& snapshot, QString* error = nullptr);

// The probabilities of `grid` as an R x R image, image row 0 the top (largest y). Each cell is
// the probability-weighted mix of the class colours, moved towards white by `strength`
// (1 = the pure mix) and by the model's doubt (a uniform prediction is white), so a cell the
// model is sure of has its class's colour.
QImage boundaryImage(const BoundaryGrid& grid, double strength = 0.7);

// One unit's outputs as an R x R image (row 0 the top): orange for negative, blue for
// positive, white at 0, full colour at +-scale.
QImage neuronImage(const BoundaryGrid& grid, int unit, float scale);

// The largest absolute value of one unit's outputs (its colour scale); 0 when all are 0.
float unitScale(const BoundaryGrid& grid, int unit);

} // namespace inspect
