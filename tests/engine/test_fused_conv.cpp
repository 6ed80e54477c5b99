// The convolutional fast paths of engine/src/train/fused_ops.h against LibTorch's operators:
// - depthwiseConv2d against torch::conv2d with groups = channels: output, input, weight and
//   bias gradients within float tolerance, for the zoo MobileNet's layer shapes, odd sizes
//   and channel counts that are not a multiple of 16 (partial vector blocks), 3x3 and 5x5
//   kernels, strides 1-3, paddings 0-2, with and without bias, NCHW and NHWC inputs, inputs
//   with and without a gradient, one and two intra-op threads;
// - depthwiseKernelApplies refuses what the kernel does not cover (other kernel sizes,
//   dilation, channel multipliers, dtypes, inputs smaller than the kernel);
// - ActAvgPool (activation + average pooling) against LibTorch's activation + avg_pool2d:
//   every activation, kernels 1-4, strides 1-3, padding, odd sizes, both memory formats,
//   inputs in the activations' flat tails and near 0; the fallbacks are LibTorch's;
// - whole networks built fused and plain (buildModel's `fuse`): the zoo's LeNet-5 and
//   MobileNet, a depthwise net and a pooling net with odd shapes give the same outputs and
//   gradients.
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

namespace {

struct DwCase {
    int64_t n, c, h, w, k, stride, padding;
    bool bias, nhwc, inputGrad;
    std::string name() const
    {
        std::ostringstream s;
        s << (nhwc ? "NHWC" : "NCHW") << " [" << n << "," << c << "," << h << "," << w << "] k" << k << " s" << stride
          << " p" << padding << (bias ? " bias" : "") << (inputGrad ? " dx" : "");
        return s.str();
    }
};

// One case: forward and backward through the kernel and through torch::conv2d.
void compareDepthwise(Failures& f, const DwCase& c)
{
    torch::manual_seed(static_cast<uint64_t>(c.c * 131 + c.h * 7 + c.k + c.stride * 3 + c.padding));
    const auto format = c.nhwc ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    const torch::Tensor x0 = torch::randn({c.n, c.c, c.h, c.w}).contiguous(format);
    const torch::Tensor w0 = torch::randn({c.c, 1, c.k, c.k}) * 0.3;
    const torch::Tensor b0 = c.bias ? torch::randn({c.c}) : torch::Tensor();
    const std::string what = "depthwise " + c.name();
    if (!nnlab::detail::depthwiseKernelApplies(x0, w0, c.c, c.stride, c.padding, 1)) {
        f.check(what, "kernel refused a case it covers");
        return;
    }
    std::vector<torch::Tensor> results[2];
    torch::Tensor gy;
    for (int fused = 0; fused < 2; ++fused) {
        const torch::Tensor x = x0.clone().requires_grad_(c.inputGrad);
        const torch::Tensor w = w0.clone().requires_grad_(true);
        const torch::Tensor b = c.bias ? b0.clone().requires_grad_(true) : torch::Tensor();
        const torch::Tensor y = fused ? nnlab::detail::depthwiseConv2d(x, w, b, c.stride, c.padding)
                                      : torch::conv2d(x, w, b, c.stride, c.padding, 1, c.c);
        // a gradient that is not uniform (the same for both), in the layout the next layer would hand back
        if (!fused)
            gy = (torch::randn_like(y.detach().contiguous()) + 0.5).contiguous(format);
        if (fused && y.is_contiguous(format) == false)
            f.check(what, "output not in the input's memory format");
        y.backward(gy);
        results[fused] = {y.detach(), c.inputGrad ? x.grad() : torch::Tensor(), w.grad(),
                          c.bias ? b.grad() : torch::Tensor()};
    }
    const char* names[] = {"output", "input gradient", "weight gradient", "bias gradient"};
    for (size_t i = 0; i < 4; ++i)
        f.check(what + " " + names[i], closeDiffOfSums(results[1][i], results[0][i], 1e-5, 1e-5));
}

std::vector<DwCase> depthwiseCases()
{
    std::vector<DwCase> cases;
    // the zoo MobileNet's depthwise layers at batch 8 (3x3, padding 1, strides 1 and 2)
    for (const auto& [c, hw, s] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
             {32, 32, 1}, {64, 32, 2}, {128, 16, 1}, {128, 16, 2}, {256, 8, 1}})
        cases.push_back({8, c, hw, hw, 3, s, 1, false, true, true});
    // odd sizes and channel counts, every stride and padding, both kernels and formats
    for (int64_t ch : {1, 3, 17, 40})
        for (int64_t k : {3, 5})
            for (int64_t s : {1, 2, 3})
                for (int64_t p : {0, 1, 2})
                    for (bool nhwc : {true, false}) {
                        const bool bias = (ch + s + p) % 2 == 0;
                        const bool inputGrad = (k + p) % 3 != 0;
                        cases.push_back({3, ch, 11, 9, k, s, p, bias, nhwc, inputGrad});
                    }
    // the smallest input a 5x5 kernel fits with padding 2, and a 1x1 output
    cases.push_back({2, 5, 1, 1, 5, 1, 2, true, true, true});
    cases.push_back({2, 16, 5, 5, 5, 1, 0, true, true, true});
    return cases;
}

