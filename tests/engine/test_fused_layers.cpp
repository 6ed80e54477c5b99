// The operator-level fast paths beyond the first CNN layers (engine/src/train/fused_ops.h),
// against LibTorch's own modules:
// - BatchNormRelu in every form the planner now builds: BatchNorm1d on [N, C] and BatchNorm2d
//   on channels-last inputs, followed by nothing, ReLU or leaky ReLU, with the residual
//   addition; outputs, input, weight and bias gradients, running statistics and
//   num_batches_tracked over two training steps, then evaluation mode, within float tolerance;
//   inputs the kernels do not take (3-D BatchNorm1d, NCHW, doubles) as LibTorch computes them;
// - crossEntropy (the trainer's loss) against cross_entropy: loss and logit gradients for
//   many batch and class counts, large logits, and LibTorch's errors for bad targets;
// - LinearRelu with each activation (ReLU, leaky ReLU, tanh, sigmoid), inside whole networks;
// - whole networks built with and without fusion (the tabular MLP of the zoo, an MLP of every
//   activation, a ResNet block whose body ends in batchnorm2d, batch norm before leaky ReLU
//   and tanh): the same names, outputs, gradients and SGD trajectories, in training and
//   evaluation.
// Most cases run on one intra-op thread; multiThreaded() splits the rows among threads.
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

#include <torch/torch.h>

#include <QtTest>

#include <sstream>
#include <string>
#include <vector>

using namespace nnlab;
using namespace fused_test;
using nnlab::detail::BatchNormRelu;
using Act = nnlab::detail::BatchNormReluImpl::Activation;

