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
    // drift: mean, standard deviation, and a 10-bin histogram over `histogramEdges` (11 edges
    // per unit, the training data's deciles, so each bin holds about a tenth of it).
    std::vector<float> rawMean;
    std::vector<float> rawStd;
    std::vector<std::vector<float>> histogramEdges;
    std::vector<float> classPrior;          // classification: fraction of training labels per class

    bool classification() const { return !classNames.empty(); }
    int64_t sampleSize() const;             // product of sampleShape
    int64_t units() const;                  // channels (images) or features: what the statistics are per
    int64_t unitOf(int64_t index) const;    // the unit of a sample's flat element index
};

// From loaded data: shape, normalization, class names, the reference statistics.
ModelInterface interfaceOf(const DataBundle& data);

std::string interfaceToJson(const ModelInterface& interface);
// Throws std::runtime_error naming the field when `json` is not an interface.
ModelInterface interfaceFromJson(const std::string& json);

// The spec completed for this interface: model.input and the output layer's width.
ExperimentSpec completeForInterface(const ExperimentSpec& spec, const ModelInterface& interface);

} // namespace nnlab
