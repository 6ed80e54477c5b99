// The flat optimizer (engine/src/train/flat_optim.h) against torch::optim (1.13): the same
// network, built twice under the same seed, is trained for 120 steps on the same batches, one
// copy stepped by FlatOptimizer and one by torch::optim's SGD, Adam, AdamW or RMSprop with
// options set from the same OptimizerSpec; every parameter and buffer must then agree within
// float tolerance. The learning rate changes every step (as a schedule changes it), so terms
// that multiply by it (AdamW's decoupled decay) are covered. Gradient clipping by norm and by
// value is compared against torch::nn::utils::clip_grad_norm_ / clip_grad_value_ on the way.
// detectsADifference() shows the comparison fails when one option differs slightly.
//
// Everything runs on one intra-op thread, so that the forward and backward passes of the two
// copies are bit-identical and only the optimizers' arithmetic can differ.
//
// Qt's `slots` keyword breaks ATen's headers: keywords off (also set by CMake), LibTorch and
// engine headers first, Qt last.
#ifndef QT_NO_KEYWORDS
#define QT_NO_KEYWORDS
#endif

#include "builder.h"
#include "flat_optim.h"

#include "nnlab/spec_json.h"

#include <torch/torch.h>

#include <QtTest>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>

using namespace nnlab;

Q_DECLARE_METATYPE(nnlab::OptimizerSpec)

namespace {

constexpr int kSteps = 120;
constexpr int64_t kBatch = 16;
constexpr int kBatches = 4;       // cycled through
constexpr double kRelTol = 1e-4;  // of the tensor's largest magnitude
constexpr double kAbsTol = 1e-6;

// Images are parsed against Fashion-MNIST's [1, 28, 28] and then given a smaller input (the
// builder infers the linear layer's input size); flat samples against the spiral's [2].
ModelSpec modelSpec(const std::string& layersJson, bool images)
{
    const std::string data = images ? R"("fashion-mnist"}, "model": {"input": [1, 28, 28])"
                                    : R"("spiral", "classes": 3}, "model": {"input": [2])";
    const ParseResult r = parseExperiment(R"({"data": {"source": )" + data + R"(, "layers": )" + layersJson + "}}");
    if (!r.ok())
        qFatal("model: %s", r.errorText().c_str());
    ModelSpec model = r.spec.model;
    if (images)
        model.input = {1, 8, 8};
    return model;
}

// conv + batchnorm + relu + pool + linear: convolution and batchnorm parameters, running
// statistics, the fused kernels the trainer uses. The convolution has no bias: before a
// batchnorm its gradient is rounding noise, which Adam and RMSprop scale up to full steps,
// so the two copies' biases would part for reasons that are not the optimizers'.
ModelSpec modelByName(const std::string& name)
{
    if (name == "cnn")
        return modelSpec(R"([
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "bias": false},
            {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                         true);
    if (name == "mlp")
        return modelSpec(R"([
            {"type": "linear", "out_features": 16},
            {"type": "relu"},
            {"type": "linear", "out_features": 3}])",
                         false);
    // Over 2^18 parameters (272,403): clipGradNorm takes LibTorch's norm instead of its plain loop.
    if (name == "wide-mlp")
        return modelSpec(R"([
            {"type": "linear", "out_features": 640},
            {"type": "tanh"},
            {"type": "linear", "out_features": 420},
            {"type": "tanh"},
            {"type": "linear", "out_features": 3}])",
                         false);
    qFatal("no model %s", name.c_str());
    return {};
}

std::unique_ptr<torch::optim::Optimizer> referenceOptimizer(const OptimizerSpec& s, std::vector<torch::Tensor> params)
{
    namespace optim = torch::optim;
    if (s.type == "sgd")
        return std::make_unique<optim::SGD>(params, optim::SGDOptions(s.lr).momentum(s.momentum)
                                                        .nesterov(s.nesterov).weight_decay(s.weightDecay));
    if (s.type == "adam")
        return std::make_unique<optim::Adam>(params, optim::AdamOptions(s.lr).betas({s.beta1, s.beta2})
                                                         .eps(s.eps).weight_decay(s.weightDecay));
    if (s.type == "adamw")
        return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(s.lr).betas({s.beta1, s.beta2})
                                                          .eps(s.eps).weight_decay(s.weightDecay));
    if (s.type == "rmsprop")
        return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions(s.lr).alpha(s.alpha).eps(s.eps)
                                                            .weight_decay(s.weightDecay).momentum(s.momentum));
    qFatal("no optimizer %s", s.type.c_str());
    return nullptr;
}

