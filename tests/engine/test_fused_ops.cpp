// The fused CPU kernels of engine/src/train/fused_ops.h against LibTorch's own operators:
// - MaxPool2x2 (+ ReLU) against max_pool2d (+ relu, either order): outputs and input
//   gradients bit-identical, ties included, for both memory formats, odd sizes and views;
// - BatchNormRelu against BatchNorm2d + relu: outputs, gradients and running statistics
//   within float tolerance, in training and evaluation mode, with and without affine
//   parameters and running statistics, and (against a double-precision reference) about as
//   accurate as LibTorch for inputs whose mean is large against their spread;
// - whole networks built with and without fusion (buildModel's `fuse`, which covers every
//   fused module, ConvPool2x2 included): the same parameter and buffer names and shapes, and
//   the same outputs, gradients and SGD trajectories, in channels-last (as the trainer runs
//   them) and NCHW, with oneDNN and native convolutions; buildAndProbe on each;
// - the fallbacks (other dtypes and ranks) behave as LibTorch does.
// Most cases run on one intra-op thread; multiThreaded() runs the kernels' work splitting.
//
// Qt's `slots` keyword breaks ATen's headers: keywords off (also set by CMake), LibTorch and
// engine headers first, Qt last.
#ifndef QT_NO_KEYWORDS
#define QT_NO_KEYWORDS
#endif

#include "builder.h"
#include "fused_test_support.h"
#include "fused_ops.h"
#include "tuning.h"

#include "nnlab/spec_json.h"
#include "nnlab/trainer.h"

#include <torch/torch.h>

#include <QtTest>

#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using namespace nnlab;
using namespace fused_test;
using nnlab::detail::BatchNormRelu;
using nnlab::detail::MaxPool2x2;