namespace {

// ---------------------------------------------------------------------------------------
// BatchNormRelu against BatchNorm1d/2d + activation (+ skip)

struct NormCase {
    std::string name;
    torch::nn::BatchNormOptions options{1};
    std::vector<int64_t> shape;                 // 2-D: BatchNorm1d; 4-D: BatchNorm2d
    bool channelsLast = true;                   // 4-D
    Act activation = Act::Relu;
    double slope = 0.0;                         // leaky ReLU
    bool skip = false;                          // act(bn(x)) + skip, as a residual block's tail
    double dropout = 0.0;                       // 2-D: a dropout's p after the activation
    bool inputGrad = true;
    double offset = 0.0;                        // added to the input (a mean far from 0)
};

torch::Tensor activate(const torch::Tensor& z, const NormCase& c)
{
    switch (c.activation) {
    case Act::None: return z;
    case Act::Relu: return torch::relu(z);
    case Act::LeakyRelu: return torch::leaky_relu(z, c.slope);
    }
    return z;
}

torch::Tensor normInput(const NormCase& c)
{
    torch::Tensor x = torch::randn(c.shape) * 1.5 + c.offset;
    return c.shape.size() == 4 && c.channelsLast ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

// LibTorch's module for the case's rank, as the plain builder makes it.
torch::nn::AnyModule referenceNorm(const NormCase& c)
{
    if (c.shape.size() == 4)
        return torch::nn::AnyModule(torch::nn::BatchNorm2d(c.options));
    return torch::nn::AnyModule(torch::nn::BatchNorm1d(c.options));
}

void compareNormSteps(Failures& f, const NormCase& c, double rtol, double atol)
{
    torch::nn::AnyModule refModule = referenceNorm(c);
    auto ref = refModule.ptr();
    BatchNormRelu fused(c.options, c.activation, c.slope, c.dropout);
    {
        const auto rp = ref->named_parameters(), fp = fused->named_parameters();
        const auto rb = ref->named_buffers(), fb = fused->named_buffers();
        if (rp.keys() != fp.keys() || rb.keys() != fb.keys()) {
            f.check(c.name, "parameter or buffer names differ from LibTorch's module");
            return;
        }
        for (const auto& item : rp)
            f.check(c.name + " initial " + item.key(), closeDiff(fp[item.key()], item.value(), 0, 0));
        for (const auto& item : rb)
            f.check(c.name + " initial " + item.key(), closeDiff(fb[item.key()], item.value(), 0, 0));
    }
    if (c.options.affine()) {
        torch::NoGradGuard noGrad;
        const int64_t ch = c.options.num_features();
        fused->weight.copy_(torch::rand({ch}) * 2.0 - 0.5);   // some negative
        fused->bias.copy_(torch::randn({ch}) * 0.5);
        ref->named_parameters()["weight"].copy_(fused->weight);
        ref->named_parameters()["bias"].copy_(fused->bias);
    }
    ref->train();
    fused->train();
    for (int step = 0; step < 2; ++step) {
        const std::string tag = c.name + " step " + std::to_string(step + 1);
        const torch::Tensor x = normInput(c);
        const torch::Tensor skip = c.skip ? normInput(c) : torch::Tensor();
        const torch::Tensor xr = x.clone(torch::MemoryFormat::Preserve).requires_grad_(c.inputGrad);
        const torch::Tensor xf = x.clone(torch::MemoryFormat::Preserve).requires_grad_(c.inputGrad);
        const torch::Tensor sr = c.skip ? skip.clone().requires_grad_(true) : torch::Tensor();
        const torch::Tensor sf = c.skip ? skip.clone().requires_grad_(true) : torch::Tensor();
        // the same random numbers for both dropouts
        torch::manual_seed(1000 + step);
        const torch::Tensor zr = refModule.forward(xr);
        torch::Tensor yr = activate(zr, c);
        if (c.dropout > 0)
            yr = torch::dropout(yr, c.dropout, true);
        if (c.skip)
            yr = yr + sr;
        torch::manual_seed(1000 + step);
        const torch::Tensor yf = c.skip ? fused->forwardAdd(xf, sf) : fused->forward(xf);
        f.check(tag + " output", closeDiff(yf, yr, rtol, atol));
        if (yf.suggest_memory_format() != x.suggest_memory_format())
            f.check(tag + " output memory format", "differs from the input's");
        // No upstream gradient where the pre-activation is within 1e-4 of 0: rounding may
        // take either side of the kink there in either implementation.
        const torch::Tensor g = torch::randn(c.shape) * (zr.detach().abs() > 1e-4).to(torch::kFloat);
        yr.backward(g);
        yf.backward(g);
        if (c.inputGrad)
            f.check(tag + " input gradient", closeDiff(xf.grad(), xr.grad(), rtol, atol));
        if (c.skip)
            f.check(tag + " skip gradient", closeDiff(sf.grad(), sr.grad(), 0, 0));
        if (c.options.affine()) {
            f.check(tag + " weight gradient",
                    closeDiffOfSums(fused->weight.grad(), ref->named_parameters()["weight"].grad(), rtol, atol));
            f.check(tag + " bias gradient", closeDiffOfSums(fused->bias.grad(), ref->named_parameters()["bias"].grad(), rtol, atol));
        }
        if (c.options.track_running_stats()) {
            const auto rb = ref->named_buffers();
            f.check(tag + " running_mean", closeDiff(fused->running_mean, rb["running_mean"], rtol, atol));
            f.check(tag + " running_var", closeDiff(fused->running_var, rb["running_var"], rtol, atol));
            f.check(tag + " num_batches_tracked", closeDiff(fused->num_batches_tracked, rb["num_batches_tracked"], 0, 0));
        }
    }
    ref->eval();
    fused->eval();
    torch::NoGradGuard noGrad;
    if (c.options.track_running_stats()) {   // the same statistics, so that only evaluation is compared
        ref->named_buffers()["running_mean"].copy_(fused->running_mean);
        ref->named_buffers()["running_var"].copy_(fused->running_var);
    }
    const torch::Tensor x = normInput(c);
    const torch::Tensor skip = c.skip ? normInput(c) : torch::Tensor();
    torch::Tensor yr = activate(refModule.forward(x), c);
    if (c.skip)
        yr = yr + skip;
    const torch::Tensor yf = c.skip ? fused->forwardAdd(x, skip) : fused->forward(x);
    f.check(c.name + " eval output", closeDiff(yf, yr, rtol, atol));
}

void compareNorm(Failures& f, const NormCase& c, double rtol = 1e-4, double atol = 1e-5)
{
    try {
        compareNormSteps(f, c, rtol, atol);
    } catch (const std::exception& e) {
        f.check(c.name, "threw: " + firstLine(e));
    }
}

const char* actName(Act a)
{
    return a == Act::None ? "none" : a == Act::Relu ? "relu" : "leaky_relu";
}

std::vector<NormCase> normCases()
{
    struct Form {
        Act activation;
        double slope;
    };
    const std::vector<Form> forms{{Act::None, 0.0}, {Act::Relu, 0.0}, {Act::LeakyRelu, 0.01}, {Act::LeakyRelu, 0.2}};
    const std::vector<std::vector<int64_t>> shapes{{2, 1},  {5, 3},   {64, 64},       {300, 17},     {32, 20},
                                                   {5, 3, 7, 7}, {2, 16, 8, 8}, {64, 17, 1, 1}, {3, 64, 4, 5}};
    std::vector<NormCase> cases;
    for (const auto& shape : shapes)
        for (const Form& form : forms)
            for (int variant = 0; variant < 4; ++variant) {
                NormCase c;
                c.shape = shape;
                c.activation = form.activation;
                c.slope = form.slope;
                c.options = torch::nn::BatchNormOptions(shape[1]);
                std::ostringstream name;
                name << shapeOf(torch::empty(shape)) << " " << actName(form.activation);
                if (form.activation == Act::LeakyRelu)
                    name << "(" << form.slope << ")";
                switch (variant) {
                case 0: break;
                case 1:
                    c.options.affine(false);
                    c.options.momentum(0.3);
                    name << " no affine, momentum 0.3";
                    break;
                case 2:
                    c.options.track_running_stats(false);
                    c.inputGrad = false;
                    name << " no running stats, no input gradient";
                    break;
                case 3:
                    c.options.momentum(c10::nullopt);
                    // 4-D: a residual tail, inputs with a mean far from 0; 2-D: dropout
                    c.skip = shape.size() == 4;
                    c.dropout = shape.size() == 2 ? 0.3 : 0.0;
                    c.offset = c.skip ? 50.0 : 0.0;
                    name << " cumulative average" << (c.skip ? ", mean 50, skip" : ", dropout 0.3");
                    break;
                }
                c.name = name.str();
                cases.push_back(c);
            }
    return cases;
}

// ---------------------------------------------------------------------------------------
// Whole networks, fused and plain

ModelSpec modelByName(const std::string& name)
{
    // The zoo's tabular MLP (its first dropout fused, the second after a leaky ReLU), and a
    // batch norm with no activation before tanh.
    if (name == "tabular")
        return handModel(R"([
            {"type": "flatten"},
            {"type": "linear", "out_features": 64},
            {"type": "batchnorm1d"},
            {"type": "relu"},
            {"type": "dropout", "p": 0.2},
            {"type": "linear", "out_features": 32},
            {"type": "batchnorm1d", "momentum": 0.3},
            {"type": "leaky_relu", "negative_slope": 0.1},
            {"type": "dropout", "p": 0.5},
            {"type": "linear", "out_features": 16, "bias": false},
            {"type": "batchnorm1d", "affine": false},
            {"type": "tanh"},
            {"type": "linear", "out_features": 10}])",
                         {20});
    // Linear layers with each activation fused into their node (leaky ReLU with a slope
    // of 0 too), a linear without bias, and one followed by an activation that is not fused.
    if (name == "mlp-activations")
        return handModel(R"([
            {"type": "flatten"},
            {"type": "linear", "out_features": 32},
            {"type": "tanh"},
            {"type": "linear", "out_features": 32},
            {"type": "sigmoid"},
            {"type": "linear", "out_features": 24, "bias": false},
            {"type": "leaky_relu", "negative_slope": 0.1},
            {"type": "linear", "out_features": 24},
            {"type": "leaky_relu", "negative_slope": 0.0},
            {"type": "linear", "out_features": 16},
            {"type": "gelu"},
            {"type": "linear", "out_features": 16},
            {"type": "relu"},
            {"type": "linear", "out_features": 10}])",
                         {20});
    // ResNet-20's basic block: the body ends in batchnorm2d, the ReLU follows the addition.
    if (name == "resnet-block")
        return handModel(R"([
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "bias": false},
            {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "residual", "layers": [
                {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "bias": false},
                {"type": "batchnorm2d"},
                {"type": "relu"},
                {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "bias": false},
                {"type": "batchnorm2d"}]},
            {"type": "relu"},
            {"type": "residual", "layers": [
                {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1, "bias": false},
                {"type": "batchnorm2d"},
                {"type": "leaky_relu", "negative_slope": 0.05},
                {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1, "bias": false},
                {"type": "batchnorm2d"}]},
            {"type": "relu"},
            {"type": "adaptive_avgpool2d", "output_size": 1},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                         {3, 8, 8});
    // batchnorm2d before tanh (not fused: the batch norm alone) and before pooling.
    if (name == "bn-tanh")
        return handModel(R"([
            {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "bias": false},
            {"type": "batchnorm2d"},
            {"type": "tanh"},
            {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1},
            {"type": "batchnorm2d"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                         {1, 13, 13});
    qFatal("no model %s", name.c_str());
    return {};
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

void compareModelSteps(Failures& f, const std::string& name, bool channelsLast, std::string& phase)
{
    const ModelSpec spec = modelByName(name);
    const std::string what = name + (channelsLast ? " NHWC" : " NCHW");
    phase = "building";
    torch::manual_seed(7);
    torch::nn::Sequential plain = nnlab::detail::buildModel(spec, false);
    torch::manual_seed(7);
    torch::nn::Sequential fused = nnlab::detail::buildModel(spec, true);
    const auto pp = plain->named_parameters(), fp = fused->named_parameters();
    const auto pb = plain->named_buffers(), fb = fused->named_buffers();
    if (pp.keys() != fp.keys() || pb.keys() != fb.keys()) {
        f.check(what, "parameter or buffer names differ");
        return;
    }
    for (const auto& item : pp)
        f.check(what + " initial " + item.key(), closeDiff(fp[item.key()], item.value(), 0, 0));
    nnlab::detail::Execution e;
    e.threads = at::get_num_threads();
    e.channelsLast = channelsLast;
    e.nativeConvs.assign(64, false);
    nnlab::detail::applyExecution(e, plain);
    nnlab::detail::applyExecution(e, fused);

    std::vector<int64_t> shape{32};
    shape.insert(shape.end(), spec.input.begin(), spec.input.end());
    plain->train();
    fused->train();
    torch::optim::SGD plainOpt(plain->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    torch::optim::SGD fusedOpt(fused->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    for (int step = 0; step < 4; ++step) {
        const std::string tag = what + " step " + std::to_string(step + 1);
        const double r = step == 0 ? 1e-4 : 1e-3, a = step == 0 ? 1e-5 : 1e-4;
        const torch::Tensor x = nnlab::detail::toExecutionFormat(torch::randn(shape), e);
        const torch::Tensor y = torch::randint(0, 10, {shape[0]}, torch::kLong);
        plainOpt.zero_grad();
        fusedOpt.zero_grad();
        phase = tag + " forward";
        torch::manual_seed(100 + step);   // the same dropout noise
        const torch::Tensor outPlain = plain->forward(x);
        torch::manual_seed(100 + step);
        const torch::Tensor outFused = fused->forward(x);
        f.check(tag + " output", closeDiff(outFused, outPlain, r, a));
        const torch::Tensor lossPlain = torch::cross_entropy_loss(outPlain, y);
        const torch::Tensor lossFused = torch::cross_entropy_loss(outFused, y);
        phase = tag + " backward";
        lossPlain.backward();
        lossFused.backward();
        if (step == 0)
            for (const auto& item : pp)
                f.check(tag + " gradient of " + item.key(), closeDiffOfSums(fp[item.key()].grad(), item.value().grad(), r, a));
        plainOpt.step();
        fusedOpt.step();
    }
    for (const auto& item : pp)
        f.check(what + " after SGD " + item.key(), closeDiff(fp[item.key()], item.value(), 1e-3, 1e-4));
    for (const auto& item : pb)
        f.check(what + " after SGD buffer " + item.key(), closeDiff(fb[item.key()], item.value(), 1e-3, 1e-4));
    phase = "evaluation";
    copyState(plain, fused);
    plain->eval();
    fused->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor x = nnlab::detail::toExecutionFormat(torch::randn(shape), e);
    f.check(what + " eval output", closeDiff(fused->forward(x), plain->forward(x), 1e-4, 1e-5));
}

} // namespace

class TestFusedLayers : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        torch::manual_seed(20261130);
        at::set_num_threads(1);
    }

    void batchNormMatchesLibTorch()
    {
        Failures f;
        const std::vector<NormCase> cases = normCases();
        for (const NormCase& c : cases)
            compareNorm(f, c);
        QVERIFY(cases.size() >= 100);
        REPORT_FAILURES(f);
    }

    void crossEntropyMatchesLibTorch()
    {
        Failures f;
        for (const auto& [n, k] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 5}, {5, 3}, {32, 10}, {64, 2}, {300, 100}, {7, 1000}})
            for (const double spread : {1.0, 30.0}) {
                const std::string tag = "[" + std::to_string(n) + ", " + std::to_string(k) + "] spread " + std::to_string(spread);
                const torch::Tensor x = torch::randn({n, k}) * spread + 5.0;
                const torch::Tensor t = torch::randint(0, k, {n}, torch::kLong);
                const torch::Tensor xr = x.clone().requires_grad_(true), xf = x.clone().requires_grad_(true);
                const torch::Tensor lr = torch::nn::functional::cross_entropy(xr, t);
                const torch::Tensor lf = nnlab::detail::crossEntropy(xf, t);
                f.check(tag + " loss", closeDiff(lf, lr, 1e-5, 1e-6));
                if (lf.grad_fn() == nullptr || lf.dim() != 0)
                    f.check(tag, "not a scalar with a gradient function");
                (lr * 0.7).backward();
                (lf * 0.7).backward();
                f.check(tag + " gradient", closeDiff(xf.grad(), xr.grad(), 1e-5, 1e-7));
                torch::NoGradGuard noGrad;
                f.check(tag + " without autograd", closeDiff(nnlab::detail::crossEntropy(x, t), lr, 1e-5, 1e-6));
            }
        // a non-contiguous view of the logits
        const torch::Tensor wide = torch::randn({8, 12});
        const torch::Tensor view = wide.slice(1, 0, 12, 2), t = torch::randint(0, 6, {8}, torch::kLong);
        f.check("strided logits", closeDiff(nnlab::detail::crossEntropy(view, t), torch::nn::functional::cross_entropy(view, t), 1e-5, 1e-6));
        REPORT_FAILURES(f);
        // LibTorch's own errors for targets it cannot take
        QVERIFY_THROWS_EXCEPTION(std::exception, nnlab::detail::crossEntropy(torch::randn({3, 4}), torch::tensor({0, 4, 1}, torch::kLong)));
        QVERIFY_THROWS_EXCEPTION(std::exception, nnlab::detail::crossEntropy(torch::randn({3, 4}), torch::tensor({0, -3, 1}, torch::kLong)));
        // ignore_index (-100): LibTorch's meaning, the mean over the other targets
        const torch::Tensor x = torch::randn({3, 4});
        const torch::Tensor ignoring = torch::tensor({0, -100, 1}, torch::kLong);
        QVERIFY(closeDiff(nnlab::detail::crossEntropy(x, ignoring), torch::nn::functional::cross_entropy(x, ignoring), 0, 0).empty());
    }

    // The kernels split rows among threads, with per-thread partial sums.
    void multiThreaded()
    {
        ThreadScope threads(2);
        Failures f;
        for (const auto& shape : std::vector<std::vector<int64_t>>{{1024, 64}, {64, 32, 16, 16}})
            for (const Act act : {Act::None, Act::Relu}) {
                NormCase c;
                c.shape = shape;
                c.activation = act;
                c.options = torch::nn::BatchNormOptions(shape[1]);
                c.name = shapeOf(torch::empty(shape)) + " 2 threads " + actName(act);
                compareNorm(f, c);
            }
        REPORT_FAILURES(f);
    }

    // Inputs the kernels do not take run LibTorch's batch_norm: 3-D BatchNorm1d, NCHW 4-D,
    // doubles, and a batch of one (which throws in training, as BatchNorm1d does).
    void fallbacks()
    {
        Failures f;
        for (const auto& shape : std::vector<std::vector<int64_t>>{{4, 6, 5}, {3, 5, 4, 4}})
            for (const Act act : {Act::None, Act::LeakyRelu}) {
                NormCase c;
                c.shape = shape;
                c.channelsLast = false;
                c.activation = act;
                c.slope = 0.1;
                c.options = torch::nn::BatchNormOptions(shape[1]);
                c.name = shapeOf(torch::empty(shape)) + " fallback " + actName(act);
                compareNorm(f, c);
            }
        REPORT_FAILURES(f);

        BatchNormRelu fused(torch::nn::BatchNormOptions(3), Act::None);
        fused->to(torch::kDouble);
        torch::nn::BatchNorm1d ref(3);
        ref->to(torch::kDouble);
        const torch::Tensor x = torch::randn({6, 3}, torch::kDouble);
        QVERIFY(closeDiff(fused->forward(x), ref->forward(x), 1e-12, 1e-12).empty());
        QVERIFY_THROWS_EXCEPTION(std::exception, fused->forward(torch::randn({1, 3}, torch::kDouble)));
        BatchNormRelu single(torch::nn::BatchNormOptions(3), Act::Relu);
        QVERIFY_THROWS_EXCEPTION(std::exception, single->forward(torch::randn({1, 3})));
    }

    void modelsMatch_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<bool>("channelsLast");
        for (const char* name : {"tabular", "mlp-activations", "resnet-block", "bn-tanh"})
            for (const bool nhwc : {true, false}) {
                if ((std::string(name) == "tabular" || std::string(name) == "mlp-activations") && !nhwc)
                    continue;
                QTest::newRow((std::string(name) + (nhwc ? " NHWC" : " NCHW")).c_str()) << QString(name) << nhwc;
            }
    }

    void modelsMatch()
    {
        QFETCH(QString, model);
        QFETCH(bool, channelsLast);
        Failures f;
        std::string phase;
        try {
            compareModelSteps(f, model.toStdString(), channelsLast, phase);
        } catch (const std::exception& e) {
            f.check(model.toStdString(), "threw in " + phase + ": " + firstLine(e));
        }
        REPORT_FAILURES(f);
    }
};

QTEST_APPLESS_MAIN(TestFusedLayers)
#include "test_fused_layers.moc"
