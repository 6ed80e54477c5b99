// QuantizedModel's insides, shared by quantized_model.cpp (build, forward), quantize_static.cpp
// (calibration, per-layer choices) and quantize_file.cpp (save, load).
#pragma once

#include "quantize.h"

#include "fused_ops.h"

#include <ATen/native/quantized/PackedParams.h>

#include <limits>

namespace nnlab::detail {

// An activation's quantization (quint8, per tensor), and the range observed for it.
struct QParams {
    double scale = 1.0;
    int64_t zeroPoint = 0;
    float observedMin = std::numeric_limits<float>::infinity();
    float observedMax = -std::numeric_limits<float>::infinity();
    void observe(const torch::Tensor& x);   // min/max of a float tensor
    void fix();                              // scale / zero point from the observed range
    bool observed() const { return observedMin <= observedMax; }
};

// A scale rounded up to 6 significant digits (short in the file's JSON metadata).
double shortScale(double scale);

using ConvPacked = c10::intrusive_ptr<ConvPackedParamsBase<2>>;
using LinearPacked = c10::intrusive_ptr<LinearPackedParamsBase>;

// One step of the forward pass: a spec layer, or a conv2d / linear with what was folded and
// fused into it, or a residual block with its body (and projection).
struct QStep {
    enum class Kind { Conv, Linear, BatchNorm, Relu, LeakyRelu, Gelu, Tanh, Sigmoid, MaxPool, AvgPool,
                      AdaptiveAvgPool, Flatten, Identity, LayerNorm, Residual };
    Kind kind = Kind::Identity;
    std::string name;                  // state-dict prefix of the (first) layer
    std::string type;                  // spec type; "shortcut" for a projection
    std::string fused;                 // "batchnorm2d+relu", "relu", ""
    std::vector<std::string> absorbed; // names of the layers folded / fused into it

    // Conv / Linear: float weights (BatchNorm folded in) and how they run.
    torch::Tensor weight, bias;
    std::vector<int64_t> stride{1, 1}, padding{0, 0}, dilation{1, 1};
    int64_t groups = 1;
    bool relu = false;                 // a fused ReLU
    bool int8 = false;                 // int8 weights (static: activations too; dynamic: per call)
    bool dynamic = false;
    bool perChannel = false;
    std::string why;                   // why int8 or float
    int64_t int8FromBatch = 1;         // static int8: below this batch size run the dequantized
                                       // weights in float (measured faster there)
    torch::Tensor qweight;             // int8 quantized weights (per tensor or per channel)
    torch::Tensor dqweight;            // qweight dequantized: the float path of an int8 layer
    ConvPacked convPacked;
    LinearPacked linearPacked;
    // The float path of a conv2d (+ ReLU) followed by 2x2 max-pooling: nnlab's fused kernel
    // (fused_ops.h), the one the float model runs, covering the pooling step after it too.
    mutable ConvPool2x2 convPool{nullptr};   // forward() is not const

    // BatchNorm (unfolded), LayerNorm: float.
    torch::Tensor mean, var;
    double eps = 1e-5;
    std::vector<int64_t> normShape;
    // Pools, leaky ReLU.
    int64_t kernel = 2, poolStride = 2, poolPadding = 0, outputSize = 1;
    double slope = 0.01;

    std::vector<QStep> body;           // Residual
    std::vector<QStep> shortcut;       // Residual: empty, or one Conv / Linear projection

    mutable QParams out;               // the range of this step's output (observed while calibrating)

    bool quantizable() const { return kind == Kind::Conv || kind == Kind::Linear; }
};

struct QuantizedModel::Impl {
    ExperimentSpec spec;
    std::vector<QStep> steps;          // top level: one per stage
    mutable QParams input;             // the model input's range
    QuantEngine engine = QuantEngine::Auto;
    QuantizeReport report;
    mutable bool observing = false;    // calibration: run float, record every range

    // `inRange`: the range of what produced x, with which a static int8 step quantizes a float x.
    torch::Tensor run(const std::vector<QStep>& steps, torch::Tensor x, const QParams& inRange) const;
    torch::Tensor run(const std::vector<QStep>& steps, size_t begin, size_t end, torch::Tensor x, const QParams& inRange) const;
    torch::Tensor runStep(const QStep& step, torch::Tensor x, const QParams& inRange) const;
    torch::Tensor forward(const torch::Tensor& x) const;   // all steps, float out
    std::vector<std::pair<size_t, size_t>> stages() const; // [begin, end) of steps, one a stage
    void setEngine() const;
};

// Every conv/linear step, depth first (body before projection).
std::vector<QStep*> quantizableSteps(std::vector<QStep>& steps);
std::vector<const QStep*> quantizableSteps(const std::vector<QStep>& steps);

// Makes `step` int8 (weights quantized and prepacked for the model's engine) or float again.
void setStepInt8(QStep& step, bool int8, bool dynamic, bool perChannel, QuantEngine engine);

// quantize_kernels.cpp: float -> quint8 per tensor (channels-last for 4-D inputs when asked),
// and 2x2 / stride 2 max-pooling on quint8 (NCHW or channels-last; covers() says when).
torch::Tensor quantizeActivation(const torch::Tensor& x, double scale, int64_t zeroPoint, bool channelsLast);
bool quantizedPool2x2Covers(const torch::Tensor& x);
torch::Tensor quantizedMaxPool2x2(const torch::Tensor& x);

// Points the fused float path (convPool) at the weights the float path uses.
void refreshFloatPath(QStep& step);
// Dequantizes and prepacks step.qweight (already set) for `engine`.
void packStep(QStep& step, QuantEngine engine);

// QuantizedModel::fromFloat, or (folded) from a saved model's weights, BatchNorms already folded.
QuantizedModel buildQuantizedModel(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights, bool folded);

at::QEngine toAtEngine(QuantEngine engine);

} // namespace nnlab::detail