namespace {

const auto kChannelsLast = torch::MemoryFormat::ChannelsLast;
const auto kContiguous = torch::MemoryFormat::Contiguous;

// "" when a and b hold the same values (any layout); else where they differ first.
std::string exactDiff(const torch::Tensor& a, const torch::Tensor& b)
{
    if (a.defined() != b.defined())
        return std::string("one tensor undefined: ") + (a.defined() ? "second" : "first");
    if (!a.defined())
        return "";
    if (a.sizes() != b.sizes())
        return "shapes differ: " + shapeOf(a) + " vs " + shapeOf(b);
    if (a.scalar_type() != b.scalar_type())
        return "dtypes differ";
    const torch::Tensor ca = a.detach().contiguous().to(torch::kDouble).flatten();
    const torch::Tensor cb = b.detach().contiguous().to(torch::kDouble).flatten();
    const torch::Tensor bad = (ca != cb).nonzero();
    if (bad.numel() == 0)
        return "";
    const int64_t i = bad[0].item<int64_t>();
    std::ostringstream s;
    s.precision(9);
    s << bad.size(0) << " of " << ca.numel() << " elements differ; first at flat index " << i << ": "
      << ca[i].item<double>() << " vs " << cb[i].item<double>();
    return s.str();
}

// Frees a block of NaNs of about `bytes`, so that an allocation of that size that follows is
// likely to get memory that is not zero: an output element a kernel forgets to write then
// shows up instead of reading as a lucky 0.
void poisonHeap(int64_t bytes)
{
    torch::Tensor t = torch::full({bytes / 4 + 16}, std::numeric_limits<float>::quiet_NaN());
    (void)t;
}


enum class Data { Normal, Ties, Constant, NegativeOnly, ZerosAndNegatives };

const char* dataName(Data d)
{
    switch (d) {
    case Data::Normal: return "normal";
    case Data::Ties: return "ties";
    case Data::Constant: return "constant";
    case Data::NegativeOnly: return "negative-only";
    case Data::ZerosAndNegatives: return "zeros-and-negatives";
    }
    return "?";
}

torch::Tensor poolInput(Data d, const std::vector<int64_t>& shape)
{
    switch (d) {
    case Data::Normal: return torch::randn(shape);
    case Data::Ties: return torch::round(torch::randn(shape) * 2.0);   // integers -6..6: ties in most windows
    case Data::Constant: return torch::full(shape, 1.5f);               // every window a 4-way tie
    case Data::NegativeOnly: return -torch::rand(shape) - 0.25;         // ReLU clips every window
    case Data::ZerosAndNegatives: return -torch::randint(0, 2, shape).to(torch::kFloat);   // max 0 or -1
    }
    return {};
}

// Reference for MaxPool2x2(relu): order 0 = relu(max_pool2d(x)), order 1 = max_pool2d(relu(x))
// (the builder fuses both orders).
torch::Tensor poolReference(const torch::Tensor& x, bool relu, int order)
{
    if (!relu)
        return torch::max_pool2d(x, 2, 2);
    return order == 0 ? torch::relu(torch::max_pool2d(x, 2, 2)) : torch::max_pool2d(torch::relu(x), 2, 2);
}

// One MaxPool2x2 case: forward and input gradient bit-identical to the reference.
// `view` makes the pooled tensor from the (dense) leaf, e.g. a strided slice of it.
void comparePool(Failures& f, const std::string& what, const torch::Tensor& x0, bool relu, torch::MemoryFormat gradFormat,
                 const std::function<torch::Tensor(const torch::Tensor&)>& view = {})
{
    MaxPool2x2 pool(relu);
    torch::Tensor gy;
    for (int order = 0; order < (relu ? 2 : 1); ++order) {
        const torch::Tensor xr = x0.detach().clone(torch::MemoryFormat::Preserve).requires_grad_(true);
        const torch::Tensor xf = x0.detach().clone(torch::MemoryFormat::Preserve).requires_grad_(true);
        const torch::Tensor yr = poolReference(view ? view(xr) : xr, relu, order);
        poisonHeap(static_cast<int64_t>(yr.numel()) * 4);
        const torch::Tensor yf = pool->forward(view ? view(xf) : xf);
        const std::string tag = what + (relu ? (order == 0 ? " relu(pool)" : " pool(relu)") : "");
        f.check(tag + " forward", exactDiff(yf, yr));
        if (!gy.defined())
            gy = torch::randn(yr.sizes()).contiguous(gradFormat);
        yr.backward(gy);
        poisonHeap(static_cast<int64_t>(x0.numel()) * 4);
        yf.backward(gy);
        f.check(tag + " input gradient", exactDiff(xf.grad(), xr.grad()));
    }
}

std::string poolCaseName(torch::MemoryFormat format, int64_t n, int64_t c, int64_t h, int64_t w, Data d)
{
    std::ostringstream s;
    s << (format == kChannelsLast ? "NHWC" : "NCHW") << " [" << n << "," << c << "," << h << "," << w << "] "
      << dataName(d);
    return s.str();
}

// An experiment's model, from a file under resources/experiments.
ModelSpec experimentModel(const char* file)
{
    const ParseResult r = loadExperimentFile(std::string(NNLAB_SOURCE_DIR "/resources/experiments/") + file);
    if (!r.ok())
        qFatal("%s: %s", file, r.errorText().c_str());
    return r.spec.model;
}

// The networks compared fused against plain, by name.
ModelSpec modelByName(const std::string& name)
{
    if (name == "fashion-cnn")
        return experimentModel("fashion-cnn.json");
    if (name == "fashion-resnet")
        return experimentModel("fashion-resnet.json");
    // First layer conv -> pool -> relu (pooling before its activation); batchnorm2d + relu
    // outside a residual block; odd sizes (13x11 -> 6x5 -> 3x2) so that the pooling drops a
    // row and a column; three input channels.
    if (name == "first-pool-relu")
        return handModel(R"([
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "relu"},
            {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1, "bias": false},
            {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                         {3, 13, 11});
    // First layer conv (no bias, 5x5) -> pool without an activation, then batchnorm2d + relu.
    if (name == "first-pool-nobias")
        return handModel(R"([
            {"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2, "bias": false},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                         {2, 12, 10});
    // Fused 2x2 pooling with ReLU inside the network, both orders (relu -> pool, pool -> relu),
    // after a first layer that is not a conv -> pool; batchnorm2d + relu with momentum 0.3.
    if (name == "mid-pool-relu")
        return handModel(R"([
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1, "bias": false},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "relu"},
            {"type": "conv2d", "out_channels": 17, "kernel_size": 1},
            {"type": "batchnorm2d", "momentum": 0.3},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                         {3, 13, 11});
    // batchnorm2d without affine parameters (a spec option) + relu.
    if (name == "bn-no-affine")
        return handModel(R"([
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2},
            {"type": "batchnorm2d", "affine": false},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])");
    // relu -> pool -> relu: the fused pooling followed by another relu.
    if (name == "relu-pool-relu")
        return handModel(R"([
            {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])");
    // An MLP on flat samples: linear + relu fused, a linear without bias, a linear + relu
    // followed by another relu (which must not overwrite the kept output), a plain last linear.
    if (name == "mlp")
        return handModel(R"([
            {"type": "flatten"},
            {"type": "linear", "out_features": 64},
            {"type": "relu"},
            {"type": "linear", "out_features": 32, "bias": false},
            {"type": "relu"},
            {"type": "relu"},
            {"type": "linear", "out_features": 10}])",
                         {20});
    qFatal("no model %s", name.c_str());
    return {};
}

const char* const kModels[] = {"fashion-cnn",   "fashion-resnet", "first-pool-relu", "first-pool-nobias",
                               "mid-pool-relu", "bn-no-affine",   "relu-pool-relu", "mlp"};

std::vector<int64_t> batchShape(const ModelSpec& spec, int64_t batch)
{
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), spec.input.begin(), spec.input.end());
    return shape;
}