struct PoolCase {
    nnlab::detail::ActAvgPoolImpl::Activation act;
    int64_t n, c, h, w, k, stride, padding;
    bool nhwc;
    double scale;   // of the input: 4 reaches tanh's and sigmoid's flat tails
    std::string name() const
    {
        static const char* const acts[] = {"none", "relu", "leaky_relu", "tanh", "sigmoid"};
        std::ostringstream s;
        s << acts[static_cast<int>(act)] << " " << (nhwc ? "NHWC" : "NCHW") << " [" << n << "," << c << "," << h << ","
          << w << "] k" << k << " s" << stride << " p" << padding << " x" << scale;
        return s.str();
    }
};

torch::Tensor libtorchActivation(nnlab::detail::ActAvgPoolImpl::Activation act, const torch::Tensor& x, double slope)
{
    using Act = nnlab::detail::ActAvgPoolImpl::Activation;
    switch (act) {
    case Act::None: return x;
    case Act::Relu: return torch::relu(x);
    case Act::LeakyRelu: return torch::leaky_relu(x, slope);
    case Act::Tanh: return torch::tanh(x);
    case Act::Sigmoid: return torch::sigmoid(x);
    }
    return x;
}

// One case: ActAvgPool against LibTorch's activation + avg_pool2d, forward and backward.
void compareActPool(Failures& f, const PoolCase& c)
{
    const double slope = 0.1;
    const std::string what = "act+avgpool " + c.name();
    torch::manual_seed(static_cast<uint64_t>(c.c * 31 + c.h + c.k * 5 + c.stride + c.padding * 7));
    const auto format = c.nhwc ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    const torch::Tensor x0 = (torch::randn({c.n, c.c, c.h, c.w}) * c.scale).contiguous(format);
    nnlab::detail::ActAvgPool fusedPool(
        torch::nn::AvgPool2dOptions(c.k).stride(c.stride).padding(c.padding), c.act, slope);
    // sigmoid runs LibTorch's operators for now (fused_act_pool.cpp): compared all the same
    if (fusedPool->kernelApplies(x0) != (c.act != nnlab::detail::ActAvgPoolImpl::Activation::Sigmoid)) {
        f.check(what, "kernel refused a case it covers, or took sigmoid");
        return;
    }
    std::vector<torch::Tensor> results[2];
    torch::Tensor gy;
    for (int fused = 0; fused < 2; ++fused) {
        const torch::Tensor x = x0.clone().requires_grad_(true);
        const torch::Tensor y = fused ? fusedPool->forward(x)
                                      : torch::avg_pool2d(libtorchActivation(c.act, x, slope), c.k, c.stride, c.padding);
        if (!fused)
            gy = torch::randn_like(y.detach().contiguous()).contiguous(format);
        if (fused && !y.is_contiguous(format))
            f.check(what, "output not in the input's memory format");
        y.backward(gy);
        results[fused] = {y.detach(), x.grad()};
    }
    f.check(what + " output", closeDiffOfSums(results[1][0], results[0][0], 2e-6, 2e-7));
    f.check(what + " input gradient", closeDiffOfSums(results[1][1], results[0][1], 2e-6, 2e-7));
}

