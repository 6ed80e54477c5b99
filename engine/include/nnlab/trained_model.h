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
    // A compression result without a checkpoint: the model file its run recorded (dense or
    // sparse safetensors) that the tensors came from; empty otherwise.
    std::string modelFilePath;
};

// The model file a compression result recorded (its newest artifact of kind "model") and what
// the file holds; kind None when the run recorded none. `method` is the "compression"
// artifact's method name ("prune", "prune-structured", "int8-static", ...), empty when unknown.
enum class ModelFileKind { None, Float, Sparse, Int8 };
struct RunModelFile {
    ModelFileKind kind = ModelFileKind::None;
    std::string path;
    std::string method;
};
// Throws std::runtime_error naming the run or the file: no such run, a file that is gone or unreadable.
RunModelFile runModelFile(const RunStore& store, const std::string& runIdOrPrefix);

// Loads a run's weights. The interface comes from the run's record, or, for runs recorded
// before nnlab kept it, from loading the run's data again. A run without a checkpoint that
// recorded a float model file (a compression result not fine-tuned: pruned, dense or sparse)
// loads from that file, with the run's own (possibly smaller) experiment. Throws
// std::runtime_error naming the run: no such run, no checkpoint and no float model file (an
// int8 result's message names its file and what works instead), weights that do not match
// the experiment.
TrainedWeights loadTrainedWeights(const RunStore& store, const std::string& runIdOrPrefix,
                                  CheckpointChoice choice = CheckpointChoice::Best);

// Weights from a safetensors file written by `export` or by a compression (experiment and
// interface in its metadata; sparse files expanded, see safetensors.h). Throws naming the
// file and the first tensor that is missing, unexpected or of the wrong shape; an int8 model
// file (nnlab.int8/1) is refused with what works instead.
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