void copyState(torch::nn::Sequential& to, const torch::nn::Sequential& from)
{
    torch::NoGradGuard noGrad;
    const auto params = from->named_parameters();
    for (auto& item : to->named_parameters())
        item.value().copy_(params[item.key()]);
    const auto buffers = from->named_buffers();
    for (auto& item : to->named_buffers())
        item.value().copy_(buffers[item.key()]);
}

// ---------------------------------------------------------------------------------------
// BatchNormRelu against BatchNorm2d + relu

struct BatchNormCase {
    std::string name;
    torch::nn::BatchNorm2dOptions options{1};
    std::vector<int64_t> shape;
    torch::MemoryFormat format = kChannelsLast;
    bool inputGrad = true;
    double scale = 1.0, offset = 0.0;   // x = randn * scale + offset (per channel, +-10%)
};

// Random weight (some negative) and bias, the same in both modules.
void randomAffine(torch::nn::BatchNorm2d& ref, BatchNormRelu& fused)
{
    torch::NoGradGuard noGrad;
    const int64_t c = ref->options.num_features();
    ref->weight.copy_(torch::rand({c}) * 2.0 - 0.5);
    ref->bias.copy_(torch::randn({c}) * 0.5);
    fused->weight.copy_(ref->weight);
    fused->bias.copy_(ref->bias);
}

torch::Tensor batchNormInput(const BatchNormCase& c)
{
    return (torch::randn(c.shape) * c.scale + c.offset * (1.0 + 0.1 * torch::randn({1, c.shape[1], 1, 1}))).contiguous(c.format);
}

// Two training steps (output, gradients, running statistics after each), then evaluation mode.
void compareBatchNormSteps(Failures& f, const BatchNormCase& c, double rtol, double atol)
{
    torch::nn::BatchNorm2d ref(c.options);
    BatchNormRelu fused(c.options);
    {
        // BatchNorm2d's names and initial state
        const auto rp = ref->named_parameters(), fp = fused->named_parameters();
        const auto rb = ref->named_buffers(), fb = fused->named_buffers();
        if (rp.keys() != fp.keys() || rb.keys() != fb.keys()) {
            f.check(c.name, "parameter or buffer names differ from BatchNorm2d's");
            return;
        }
        for (const auto& item : rp)
            f.check(c.name + " initial " + item.key(), exactDiff(fp[item.key()], item.value()));
        for (const auto& item : rb)
            f.check(c.name + " initial " + item.key(), exactDiff(fb[item.key()], item.value()));
    }
    if (c.options.affine())
        randomAffine(ref, fused);
    ref->train();
    fused->train();
    for (int step = 0; step < 2; ++step) {
        const std::string tag = c.name + " step " + std::to_string(step + 1);
        const torch::Tensor x = batchNormInput(c);
        const torch::Tensor xr = x.clone(torch::MemoryFormat::Preserve).requires_grad_(c.inputGrad);
        const torch::Tensor xf = x.clone(torch::MemoryFormat::Preserve).requires_grad_(c.inputGrad);
        const torch::Tensor zr = ref->forward(xr);
        const torch::Tensor yr = torch::relu(zr);
        poisonHeap(x.numel() * 4);
        const torch::Tensor yf = fused->forward(xf);
        f.check(tag + " output", closeDiff(yf, yr, rtol, atol));
        // No upstream gradient where the pre-activation is within 1e-4 of 0: float rounding
        // may flip the ReLU there in either implementation (in about one element per 10^6).
        const torch::Tensor g = torch::randn(c.shape) * (zr.detach().abs() > 1e-4).to(torch::kFloat);
        yr.backward(g);
        poisonHeap(x.numel() * 4);
        yf.backward(g);
        if (c.inputGrad)
            f.check(tag + " input gradient", closeDiff(xf.grad(), xr.grad(), rtol, atol));
        if (c.options.affine()) {
            f.check(tag + " weight gradient", closeDiffOfSums(fused->weight.grad(), ref->weight.grad(), rtol, atol));
            f.check(tag + " bias gradient", closeDiffOfSums(fused->bias.grad(), ref->bias.grad(), rtol, atol));
        }
        if (c.options.track_running_stats()) {
            f.check(tag + " running_mean", closeDiff(fused->running_mean, ref->running_mean, rtol, atol));
            f.check(tag + " running_var", closeDiff(fused->running_var, ref->running_var, rtol, atol));
            f.check(tag + " num_batches_tracked", exactDiff(fused->num_batches_tracked, ref->num_batches_tracked));
        }
    }
    ref->eval();
    fused->eval();
    torch::NoGradGuard noGrad;
    // the fused module's running statistics in both, so that only the evaluation path is compared
    if (c.options.track_running_stats()) {
        ref->running_mean.copy_(fused->running_mean);
        ref->running_var.copy_(fused->running_var);
    }
    const torch::Tensor x = batchNormInput(c);
    const torch::Tensor yr = torch::relu(ref->forward(x)), yf = fused->forward(x);
    if (c.options.track_running_stats())   // the fused evaluation pass: float rounding apart
        f.check(c.name + " eval output", closeDiff(yf, yr, 1e-5, 1e-6));
    else   // batch statistics in evaluation mode too
        f.check(c.name + " eval output (batch statistics)", closeDiff(yf, yr, rtol, atol));
}

