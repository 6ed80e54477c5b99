// Int8 quantization of a trained nnlab model through LibTorch's quantized CPU back end
// (onednn / qnnpack / fbgemm kernels, the ones torch.ao's eager mode calls).
//
// A QuantizedModel is built from the completed spec and the float weights by state-dict name:
// - BatchNorm that follows a conv2d (or batchnorm1d after a linear) is folded into it, and a
//   ReLU after a conv2d / linear is fused (quantized::conv2d_relu / linear_relu);
// - activations are quantized (quint8, per tensor) at the first int8 layer and dequantized where
//   a float layer follows; pooling, flatten, dropout and ReLU run on int8 tensors as they come;
// - a residual block whose two branches arrive in int8 adds them with quantized::add, else in float;
// - static mode calibrates every activation's range (min/max) on sample inputs; dynamic mode
//   quantizes the linear layers' weights only and their inputs per call (quantized::linear_dynamic).
// Per layer it is int8 or float ("fallback": floatLayers, max-drop), and an int8 layer may still
// run its dequantized weights in float at the batch sizes where that measured faster (the file
// keeps its int8 weights). Internal to nnlab_compress (LibTorch types).
#pragma once

#include "nnlab/compress.h"
#include "nnlab/safetensors.h"
#include "nnlab/spec.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nnlab::detail {

// What the quantized back end of this build offers, and which Auto picks.
std::vector<QuantEngine> supportedQuantEngines();        // in preference order: OneDnn, Fbgemm, Qnnpack
QuantEngine resolveQuantEngine(QuantEngine requested);   // throws std::runtime_error when unsupported
const char* quantEngineName(QuantEngine engine);         // "onednn", "qnnpack", "fbgemm", "auto"

// Options beyond compress.h's QuantizeOptions (ask A to surface them if the CLI needs them).
struct QuantizeExtras {
    std::vector<std::string> int8Layers;   // forced to int8: a layer there that the back end cannot
                                           // run (not conv2d / linear / a projection) is an error
    int timingThreads = 1;                 // intra-op threads while choosing per layer by timing
    int timingCalls = 15;                  // timed calls per candidate (median), after 3 warm-up
    std::vector<int64_t> timingBatches{1, 8, 64};   // batch sizes the per-layer choice is made at
    double activationPercentile = 1.0;     // 1 = min/max ranges; e.g. 0.9999 clips the tails
};

// Samples the quantizer needs: calibration inputs (static mode), and for max-drop a labelled
// validation set. Inputs are normalized as in training ([N, ...sampleShape]).
struct QuantizeData {
    torch::Tensor calibration;             // [N, ...]; static mode needs N >= 1
    torch::Tensor validationX;             // max-drop only
    torch::Tensor validationY;             // [N] int64 class labels
};

// One quantizable layer (conv2d, linear, a residual's projection) in the report.
struct QuantLayerReport {
    std::string name;                      // state-dict prefix: "0", "3.body.0", "3.shortcut"
    std::string type;                      // "conv2d", "linear", "shortcut"
    bool int8 = false;                     // weights stored and (at some batch sizes) run in int8
    std::string why;                       // "int8", "float: in floatLayers", "float: alone in int8 it
                                           // costs 0.7 points (max-drop 0.5)", ...
    std::string fused;                     // "batchnorm2d+relu" folded / fused into it, or ""
    int64_t int8FromBatch = 1;             // runs in int8 at batch sizes >= this (int8 layers)
    double accuracyDrop = 0.0;             // max-drop: validation drop with this layer alone in int8
    std::map<int64_t, std::pair<double, double>> timingMs;   // batch -> (int8 ms, float ms), model-wide
};

struct QuantizeReport {
    QuantEngine engine = QuantEngine::Auto;   // the engine used
    QuantizeMode mode = QuantizeMode::Static;
    bool perChannel = false;
    int64_t calibrationSamples = 0;
    double floatAccuracy = -1.0;           // max-drop: validation accuracy of the float model
    double int8Accuracy = -1.0;            // ... and of the result
    std::vector<QuantLayerReport> layers;
    std::string text() const;              // one line a layer: "3.body.0  conv2d  int8  (+batchnorm2d+relu)"
};

class QuantizedModel {
public:
    QuantizedModel();
    ~QuantizedModel();
    QuantizedModel(QuantizedModel&&) noexcept;
    QuantizedModel& operator=(QuantizedModel&&) noexcept;

    // The float model (folded, fused) before any layer is quantized; every layer float. Throws
    // std::runtime_error naming a tensor that is missing or of the wrong shape.
    static QuantizedModel fromFloat(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights);

    // Runs the model on float input [N, ...sampleShape]; returns float outputs. No autograd.
    torch::Tensor forward(const torch::Tensor& x) const;

    // Top-level layers ("0", "3", ...), in order: measure.h's stages. Between stages the tensor
    // may be quantized; the last stage returns float.
    std::vector<std::string> stageNames() const;
    torch::Tensor forwardStage(size_t stage, const torch::Tensor& x) const;
    bool stageQuantized(size_t stage) const;   // any of its conv/linear layers runs in int8

    // Weights as held ("3.body.0.weight" int8 quantized tensors or float), for parameter counts.
    std::vector<std::pair<std::string, torch::Tensor>> parameters() const;

    const ExperimentSpec& spec() const;
    const QuantizeReport& report() const;
    QuantEngine engine() const;

    // Saves as safetensors: I8 weights, F32 scales and I32 zero points (per channel or [1]),
    // F32 biases, float layers' F32 tensors, and metadata "format" = "nnlab.int8/1",
    // "experiment" (JSON), "quantization" (JSON: engine, mode, layers, activation ranges),
    // plus `extraMetadata` (e.g. "interface", "run"). Atomic. Throws SafetensorsError.
    void save(const std::string& path, const std::map<std::string, std::string>& extraMetadata = {}) const;
    // Rebuilds a saved model; throws std::runtime_error naming the file and what is wrong.
    static QuantizedModel load(const std::string& path);

    struct Impl;
    Impl& impl() const { return *m_impl; }

private:
    std::unique_ptr<Impl> m_impl;
};

// Static or dynamic int8 of a trained model. `spec` is completed (model.input and output size
// set); `weights` are the float state dict. Throws std::invalid_argument for bad options (naming
// them: a floatLayers entry that is no quantizable layer, calibrationSamples < 1, no calibration
// data) and std::runtime_error for a layer forced to int8 that the back end cannot run.
using QuantizeProgressFn = std::function<void(const std::string& stage, int64_t done, int64_t total)>;
QuantizedModel quantizeModel(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights,
                             const QuantizeOptions& options, const QuantizeData& data,
                             const QuantizeExtras& extras = {}, const QuantizeProgressFn& progress = {});

// Top-1 accuracy (0..1) of `model` on labelled inputs, batches of 256.
double quantizedAccuracy(const QuantizedModel& model, const torch::Tensor& x, const torch::Tensor& y);

} // namespace nnlab::detail