struct Batch {
    torch::Tensor x, y;
};

std::vector<Batch> batches(const ModelSpec& spec, torch::ScalarType dtype)
{
    const int64_t classes = static_cast<int64_t>(spec.layers.back().option("out_features"));
    torch::manual_seed(1234);
    std::vector<int64_t> shape{kBatch};
    shape.insert(shape.end(), spec.input.begin(), spec.input.end());
    std::vector<Batch> out;
    for (int i = 0; i < kBatches; ++i)
        out.push_back({torch::randn(shape).to(dtype), torch::randint(0, classes, {kBatch}, torch::kLong)});
    return out;
}

torch::nn::Sequential build(const ModelSpec& spec, torch::ScalarType dtype)
{
    torch::manual_seed(7);
    torch::nn::Sequential model = nnlab::detail::buildModel(spec);
    model->to(dtype);
    model->train();
    return model;
}

// The learning rate of step i: varies as a schedule would, never zero.
double lrAt(double base, int i) { return base * (0.55 + 0.45 * std::cos(0.05 * i)); }

// "" when |a - b| <= kAbsTol + kRelTol * max|b| everywhere; else the worst element.
std::string compare(const std::string& name, const torch::Tensor& a, const torch::Tensor& b)
{
    const torch::Tensor da = a.detach().to(torch::kDouble), db = b.detach().to(torch::kDouble);
    if (!torch::isfinite(da).all().item<bool>())
        return name + ": not finite";
    const double scale = db.abs().max().item<double>();
    const double worst = (da - db).abs().max().item<double>();
    if (worst <= kAbsTol + kRelTol * scale)
        return "";
    std::ostringstream s;
    s << name << ": differs by up to " << worst << " (largest magnitude " << scale << ")";
    return s.str();
}

struct Run {
    OptimizerSpec flatSpec, referenceSpec;   // the same, except in detectsADifference()
    std::string model = "cnn";
    torch::ScalarType dtype = torch::kFloat;
    double clipNorm = 0.0;
    double clipValue = 0.0;
};

// Trains both copies; "" when they agree at the end (and the clipping norms on the way).
std::string trainBoth(const Run& run)
{
    const ModelSpec spec = modelByName(run.model);
    const std::vector<Batch> data = batches(spec, run.dtype);
    torch::nn::Sequential flatModel = build(spec, run.dtype);
    torch::nn::Sequential refModel = build(spec, run.dtype);
    nnlab::detail::FlatOptimizer flat(run.flatSpec, flatModel->parameters());
    std::unique_ptr<torch::optim::Optimizer> ref = referenceOptimizer(run.referenceSpec, refModel->parameters());

    for (int i = 0; i < kSteps; ++i) {
        const Batch& b = data[static_cast<size_t>(i % kBatches)];
        flat.zeroGrad();
        torch::nn::functional::cross_entropy(flatModel->forward(b.x), b.y).backward();
        ref->zero_grad();
        torch::nn::functional::cross_entropy(refModel->forward(b.x), b.y).backward();

        if (run.clipNorm > 0) {
            const double before = flat.gradNorm().item<double>();
            const double flatNorm = flat.clipGradNorm(run.clipNorm).item<double>();
            const double refNorm = torch::nn::utils::clip_grad_norm_(refModel->parameters(), run.clipNorm);
            if (std::abs(flatNorm - refNorm) > 1e-4 * refNorm + 1e-7 || std::abs(before - refNorm) > 1e-4 * refNorm + 1e-7)
                return "step " + std::to_string(i) + ": gradient norm " + std::to_string(flatNorm) + " (gradNorm "
                       + std::to_string(before) + ") against clip_grad_norm_'s " + std::to_string(refNorm);
        }
        if (run.clipValue > 0) {
            flat.clipGradValue(run.clipValue);
            torch::nn::utils::clip_grad_value_(refModel->parameters(), run.clipValue);
        }
        if (run.clipNorm > 0 || run.clipValue > 0) {
            const auto fp = flatModel->named_parameters(), rp = refModel->named_parameters();
            for (size_t k = 0; k < fp.size(); ++k) {
                const std::string diff = compare(fp[k].key() + " (gradient)", fp[k].value().grad(), rp[k].value().grad());
                if (!diff.empty())
                    return "step " + std::to_string(i) + ": " + diff;
            }
        }

        const double lr = lrAt(run.flatSpec.lr, i);
        flat.step(lr);
        for (auto& group : ref->param_groups())
            group.options().set_lr(lrAt(run.referenceSpec.lr, i));
        ref->step();
    }

    const torch::nn::Sequential start = build(spec, run.dtype);
    const auto fp = flatModel->named_parameters(), rp = refModel->named_parameters();
    for (size_t k = 0; k < fp.size(); ++k) {
        if (torch::equal(fp[k].value(), start->named_parameters()[fp[k].key()]))
            return fp[k].key() + ": never changed";   // the comparison would prove nothing
        const std::string diff = compare(fp[k].key(), fp[k].value(), rp[k].value());
        if (!diff.empty())
            return diff;
    }
    const auto fb = flatModel->named_buffers(), rb = refModel->named_buffers();
    for (size_t k = 0; k < fb.size(); ++k) {
        const std::string diff = compare(fb[k].key(), fb[k].value(), rb[k].value());
        if (!diff.empty())
            return diff;
    }
    return "";
}