void compareBatchNorm(Failures& f, const BatchNormCase& c, double rtol = 1e-4, double atol = 1e-5)
{
    try {
        compareBatchNormSteps(f, c, rtol, atol);
    } catch (const std::exception& e) {
        f.check(c.name, "threw: " + firstLine(e));
    }
}

std::vector<BatchNormCase> batchNormCases(bool affine, bool trackRunningStats)
{
    struct Geometry {
        int64_t n, h, w;
    };
    const std::vector<Geometry> geometries{{5, 7, 7}, {2, 28, 28}, {8, 1, 1}, {3, 5, 6}};
    struct Momentum {
        const char* name;
        bool set;
        c10::optional<double> value;
    };
    const std::vector<Momentum> momenta{{"default momentum", false, {}},
                                        {"momentum 0.3", true, 0.3},
                                        {"cumulative average (momentum none)", true, c10::nullopt}};
    std::vector<BatchNormCase> cases;
    for (const auto format : {kChannelsLast, kContiguous})
        for (const auto& g : geometries)
            for (const int64_t ch : {1, 3, 16, 17})
                for (const auto& m : momenta)
                    for (const bool inputGrad : {true, false}) {
                        if (!inputGrad && !affine)
                            continue;   // nothing to differentiate
                        if (!trackRunningStats && m.set)
                            continue;   // the momentum is not used
                        BatchNormCase c;
                        std::ostringstream name;
                        name << (format == kChannelsLast ? "NHWC" : "NCHW") << " [" << g.n << "," << ch << "," << g.h << ","
                             << g.w << "] affine=" << affine << " track_running_stats=" << trackRunningStats << " "
                             << m.name << (inputGrad ? "" : " (no input gradient)");
                        c.name = name.str();
                        c.options = torch::nn::BatchNorm2dOptions(ch).affine(affine).track_running_stats(trackRunningStats);
                        if (m.set)
                            c.options.momentum(m.value);
                        c.shape = {g.n, ch, g.h, g.w};
                        c.format = format;
                        c.inputGrad = inputGrad;
                        cases.push_back(c);
                    }
    return cases;
}

// ---------------------------------------------------------------------------------------
// Whole networks, fused and plain

struct ModelCase {
    std::string name;
    ModelSpec spec;
    bool channelsLast = true;
    bool nativeConvs = false;
    int64_t batch = 4;
    int steps = 3;
};

