// A trained model out of the store: its completed experiment, its interface (model_interface.h)
// and its weights as plain tensors, and a Predictor that runs it on raw inputs. Exports,
// `predict`, `serve` and the GUI's drop-an-image all start here.
#pragma once

#include "nnlab/model_interface.h"
#include "nnlab/safetensors.h"
#include "nnlab/spec.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nnlab {

class RunStore;

enum class CheckpointChoice {
    Best,      // the best checkpoint (training.best_metric) when the run has one, else the latest
    Latest,    // the latest checkpoint
};

struct TrainedWeights {
    std::string runId;
    std::string runName;
    ExperimentSpec spec;                 // completed for the interface: model.input and outputs set
    ModelInterface interface;
    // Parameters and buffers (BatchNorm running statistics) under their state-dict names:
    // the layer's name or index, "3.body.0.weight", "3.shortcut.weight" (see builder.h).
    std::vector<NamedTensor> tensors;
    std::string checkpointPath;          // the file they came from; empty when from safetensors
};

// Loads a run's weights. The interface comes from the run's record, or, for runs recorded
// before nnlab kept it, from loading the run's data again. Throws std::runtime_error naming
// the run: no such run, no checkpoint, a checkpoint that does not match the experiment.
TrainedWeights loadTrainedWeights(const RunStore& store, const std::string& runIdOrPrefix,
                                  CheckpointChoice choice = CheckpointChoice::Best);

// Weights from a safetensors file written by `export` (experiment and interface in its
// metadata), or matched against `spec` when the file has no experiment. Throws naming the
// file and the first tensor that is missing, unexpected or of the wrong shape.
TrainedWeights weightsFromSafetensors(const std::string& path);

// Checks that `tensors` fit the network of `spec` (completed): every parameter and buffer
// present, each shape right, nothing extra. Returns one problem a line, empty when they fit.
std::string checkWeightsFit(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors);

// Weights evaluated on an experiment's own data (loaded, split and normalized as training
// does), on its validation and test splits: `nnlab-cli evaluate`.
struct WeightsEvaluation {
    std::string split;        // "validation", "test"
    int64_t samples = 0;
    double loss = 0.0;
    double accuracy = -1.0;   // -1 for regression
};
// Throws std::runtime_error: the data cannot be loaded, or the weights do not fit the model
// (the tensors named, as checkWeightsFit does).
std::vector<WeightsEvaluation> evaluateWeights(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors);

enum class PredictOutput {
    Probabilities,   // classification: softmax over classes; regression: the outputs
    Logits,          // the network's raw outputs
};

// Runs a trained model on raw inputs (normalized inside, as in training), in evaluation
// mode without gradients. predict() may be called from several threads at once.
class Predictor {
public:
    // `threads` 0 = LibTorch's default for this process.
    explicit Predictor(const TrainedWeights& weights, int threads = 0);
    ~Predictor();
    Predictor(const Predictor&) = delete;
    Predictor& operator=(const Predictor&) = delete;

    const ModelInterface& interface() const;
    const ExperimentSpec& spec() const;
    int64_t outputs() const;

    // `raw`: count x sampleSize values, row-major. Returns count x outputs() values.
    std::vector<float> predict(const float* raw, int64_t count,
                               PredictOutput output = PredictOutput::Probabilities) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace nnlab