std::vector<PoolCase> actPoolCases()
{
    using Act = nnlab::detail::ActAvgPoolImpl::Activation;
    std::vector<PoolCase> cases;
    for (Act act : {Act::None, Act::Relu, Act::LeakyRelu, Act::Tanh, Act::Sigmoid}) {
        // LeNet-5's two poolings at batch 8
        cases.push_back({act, 8, 6, 28, 28, 2, 2, 0, true, 1.0});
        cases.push_back({act, 8, 16, 10, 10, 2, 2, 0, false, 1.0});
        // odd sizes, overlapping and gapped windows, padding
        for (int64_t k : {1, 2, 3})
            for (int64_t s : {1, 2, 3})
                for (int64_t p = 0; p <= k / 2; ++p)
                    for (bool nhwc : {true, false})
                        cases.push_back({act, 3, 5, 11, 9, k, s, p, nhwc, (k + s) % 2 ? 4.0 : 1.0});
        // a window as large as the input, and values far into the tails and near 0
        cases.push_back({act, 2, 17, 4, 4, 4, 1, 0, true, 12.0});
        cases.push_back({act, 2, 3, 6, 6, 2, 2, 0, false, 1e-3});
    }
    return cases;
}

// An experiment's model, from a file under resources/experiments.
ModelSpec experimentModel(const char* file)
{
    const ParseResult r = loadExperimentFile(std::string(NNLAB_SOURCE_DIR "/resources/experiments/") + file);
    if (!r.ok())
        qFatal("%s: %s", file, r.errorText().c_str());
    ModelSpec model = r.spec.model;
    for (LayerSpec& layer : model.layers)   // the output layer's "as many as the data needs"
        if (layer.type == "linear" && layer.intOption("out_features") == 0)
            layer.options["out_features"] = 10;
    return model;
}

// Builds the network fused and plain from the same seed; one forward and backward pass in
// the trainer's layout: the same outputs and gradients.
void compareModels(Failures& f, const std::string& name, const ModelSpec& spec, bool channelsLast, int64_t batch,
                   double gradientRtol = 1e-3)
{
    torch::manual_seed(3);
    torch::nn::Sequential plain = nnlab::detail::buildModel(spec, false);
    torch::manual_seed(3);
    torch::nn::Sequential fused = nnlab::detail::buildModel(spec, true);
    for (const auto& m : fused->modules(/*include_self=*/false))   // off by default (builder.cpp)
        if (auto conv = std::dynamic_pointer_cast<nnlab::detail::TunedConv2dImpl>(m))
            conv->setDepthwiseKernel(true);
    nnlab::detail::Execution e;
    e.threads = at::get_num_threads();
    e.channelsLast = channelsLast;
    nnlab::detail::applyExecution(e, plain);
    nnlab::detail::applyExecution(e, fused);
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), spec.input.begin(), spec.input.end());
    const torch::Tensor x = nnlab::detail::toExecutionFormat(torch::randn(shape), e);
    torch::Tensor target;
    const std::string what = name + (channelsLast ? " NHWC" : " NCHW");
    torch::Tensor out[2];
    int i = 0;
    for (auto* model : {&plain, &fused}) {
        (*model)->train();
        out[i] = (*model)->forward(x);
        if (!target.defined())
            target = torch::randint(0, out[i].size(1), {batch}, torch::kLong);
        torch::nn::functional::cross_entropy(out[i], target).backward();
        ++i;
    }
    f.check(what + " output", closeDiffOfSums(out[1], out[0], 1e-4, 1e-5));
    const auto pp = plain->named_parameters(), fp = fused->named_parameters();
    for (const auto& item : pp)
        f.check(what + " gradient of " + item.key(), closeDiffOfSums(fp[item.key()].grad(), item.value().grad(), gradientRtol, 1e-5));
}

} // namespace

