// What a trained model takes and answers, in the raw units a user has: the per-sample shape,
// the training data's normalization (applied inside predict, serve and every export, so raw
// pixels 0..255 or raw CSV values go in), the class names and the raw inputs' statistics that
// drift monitors compare live traffic with. Recorded with the run when training starts (the
// run's info JSON, key "interface"), so a run can be exported and served without its data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nnlab {

struct DataBundle;
struct ExperimentSpec;

struct ModelInterface {
    std::vector<int64_t> sampleShape;       // per sample: {F} or {C, H, W}
    bool images = false;                    // sampleShape is {C, H, W}
    // x' = (x - inputShift[i]) / inputScale[i], per channel (images) or per feature; empty = none.
    std::vector<float> inputShift;
    std::vector<float> inputScale;
    std::vector<std::string> classNames;    // classification: one per output; empty for regression
    int64_t outputs = 0;                    // model outputs: classes, or regression targets
    // Reference statistics of the raw training inputs, per channel (images) or feature, for
    // drift: mean, standard deviation, and a histogram whose bins are cut at the training
    // data's deciles (`histogramEdges`: up to 9 increasing cuts per unit, ties merged, so a
    // unit has cuts + 1 bins) with the share of training values in each (`histogramFractions`).
    std::vector<float> rawMean;
    std::vector<float> rawStd;
    std::vector<std::vector<float>> histogramEdges;
    std::vector<std::vector<float>> histogramFractions;
    // The input drift statistic (inputDrift below) of windows of 100 training samples against
    // the whole training set, averaged: what sampling alone gives. For a window of n samples
    // it scales as 100 / n (PSI is about chi-squared / n).
    double inputPsiAt100 = 0.0;
    std::vector<float> classPrior;          // classification: fraction of training labels per class

    bool classification() const { return !classNames.empty(); }
    int64_t sampleSize() const;             // product of sampleShape
    int64_t units() const;                  // channels (images) or features: what the statistics are per
    int64_t unitOf(int64_t index) const;    // the unit of a sample's flat element index
};

// The bin of `value` among increasing `cuts`: 0 .. cuts.size().
size_t binOf(const std::vector<float>& cuts, float value);

// Population stability index sum((a - e) * ln(a / e)) of `actual` shares against `expected`
// ones, each share floored at 1e-4 so an empty bin stays finite. < 0.1 is commonly read as no
// shift, > 0.25 as a large one.
double populationStability(const std::vector<float>& expected, const std::vector<float>& actual);

// Input drift of `count` raw samples: the population stability index of each unit's values
// over the interface's bins against the training shares, averaged over units.
double inputDrift(const ModelInterface& interface, const float* raw, int64_t count);

// From loaded data: shape, normalization, class names, the reference statistics.
ModelInterface interfaceOf(const DataBundle& data);

std::string interfaceToJson(const ModelInterface& interface);
// Throws std::runtime_error naming the field when `json` is not an interface.
ModelInterface interfaceFromJson(const std::string& json);

// The spec completed for this interface: model.input and the output layer's width.
ExperimentSpec completeForInterface(const ExperimentSpec& spec, const ModelInterface& interface);

} // namespace nnlab
