// How the compression lab measures a model (compress.h's ModelMeasurement): every method hands
// its result over as a MeasurableModel, the parent is measured through the same code in the
// same process, so every ratio compares like with like. Internal to nnlab_compress (LibTorch).
//
// For B (pruning), C (quantization), D (distillation): build a MeasurableModel of your result
// (floatModel() does it for any torch::nn::Sequential built from a spec), save its file, set
// filePath, and hand it to measureModel(). accuracyOf() is the evaluation measureModel uses,
// for accuracy-aware choices (C's max-drop) on MeasureData::validation.
#pragma once

#include "nnlab/compress.h"
#include "nnlab/experiment.h"
#include "session.h"

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace nnlab::compress {

using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

// One top-level layer of the model (a model.layers entry, by its state-dict name: "0", "3");
// run in order, the stages are the model's forward pass. Timing each gives the latency share.
struct ModelStage {
    std::string name;
    ForwardFn forward;
    bool quantized = false;     // runs in int8
};

// A model as the measurement sees it.
struct MeasurableModel {
    ExperimentSpec spec;        // completed (model.input set); its inspection gives per-layer
                                // MACs: a structurally pruned model's own, smaller spec
    std::vector<ModelStage> stages;
    // The weights as the model holds them (float, int8, or quantized tensors), by state-dict
    // name ("3.body.0.weight"); counted for parameters and non-zero parameters (a quantized
    // value is zero when it equals its zero point). Buffers (BatchNorm statistics) not included.
    std::vector<std::pair<std::string, torch::Tensor>> parameters;
    std::string filePath;       // the saved model; its size is file_bytes
};

// A float model built from `spec` (nnlab's own builder): stages are its top-level modules.
MeasurableModel floatModel(const ExperimentSpec& spec, torch::nn::Sequential model, const std::string& filePath = {});

// The experiment's own data, loaded, split and normalized as training does (every split is
// normalized with the training statistics), as tensors on the CPU.
struct MeasureData {
    detail::TensorSet train;        // calibration and fine-tuning samples come from here
    detail::TensorSet validation;   // empty when the experiment holds none out
    detail::TensorSet test;         // empty when the source has no test split
    bool classification = true;
    PreparedExperiment fitted;      // the experiment completed from its data
};
// Throws std::runtime_error naming the data when it cannot be loaded or does not fit.
MeasureData loadMeasureData(const ExperimentSpec& spec);

// Accuracy (0..1) of `forward` on `set`, in batches, under inference mode; -1 for an empty set
// or a regression target.
double accuracyOf(const ForwardFn& forward, const detail::TensorSet& set, bool classification, int64_t batch = 256);

// The model's forward pass: its stages in order.
torch::Tensor runStages(const MeasurableModel& model, const torch::Tensor& input);

struct MeasureOptions {
    int threads = 1;             // intra-op threads while timing (restored afterwards); >= 1
    int calls = 50;              // timed calls per batch size, after warm-up; >= 10
    int warmupCalls = 5;
};

// Accuracy on validation and test, parameters and non-zeros, file bytes, latency at batch 1
// and 64 (median and 10th/90th percentiles), throughput, and per-layer parameters, MACs and
// latency share. Batches are real test (else validation, else training) samples. Checks
// `control` between stages and returns early (the figures partial) when it is cancelled.
ModelMeasurement measureModel(const MeasurableModel& model, const MeasureData& data, const MeasureOptions& options,
                              const CompressProgressFn& progress = {}, TrainControl* control = nullptr);

// Several models measured as measureModel does, their timed calls interleaved (one call of
// each in turn), so that a load that comes and goes on a shared machine falls on all alike:
// compressRun measures the parent and its result together this way.
std::vector<ModelMeasurement> measureModels(const std::vector<const MeasurableModel*>& models, const MeasureData& data,
                                            const MeasureOptions& options, const CompressProgressFn& progress = {},
                                            TrainControl* control = nullptr);

// Percentiles of timed calls (milliseconds): the median and the 10th/90th (nearest rank).
LatencyFigure latencyOf(std::vector<double> millis, int64_t batch);

} // namespace nnlab::compress