OptimizerSpec optimizer(const std::string& type, double lr)
{
    OptimizerSpec s;
    s.type = type;
    s.lr = lr;
    return s;
}

} // namespace

class TestOptimEquivalence : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { at::set_num_threads(1); }

    void matchesTorchOptim_data()
    {
        QTest::addColumn<OptimizerSpec>("spec");
        QTest::addColumn<QString>("model");
        QTest::addColumn<bool>("useDouble");
        QTest::addColumn<double>("clipNorm");
        QTest::addColumn<double>("clipValue");

        struct Row {
            const char* name;
            OptimizerSpec spec;
            double clipNorm = 0.0;
            double clipValue = 0.0;
        };
        std::vector<Row> rows;
        const auto add = [&](const char* name, OptimizerSpec s, double clipNorm = 0.0, double clipValue = 0.0) {
            rows.push_back({name, s, clipNorm, clipValue});
        };
        {
            OptimizerSpec s = optimizer("sgd", 0.05);
            add("sgd", s);
            add("sgd clip-norm", s, 0.5);
            s.momentum = 0.9;
            add("sgd momentum", s);
            s.weightDecay = 0.01;
            add("sgd momentum decay", s);
            s.nesterov = true;
            add("sgd nesterov decay", s);
            s.weightDecay = 0.0;
            add("sgd nesterov", s);
            add("sgd nesterov clip-value", s, 0.0, 0.05);
        }
        {
            OptimizerSpec s = optimizer("adam", 0.01);
            add("adam", s);
            add("adam clip-norm", s, 0.3);
            s.weightDecay = 0.01;
            add("adam decay", s);
            s.beta1 = 0.8;
            s.beta2 = 0.99;
            s.eps = 1e-6;
            add("adam decay betas eps clip-value", s, 0.0, 0.02);
        }
        {
            OptimizerSpec s = optimizer("adamw", 0.01);
            add("adamw no decay", s);
            s.weightDecay = 0.1;
            add("adamw decay", s);
            add("adamw decay clip-norm clip-value", s, 0.5, 0.05);
        }
        {
            OptimizerSpec s = optimizer("rmsprop", 0.002);
            add("rmsprop", s);
            s.weightDecay = 0.01;
            add("rmsprop decay", s);
            s.momentum = 0.9;
            add("rmsprop momentum decay", s);
            s.weightDecay = 0.0;
            s.alpha = 0.9;
            add("rmsprop momentum alpha", s);
            add("rmsprop momentum clip-value", s, 0.0, 0.05);
        }
        for (const char* model : {"cnn", "mlp"})
            for (const Row& r : rows)
                QTest::newRow((std::string(model) + " " + r.name).c_str())
                    << r.spec << QString(model) << false << r.clipNorm << r.clipValue;
        // Doubles take the generic tensor-operation path of the Adam step. A model of over 2^18
        // parameters takes LibTorch's norm in clipGradNorm; with SGD, whose step matches torch's
        // bit for bit, only the clipping can differ. (Float Adam on it is left out: its one-pass
        // loop rounds a few terms differently from ATen's fused multiply-adds, and on 270,000
        // parameters Adam's normalisation grows those last-bit differences to the tolerance.)
        for (const Row& r : rows)
            QTest::newRow((std::string("mlp double ") + r.name).c_str())
                << r.spec << QString("mlp") << true << r.clipNorm << r.clipValue;
        OptimizerSpec sgd = optimizer("sgd", 0.05);
        sgd.momentum = 0.9;
        QTest::newRow("wide-mlp sgd momentum clip-norm") << sgd << QString("wide-mlp") << false << 0.5 << 0.0;
        // the one-pass SGD loop over more than one thread's share of elements (65,536)
        OptimizerSpec nesterov = sgd;
        nesterov.nesterov = true;
        nesterov.weightDecay = 0.01;
        QTest::newRow("wide-mlp sgd nesterov decay") << nesterov << QString("wide-mlp") << false << 0.0 << 0.0;
        OptimizerSpec rmsprop = optimizer("rmsprop", 0.0005);
        rmsprop.momentum = 0.5;
        rmsprop.weightDecay = 0.01;
        QTest::newRow("wide-mlp double rmsprop momentum decay") << rmsprop << QString("wide-mlp") << true << 0.0 << 0.0;
        OptimizerSpec adamw = optimizer("adamw", 0.01);
        adamw.weightDecay = 0.1;
        QTest::newRow("wide-mlp double adamw decay clip-norm") << adamw << QString("wide-mlp") << true << 0.5 << 0.0;
    }

    void matchesTorchOptim()
    {
        QFETCH(OptimizerSpec, spec);
        QFETCH(QString, model);
        QFETCH(bool, useDouble);
        QFETCH(double, clipNorm);
        QFETCH(double, clipValue);
        Run run;
        run.flatSpec = run.referenceSpec = spec;
        run.model = model.toStdString();
        run.dtype = useDouble ? torch::kDouble : torch::kFloat;
        run.clipNorm = clipNorm;
        run.clipValue = clipValue;
        const std::string diff = trainBoth(run);
        QVERIFY2(diff.empty(), diff.c_str());
    }

    // The comparison is sharp enough to see one option slightly off.
    void detectsADifference_data()
    {
        QTest::addColumn<OptimizerSpec>("flatSpec");
        QTest::addColumn<OptimizerSpec>("referenceSpec");
        OptimizerSpec sgd = optimizer("sgd", 0.05);
        sgd.momentum = 0.9;
        OptimizerSpec sgdOff = sgd;
        sgdOff.momentum = 0.89;
        QTest::newRow("sgd momentum 0.9 vs 0.89") << sgd << sgdOff;
        OptimizerSpec adamw = optimizer("adamw", 0.01);
        adamw.weightDecay = 0.1;
        OptimizerSpec adamwOff = adamw;
        adamwOff.weightDecay = 0.09;
        QTest::newRow("adamw decay 0.1 vs 0.09") << adamw << adamwOff;
        OptimizerSpec rms = optimizer("rmsprop", 0.002);
        OptimizerSpec rmsOff = rms;
        rmsOff.alpha = 0.985;
        QTest::newRow("rmsprop alpha 0.99 vs 0.985") << rms << rmsOff;
    }

    void detectsADifference()
    {
        QFETCH(OptimizerSpec, flatSpec);
        QFETCH(OptimizerSpec, referenceSpec);
        Run run;
        run.flatSpec = flatSpec;
        run.referenceSpec = referenceSpec;
        QVERIFY(!trainBoth(run).empty());
    }
};

QTEST_APPLESS_MAIN(TestOptimEquivalence)
#include "test_optim_equivalence.moc"