class TestFusedConv : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { at::set_num_threads(1); }

    void depthwiseMatchesConv2d()
    {
        Failures f;
        int count = 0;
        for (const DwCase& c : depthwiseCases()) {
            compareDepthwise(f, c);
            ++count;
        }
        f.report();
        QVERIFY2(f.list.isEmpty(), qPrintable(QString("%1 of %2 depthwise checks failed").arg(f.list.size()).arg(count)));
    }

    // The work split among threads: rows of the forward and input-gradient passes, and the
    // per-thread weight-gradient sums added up.
    void depthwiseMultiThreaded()
    {
        at::set_num_threads(2);
        Failures f;
        compareDepthwise(f, {16, 64, 32, 32, 3, 2, 1, true, true, true});
        compareDepthwise(f, {5, 24, 13, 15, 5, 1, 2, false, false, true});
        f.report();
        QVERIFY2(f.list.isEmpty(), "multi-threaded depthwise differs from conv2d");
    }

    void depthwiseRefusesWhatItDoesNotCover()
    {
        using nnlab::detail::depthwiseKernelApplies;
        const torch::Tensor x = torch::randn({2, 8, 10, 10});
        QVERIFY(depthwiseKernelApplies(x, torch::randn({8, 1, 3, 3}), 8, 1, 1, 1));
        QVERIFY(!depthwiseKernelApplies(x, torch::randn({8, 1, 7, 7}), 8, 1, 3, 1));    // kernel size
        QVERIFY(!depthwiseKernelApplies(x, torch::randn({8, 1, 3, 3}), 8, 1, 1, 2));    // dilation
        QVERIFY(!depthwiseKernelApplies(x, torch::randn({16, 1, 3, 3}), 8, 1, 1, 1));   // multiplier 2
        QVERIFY(!depthwiseKernelApplies(x, torch::randn({4, 2, 3, 3}), 4, 1, 1, 1));    // 2 channels a group
        QVERIFY(!depthwiseKernelApplies(x.to(torch::kDouble), torch::randn({8, 1, 3, 3}, torch::kDouble), 8, 1, 1, 1));
        QVERIFY(!depthwiseKernelApplies(torch::randn({2, 8, 2, 2}), torch::randn({8, 1, 5, 5}), 8, 1, 1, 1));
        QVERIFY(!depthwiseKernelApplies(torch::randn({8, 10, 10}), torch::randn({8, 1, 3, 3}), 8, 1, 1, 1));
    }

    void actAvgPoolMatchesLibTorch()
    {
        Failures f;
        int count = 0;
        for (const PoolCase& c : actPoolCases()) {
            compareActPool(f, c);
            ++count;
        }
        at::set_num_threads(2);
        using Act = nnlab::detail::ActAvgPoolImpl::Activation;
        compareActPool(f, {Act::Tanh, 16, 6, 28, 28, 2, 2, 0, true, 1.0});
        compareActPool(f, {Act::Sigmoid, 5, 7, 13, 11, 3, 2, 1, false, 2.0});
        f.report();
        QVERIFY2(f.list.isEmpty(), qPrintable(QString("%1 of %2 act+avgpool checks failed").arg(f.list.size()).arg(count + 2)));
    }

    // Outside what the kernel covers (ceil mode, a divisor, other ranks and dtypes), the
    // module is LibTorch's activation + avg_pool2d.
    void actAvgPoolFallbacks()
    {
        using Act = nnlab::detail::ActAvgPoolImpl::Activation;
        nnlab::detail::ActAvgPool ceil(torch::nn::AvgPool2dOptions(2).ceil_mode(true), Act::Tanh);
        const torch::Tensor x = torch::randn({2, 3, 7, 7});
        QVERIFY(!ceil->kernelApplies(x));
        QVERIFY(torch::equal(ceil->forward(x), torch::avg_pool2d(torch::tanh(x), 2, 2, 0, true)));
        nnlab::detail::ActAvgPool plain(torch::nn::AvgPool2dOptions(2), Act::Sigmoid);
        const torch::Tensor xd = torch::randn({2, 3, 6, 6}, torch::kDouble);
        QVERIFY(!plain->kernelApplies(xd));
        QVERIFY(!plain->kernelApplies(torch::randn({2, 3, 6, 6})));   // sigmoid: not yet
        QVERIFY(torch::equal(plain->forward(xd), torch::avg_pool2d(torch::sigmoid(xd), 2)));
        const torch::Tensor x3 = torch::randn({3, 6, 6});
        QVERIFY(!plain->kernelApplies(x3));
        QVERIFY(torch::equal(plain->forward(x3), torch::avg_pool2d(torch::sigmoid(x3), 2)));
    }

    void networksFusedMatchPlain()
    {
        Failures f;
        const ModelSpec mobilenet = experimentModel("zoo/mobilenet-cifar.json");
        // depthwise 5x5 with bias and stride 3 on odd sizes, a layer with a channel
        // multiplier (LibTorch's path), then a dilated depthwise layer (LibTorch's path)
        const ModelSpec odd = handModel(R"([
            {"type": "conv2d", "out_channels": 12, "kernel_size": 3},
            {"type": "relu"},
            {"type": "conv2d", "out_channels": 12, "kernel_size": 5, "stride": 3, "padding": 2, "groups": 12},
            {"type": "tanh"},
            {"type": "conv2d", "out_channels": 24, "kernel_size": 3, "padding": 1, "groups": 12},
            {"type": "conv2d", "out_channels": 24, "kernel_size": 3, "padding": 2, "dilation": 2, "groups": 24},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                                        {3, 15, 13});
        ModelSpec mobilenetNoBn = mobilenet;
        mobilenetNoBn.layers.clear();
        for (const LayerSpec& layer : mobilenet.layers)
            if (layer.type != "batchnorm2d")
                mobilenetNoBn.layers.push_back(layer);
        const ModelSpec lenet5 = experimentModel("zoo/lenet5.json");
        // every activation before average pooling, overlapping windows with padding, a bare
        // average pooling
        const ModelSpec pools = handModel(R"([
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3},
            {"type": "sigmoid"},
            {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "leaky_relu", "negative_slope": 0.2},
            {"type": "avgpool2d", "kernel_size": 2},
            {"type": "conv2d", "out_channels": 9, "kernel_size": 1},
            {"type": "relu"},
            {"type": "avgpool2d", "kernel_size": 2, "stride": 1},
            {"type": "avgpool2d", "kernel_size": 1},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10}])",
                                          {2, 17, 15});
        for (bool channelsLast : {true, false}) {
            compareModels(f, "lenet5", lenet5, channelsLast, 6);
            compareModels(f, "activation + pooling", pools, channelsLast, 5);
            // thirteen training-mode BatchNorms over 6 samples amplify the rounding of
            // every layer below them: compared again without them at the usual tolerance
            compareModels(f, "mobilenet-cifar", mobilenet, channelsLast, 6, 3e-2);
            compareModels(f, "mobilenet-cifar without batchnorm", mobilenetNoBn, channelsLast, 6);
            compareModels(f, "odd depthwise", odd, channelsLast, 5);
        }
        f.report();
        QVERIFY2(f.list.isEmpty(), "fused networks differ from plain ones");
    }
};

QTEST_APPLESS_MAIN(TestFusedConv)
#include "test_fused_conv.moc"