// Builds the network plain and fused from the same seed and compares the two: parameter and
// buffer names and shapes, then forward + backward (outputs, loss, every gradient), a few
// SGD steps (losses, final parameters and buffers), and evaluation mode.
void compareModelSteps(Failures& f, const ModelCase& c, std::string& phase)
{
    const std::string what = c.name;
    phase = "building";
    torch::manual_seed(7);
    torch::nn::Sequential plain = nnlab::detail::buildModel(c.spec, false);
    torch::manual_seed(7);
    torch::nn::Sequential fused = nnlab::detail::buildModel(c.spec, true);

    // checkpoints are interchangeable: the same names and shapes, in the same order
    const auto pp = plain->named_parameters(), fp = fused->named_parameters();
    const auto pb = plain->named_buffers(), fb = fused->named_buffers();
    if (pp.keys() != fp.keys() || pb.keys() != fb.keys()) {
        std::string names;
        for (const auto& k : fp.keys())
            names += k + " ";
        f.check(what, "parameter or buffer names differ; fused: " + names);
        return;
    }
    for (const auto& item : pp)
        if (item.value().sizes() != fp[item.key()].sizes())
            f.check(what + " " + item.key(), "shapes differ: " + shapeOf(item.value()) + " vs " + shapeOf(fp[item.key()]));
    for (const auto& item : pb)
        if (item.value().sizes() != fb[item.key()].sizes() || item.value().scalar_type() != fb[item.key()].scalar_type())
            f.check(what + " buffer " + item.key(), "shapes or dtypes differ");
    // the same seed draws the same initial state
    for (const auto& item : pp)
        f.check(what + " initial " + item.key(), exactDiff(fp[item.key()], item.value()));
    copyState(fused, plain);

    // the trainer's execution set-up: memory format of conv weights and conv back ends
    nnlab::detail::Execution e;
    e.threads = at::get_num_threads();
    e.channelsLast = c.channelsLast;
    e.nativeConvs.assign(64, c.nativeConvs);
    nnlab::detail::applyExecution(e, plain);
    nnlab::detail::applyExecution(e, fused);

    const double rtol = 1e-4, atol = 1e-5;
    plain->train();
    fused->train();
    torch::optim::SGD plainOpt(plain->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    torch::optim::SGD fusedOpt(fused->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    for (int step = 0; step < c.steps; ++step) {
        const std::string s = "step " + std::to_string(step + 1);
        const std::string tag = what + " " + s;
        // after an SGD step the two have drifted by rounding: a looser tolerance
        const double r = step == 0 ? rtol : 1e-3, a = step == 0 ? atol : 1e-4;
        const torch::Tensor x = nnlab::detail::toExecutionFormat(torch::randn(batchShape(c.spec, c.batch)), e);
        const torch::Tensor y = torch::randint(0, 10, {c.batch}, torch::kLong);
        plainOpt.zero_grad();
        fusedOpt.zero_grad();
        phase = s + " plain forward";
        const torch::Tensor outPlain = plain->forward(x);
        phase = s + " fused forward";
        const torch::Tensor outFused = fused->forward(x);
        f.check(tag + " output", closeDiff(outFused, outPlain, r, a));
        const torch::Tensor lossPlain = torch::cross_entropy_loss(outPlain, y);
        const torch::Tensor lossFused = torch::cross_entropy_loss(outFused, y);
        f.check(tag + " loss", closeDiff(lossFused, lossPlain, r, a));
        phase = s + " plain backward";
        lossPlain.backward();
        phase = s + " fused backward";
        lossFused.backward();
        phase = s + " comparing";
        if (step == 0) {
            for (const auto& item : pp)
                f.check(tag + " gradient of " + item.key(), closeDiffOfSums(fp[item.key()].grad(), item.value().grad(), rtol, atol));
            for (const auto& item : pb)
                f.check(tag + " buffer " + item.key(), closeDiff(fb[item.key()], item.value(), rtol, atol));
        }
        plainOpt.step();
        fusedOpt.step();
    }
    for (const auto& item : pp)
        f.check(what + " after SGD " + item.key(), closeDiff(fp[item.key()], item.value(), 1e-3, 1e-4));
    for (const auto& item : pb)
        f.check(what + " after SGD buffer " + item.key(), closeDiff(fb[item.key()], item.value(), 1e-3, 1e-4));

    // evaluation mode (running statistics), both on the fused network's state
    phase = "evaluation";
    copyState(plain, fused);
    plain->eval();
    fused->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor x = nnlab::detail::toExecutionFormat(torch::randn(batchShape(c.spec, c.batch)), e);
    f.check(what + " eval output", closeDiff(fused->forward(x), plain->forward(x), rtol, atol));
}

void compareModels(Failures& f, const ModelCase& c)
{
    std::string phase;
    try {
        compareModelSteps(f, c, phase);
    } catch (const std::exception& e) {
        f.check(c.name, "threw in " + phase + ": " + firstLine(e));
    }
}

} // namespace

class TestFusedOps : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        torch::manual_seed(20240611);
        // Most cases run on one thread (fast, also on busy cores); multiThreaded() runs the
        // kernels' work splitting (per-thread partial sums) on several.
        at::set_num_threads(1);
    }

    // 1. MaxPool2x2 (+ReLU) against max_pool2d (+relu, either order): bit-identical outputs
    // and input gradients; ties go to the first maximum in scan order, as in LibTorch.
    void maxPoolMatchesLibTorch()
    {
        Failures f;
        int cases = 0;
        const std::vector<std::pair<int64_t, int64_t>> sizes{{28, 28}, {7, 7}, {5, 6}, {6, 5}, {2, 2}, {3, 2}, {2, 3}};
        for (const auto format : {kChannelsLast, kContiguous})
            for (const auto& [h, w] : sizes)
                for (const int64_t c : {1, 3, 16, 17})
                    for (const int64_t n : {1, 5})
                        for (const Data d : {Data::Normal, Data::Ties, Data::Constant, Data::NegativeOnly,
                                             Data::ZerosAndNegatives}) {
                            const torch::Tensor x = poolInput(d, {n, c, h, w}).contiguous(format);
                            const std::string name = poolCaseName(format, n, c, h, w, d);
                            for (const bool relu : {false, true}) {
                                // the upstream gradient in the other layout half the time
                                const auto gradFormat = (cases % 2) ? kChannelsLast : kContiguous;
                                comparePool(f, name + (relu ? " relu" : ""), x, relu, gradFormat);
                                ++cases;
                            }
                        }
        qInfo("%d cases", cases);
        REPORT_FAILURES(f);
    }

    // Inputs dense in neither layout: views of the leaf that gets the gradient.
    void maxPoolNonContiguousInputs()
    {
        Failures f;
        for (const bool relu : {false, true}) {
            const torch::Tensor base = torch::round(torch::randn({4, 9, 12, 11}) * 2.0);
            comparePool(f, "narrowed NCHW", base, relu, kContiguous,
                        [](const torch::Tensor& t) { return t.narrow(2, 1, 9).narrow(3, 2, 8); });
            comparePool(f, "narrowed NHWC", base.contiguous(kChannelsLast), relu, kChannelsLast,
                        [](const torch::Tensor& t) { return t.narrow(3, 1, 7); });
            comparePool(f, "H/W transposed", base, relu, kContiguous, [](const torch::Tensor& t) { return t.transpose(2, 3); });
            comparePool(f, "every other channel", base.contiguous(kChannelsLast), relu, kContiguous,
                        [](const torch::Tensor& t) { return t.slice(1, 0, 9, 2); });
            comparePool(f, "expanded batch", base, relu, kContiguous,
                        [](const torch::Tensor& t) { return t.slice(0, 0, 1).expand({3, 9, 12, 11}); });
        }
        REPORT_FAILURES(f);
    }

    // NaN wins its window in max_pool2d and survives relu: the same forward values here.
    void maxPoolNaNForward()
    {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        for (const auto format : {kChannelsLast, kContiguous})
            for (const bool relu : {false, true}) {
                torch::Tensor x = -torch::rand({2, 5, 6, 6});
                x.index_put_({0, 1, 2, 3}, nan);
                x.index_put_({1, 4, 0, 0}, nan);
                x.index_put_({1, 2, 5, 4}, nan);
                x = x.contiguous(format);
                torch::NoGradGuard noGrad;
                const torch::Tensor ref = poolReference(x, relu, 0);
                const torch::Tensor got = MaxPool2x2(relu)->forward(x);
                QCOMPARE(ref.isnan().sum().item<int64_t>(), int64_t(3));
                QVERIFY(torch::equal(got.isnan(), ref.isnan()));
                const torch::Tensor finite = ~ref.isnan();
                QVERIFY(torch::equal(got.masked_select(finite), ref.masked_select(finite)));
            }
    }

    // 2. BatchNormRelu against BatchNorm2d + relu, the kernel's case (training, channels-last)
    // and the fallbacks (NCHW, ambiguous layouts such as one channel or 1x1 images).
    void batchNormReluTraining()
    {
        Failures f;
        std::vector<BatchNormCase> cases = batchNormCases(true, true);
        // scaled and shifted inputs (a conv output with a bias, a post-ReLU activation)
        for (const double scale : {0.01, 3.0})
            for (const double offset : {0.0, 2.0 * scale}) {
                BatchNormCase c;
                c.name = "NHWC [4,16,14,14] x*" + std::to_string(scale) + "+" + std::to_string(offset);
                c.options = torch::nn::BatchNorm2dOptions(16);
                c.shape = {4, 16, 14, 14};
                c.scale = scale;
                c.offset = offset;
                cases.push_back(c);
            }
        BatchNormCase eps;
        eps.name = "NHWC [4,16,7,7] eps 0.1";
        eps.options = torch::nn::BatchNorm2dOptions(16).eps(0.1);
        eps.shape = {4, 16, 7, 7};
        cases.push_back(eps);
        for (const auto& c : cases)
            compareBatchNorm(f, c);
        qInfo("%d cases", int(cases.size()));
        REPORT_FAILURES(f);
    }

    // batchnorm2d's "affine": false (a spec option).
    void batchNormReluNoAffine()
    {
        Failures f;
        const std::vector<BatchNormCase> cases = batchNormCases(false, true);
        for (const auto& c : cases)
            compareBatchNorm(f, c);
        qInfo("%d cases", int(cases.size()));
        REPORT_FAILURES(f);
    }

    // track_running_stats(false): batch statistics also in evaluation mode, no buffers.
    void batchNormReluNoRunningStats()
    {
        Failures f;
        const std::vector<BatchNormCase> cases = batchNormCases(true, false);
        for (const auto& c : cases)
            compareBatchNorm(f, c);
        qInfo("%d cases", int(cases.size()));
        REPORT_FAILURES(f);
    }

    // Inputs whose mean is large against their spread (mean/std = ratio). LibTorch keeps the
    // batch statistics accurate there (the variance is summed around the mean); the fused
    // kernel must be about as accurate: its error against a double-precision reference may
    // exceed LibTorch's float error by at most a factor of 10 (+ 1e-4 of the values' scale).
    void batchNormReluLargeMean_data()
    {
        QTest::addColumn<double>("ratio");
        for (const double ratio : {3.0, 10.0, 30.0, 100.0})
            QTest::newRow(("mean/std " + std::to_string(int(ratio))).c_str()) << ratio;
    }

    void batchNormReluLargeMean()
    {
        QFETCH(double, ratio);
        const int64_t C = 16;
        const std::vector<int64_t> shape{8, C, 14, 14};
        torch::nn::BatchNorm2d ref(C), refDouble(C);
        BatchNormRelu fused(C);
        randomAffine(ref, fused);
        refDouble->to(torch::kDouble);
        {
            torch::NoGradGuard noGrad;
            refDouble->weight.copy_(ref->weight);
            refDouble->bias.copy_(ref->bias);
        }
        const torch::Tensor x = (torch::randn(shape) + ratio * (1.0 + 0.1 * torch::randn({1, C, 1, 1}))).contiguous(kChannelsLast);
        // No upstream gradient where the exact pre-activation is within 0.01 of 0: there float
        // rounding may flip the ReLU in either implementation, which says nothing of accuracy.
        torch::Tensor g = torch::randn(shape);
        {
            torch::NoGradGuard noGrad;
            const torch::Tensor xd = x.to(torch::kDouble);
            const torch::Tensor mean = xd.mean({0, 2, 3}, true), var = xd.var({0, 2, 3}, false, true);
            const torch::Tensor z = (xd - mean) / torch::sqrt(var + 1e-5) * ref->weight.to(torch::kDouble).view({1, C, 1, 1})
                                    + ref->bias.to(torch::kDouble).view({1, C, 1, 1});
            g = g * (z.abs() > 0.01).to(torch::kFloat);
        }
        const torch::Tensor xr = x.clone().requires_grad_(true), xf = x.clone().requires_grad_(true);
        const torch::Tensor xd = x.to(torch::kDouble).requires_grad_(true);
        const torch::Tensor yr = torch::relu(ref->forward(xr)), yf = fused->forward(xf), yd = torch::relu(refDouble->forward(xd));
        yr.backward(g);
        yf.backward(g);
        yd.backward(g.to(torch::kDouble));
        struct Quantity {
            const char* name;
            torch::Tensor libtorch, fused, exact;
        };
        const std::vector<Quantity> quantities{
            {"output", yr, yf, yd},
            {"input gradient", xr.grad(), xf.grad(), xd.grad()},
            {"weight gradient", ref->weight.grad(), fused->weight.grad(), refDouble->weight.grad()},
            {"bias gradient", ref->bias.grad(), fused->bias.grad(), refDouble->bias.grad()},
            {"running_mean", ref->running_mean, fused->running_mean, refDouble->running_mean},
            {"running_var", ref->running_var, fused->running_var, refDouble->running_var},
        };
        Failures f;
        for (const auto& q : quantities) {
            const torch::Tensor exact = q.exact.detach();
            const double errLib = (q.libtorch.detach().to(torch::kDouble) - exact).abs().max().item<double>();
            const double errFused = (q.fused.detach().to(torch::kDouble) - exact).abs().max().item<double>();
            const double magnitude = exact.abs().max().item<double>();
            qInfo("%-16s max |error| vs double: LibTorch %.3g, fused %.3g (values up to %.3g)", q.name, errLib, errFused,
                  magnitude);
            if (errFused > 10.0 * errLib + 1e-4 * magnitude) {
                std::ostringstream s;
                s.precision(3);
                s << "fused error " << errFused << " vs LibTorch's " << errLib << " (values up to " << magnitude << ")";
                f.check(q.name, s.str());
            }
        }
        REPORT_FAILURES(f);
    }

    // 3. Whole networks fused and plain, as the trainer runs them (channels-last conv
    // weights and batches) and in NCHW, with oneDNN and native convolutions.
    void modelsMatch_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<bool>("channelsLast");
        QTest::addColumn<bool>("nativeConvs");
        for (const char* model : kModels)
            for (const bool channelsLast : {true, false})
                for (const bool native : {false, true})
                    QTest::newRow((std::string(model) + (channelsLast ? " NHWC" : " NCHW") + (native ? " native" : " oneDNN")).c_str())
                        << QString::fromLatin1(model) << channelsLast << native;
    }

    void modelsMatch()
    {
        QFETCH(QString, model);
        QFETCH(bool, channelsLast);
        QFETCH(bool, nativeConvs);
        ModelCase c;
        c.name = QTest::currentDataTag();
        c.spec = modelByName(model.toStdString());
        c.channelsLast = channelsLast;
        c.nativeConvs = nativeConvs;
        Failures f;
        compareModels(f, c);
        REPORT_FAILURES(f);
    }

    // An activation between a pooling and another activation ([relu, maxpool, relu]): both
    // builds must train, for fused (2x2) and unfused (3x3) pooling.
    void reluPoolReluTrains_data()
    {
        QTest::addColumn<int>("kernel");
        QTest::addColumn<bool>("fuse");
        for (const int k : {2, 3})
            for (const bool fuse : {false, true})
                QTest::newRow(("maxpool " + std::to_string(k) + (fuse ? " fused" : " plain")).c_str()) << k << fuse;
    }

    void reluPoolReluTrains()
    {
        QFETCH(int, kernel);
        QFETCH(bool, fuse);
        const ModelSpec spec = handModel(R"([
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": )" + std::to_string(kernel) + R"(, "stride": 2},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])");
        torch::nn::Sequential model = nnlab::detail::buildModel(spec, fuse);
        const torch::Tensor out = model->forward(torch::randn({3, 1, 28, 28}));
        try {
            torch::cross_entropy_loss(out, torch::randint(0, 10, {3}, torch::kLong)).backward();
        } catch (const std::exception& e) {
            QFAIL(("backward threw: " + firstLine(e)).c_str());
        }
    }

    // The kernels' work split among threads (per-thread partial sums, row ranges). Note:
    // at::parallel_for is a header template that only runs in parallel where the including
    // code is compiled with OpenMP (-fopenmp defines INTRA_OP_PARALLEL); the log line says
    // whether this file's own parallel_for splits, as a hint for the engine's.
    void multiThreaded()
    {
        ThreadScope threads(2);
        std::atomic<int> chunks{0};
        at::parallel_for(0, 1 << 16, 256, [&](int64_t, int64_t) { ++chunks; });
        qInfo("%d threads; parallel_for split the work in %d; %s", at::get_num_threads(), chunks.load(),
              at::get_parallel_info().c_str());
        Failures f;
        for (const auto format : {kChannelsLast, kContiguous})
            for (const bool relu : {false, true}) {
                comparePool(f, poolCaseName(format, 5, 17, 28, 28, Data::Ties) + (relu ? " relu" : ""),
                            poolInput(Data::Ties, {5, 17, 28, 28}).contiguous(format), relu, kChannelsLast);
                comparePool(f, poolCaseName(format, 3, 16, 9, 7, Data::Normal) + (relu ? " relu" : ""),
                            poolInput(Data::Normal, {3, 16, 9, 7}).contiguous(format), relu, kContiguous);
            }
        for (const auto& shape : std::vector<std::vector<int64_t>>{{8, 16, 28, 28}, {5, 17, 13, 11}}) {
            BatchNormCase c;
            c.name = "2 threads NHWC " + shapeOf(torch::empty(shape));
            c.options = torch::nn::BatchNorm2dOptions(shape[1]);
            c.shape = shape;
            compareBatchNorm(f, c);
        }
        for (const char* model : {"fashion-cnn", "fashion-resnet"}) {
            ModelCase c;
            c.name = std::string("2 threads ") + model + " NHWC oneDNN";
            c.spec = modelByName(model);
            c.batch = 8;
            c.steps = 2;
            compareModels(f, c);
        }
        REPORT_FAILURES(f);
    }

    // buildAndProbe (the spec editor's check) builds with fusion and runs one evaluation
    // batch: every model above must pass it.
    void buildAndProbeModels()
    {
        for (const char* model : kModels) {
            try {
                const BuiltModel built = buildAndProbe(modelByName(model));
                QCOMPARE(built.outputShape, std::vector<int64_t>({10}));
            } catch (const std::exception& e) {
                QFAIL((std::string(model) + ": threw " + firstLine(e)).c_str());
            }
        }
    }

    // 4. Fallbacks: what the kernels do not cover runs LibTorch's operators.
    void maxPoolFallbacks()
    {
        Failures f;
        for (const bool relu : {false, true}) {
            const std::string r = relu ? " relu" : "";
            const torch::Tensor dbl = torch::round(torch::randn({3, 5, 7, 6}, torch::kDouble) * 2.0);
            comparePool(f, "double NCHW" + r, dbl, relu, kContiguous);
            comparePool(f, "double NHWC" + r, dbl.contiguous(kChannelsLast), relu, kChannelsLast);
            comparePool(f, "3-D float" + r, torch::round(torch::randn({5, 9, 8}) * 2.0), relu, kContiguous);
            comparePool(f, "3-D double" + r, torch::randn({2, 4, 5}, torch::kDouble), relu, kContiguous);
            comparePool(f, "empty batch" + r, torch::randn({0, 3, 6, 6}), relu, kContiguous);
            // inference: no autograd at all
            torch::NoGradGuard noGrad;
            const torch::Tensor x = torch::randn({2, 3, 8, 8}).contiguous(kChannelsLast);
            f.check("no-grad" + r, exactDiff(MaxPool2x2(relu)->forward(x), poolReference(x, relu, 0)));
        }
        REPORT_FAILURES(f);
    }

    // A double module and input: LibTorch's batch_norm, as BatchNorm2d.
    void batchNormReluFallbacks()
    {
        Failures f;
        torch::nn::BatchNorm2d ref(5);
        BatchNormRelu fused(5);
        ref->to(torch::kDouble);
        fused->to(torch::kDouble);
        for (const auto format : {kChannelsLast, kContiguous}) {
            const torch::Tensor x = torch::randn({4, 5, 6, 6}, torch::kDouble).contiguous(format);
            const torch::Tensor xr = x.clone().requires_grad_(true), xf = x.clone().requires_grad_(true);
            const torch::Tensor yr = torch::relu(ref->forward(xr)), yf = fused->forward(xf);
            f.check("double forward", closeDiff(yf, yr, 1e-12, 1e-12));
            const torch::Tensor g = torch::randn_like(yr);
            yr.backward(g);
            yf.backward(g);
            f.check("double input gradient", closeDiff(xf.grad(), xr.grad(), 1e-12, 1e-12));
            f.check("double running_var", closeDiff(fused->running_var, ref->running_var, 1e-12, 1e-12));
        }
        REPORT_FAILURES(f);
    }
};

QTEST_MAIN(TestFusedOps)
#include "test_fused_ops.moc"
