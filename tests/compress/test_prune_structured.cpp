// Structured pruning (engine/src/compress/prune.h) on the default CNN (a plain residual), an
// MLP with BatchNorm, a plain residual with two convolutions in its body and a projection
// residual: the shapes after pruning, the new experiment validating, and the proof that the
// slicing is right: when the pruned filters were already zero (and BatchNorm maps zero to
// zero), the pruned model's outputs equal the original's.
#include "builder.h"
#include "prune.h"
#include "weights_io.h"

#include "nnlab/spec_json.h"
#include "nnlab/trained_model.h"

#include <QtTest>

#include <cstring>
#include <numeric>
#include <random>
#include <set>

using namespace nnlab;
using namespace nnlab::detail;

namespace {

ExperimentSpec parse(const std::string& json)
{
    const ParseResult parsed = parseExperiment(json);
    if (!parsed.ok())
        qFatal("spec: %s", parsed.errorText().c_str());
    return parsed.spec;
}

ExperimentSpec fashionCnn()
{
    const ParseResult parsed = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
    if (!parsed.ok())
        qFatal("fashion-cnn.json: %s", parsed.errorText().c_str());
    return parsed.spec;
}

ExperimentSpec mlp()
{
    return parse(R"({"format": "nnlab.experiment/1", "data": {"source": "blobs", "classes": 3},
        "model": {"input": [2], "layers": [
          {"type": "linear", "out_features": 32}, {"type": "batchnorm1d"}, {"type": "relu"}, {"type": "dropout", "p": 0.2},
          {"type": "linear", "out_features": 16}, {"type": "tanh"},
          {"type": "linear", "out_features": 3}]}})");
}

// A plain shortcut around two convolutions: the inner channels are pruned on their own, the
// outer ones together with the layer before the block.
ExperimentSpec plainResidualTwoConvs()
{
    return parse(R"({"format": "nnlab.experiment/1", "data": {"source": "fashion-mnist"},
        "model": {"input": [1, 28, 28], "layers": [
          {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "relu"},
          {"type": "residual", "layers": [
            {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1}, {"type": "batchnorm2d"}, {"type": "relu"},
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "batchnorm2d"}]},
          {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
          {"type": "linear", "out_features": 10}]}})");
}

// A projection shortcut (8 -> 16 channels, stride 2) and a hidden linear layer after flatten.
ExperimentSpec projectionResidualSpec()
{
    return parse(R"({"format": "nnlab.experiment/1", "data": {"source": "cifar10", "path": "/nonexistent/cifar-10-batches-bin"},
        "model": {"input": [3, 32, 32], "layers": [
          {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "relu"},
          {"type": "maxpool2d", "kernel_size": 2},
          {"type": "residual", "layers": [
            {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1}, {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1}, {"type": "batchnorm2d"}]},
          {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
          {"type": "linear", "out_features": 12}, {"type": "relu"},
          {"type": "linear", "out_features": 10}]}})");
}

// A projection from the model's input (3 channels, not prunable) to 6: halving the 6 would
// make both sides 3 channels and the projection vanish, so one more channel stays.
ExperimentSpec projectionFromInput()
{
    return parse(R"({"format": "nnlab.experiment/1", "data": {"source": "cifar10", "path": "/nonexistent/cifar-10-batches-bin"},
        "model": {"input": [3, 32, 32], "layers": [
          {"type": "residual", "layers": [
            {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1}, {"type": "batchnorm2d"}]},
          {"type": "relu"}, {"type": "adaptive_avgpool2d", "output_size": 1}, {"type": "flatten"},
          {"type": "linear", "out_features": 10}]}})");
}

std::map<std::string, torch::Tensor> tensorMap(const std::vector<NamedTensor>& tensors)
{
    std::map<std::string, torch::Tensor> out;
    for (const NamedTensor& t : tensors)
        out[t.name] = toTorch(t);
    return out;
}

std::vector<int64_t> shapeOf(const std::vector<NamedTensor>& tensors, const std::string& name)
{
    for (const NamedTensor& t : tensors)
        if (t.name == name)
            return t.shape;
    return {};
}

// Random weights with BatchNorm statistics that map zero to zero (bias and running mean 0;
// scale and variance random), the same in both models, so a zero filter stays zero after it.
std::vector<NamedTensor> randomWeights(const ExperimentSpec& spec)
{
    torch::nn::Sequential model = buildModel(spec.model);
    std::vector<NamedTensor> tensors = weightsOf(*model);
    for (NamedTensor& t : tensors) {
        const auto ends = [&](const char* s) { return t.name.size() > strlen(s) && t.name.rfind(s) == t.name.size() - strlen(s); };
        torch::Tensor value;
        if (ends(".running_var"))
            value = torch::rand(t.shape) + 0.5;
        else if (ends(".running_mean") || ends("num_batches_tracked"))
            value = torch::zeros(t.shape);
        else
            value = torch::randn(t.shape) * 0.5;
        if (!ends("num_batches_tracked"))
            t = fromTorch(t.name, value);
    }
    // BatchNorm biases 0 (normalization layers: weight of rank 1 next to a running_mean).
    const std::map<std::string, torch::Tensor> byName = tensorMap(tensors);
    for (NamedTensor& t : tensors) {
        const std::string prefix = t.name.substr(0, t.name.rfind('.'));
        if (byName.count(prefix + ".running_mean") && t.name == prefix + ".bias")
            std::fill(t.values.begin(), t.values.end(), 0.0f);
    }
    return tensors;
}

torch::Tensor outputs(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors, const torch::Tensor& input)
{
    torch::nn::Sequential model = buildModel(spec.model);
    loadWeightsInto(*model, tensors);
    model->eval();
    torch::NoGradGuard noGrad;
    return model->forward(input);
}

// Zeroes `drop` of each prunable group's channels in its producers (weight rows and bias):
// those become the weakest, so pruning removes exactly them. Returns the channels zeroed.
std::map<std::string, std::set<int64_t>> zeroSomeFilters(const std::vector<PrunedGroup>& groups,
                                                         std::vector<NamedTensor>& tensors, double sparsity)
{
    std::mt19937 rng(3);
    std::map<std::string, std::set<int64_t>> zeroed;
    std::map<std::string, torch::Tensor> byName = tensorMap(tensors);
    for (const PrunedGroup& g : groups) {
        if (!g.prunable)
            continue;
        std::vector<int64_t> channels(size_t(g.channels));
        std::iota(channels.begin(), channels.end(), 0);
        std::shuffle(channels.begin(), channels.end(), rng);
        const int64_t drop = int64_t(std::floor(sparsity * double(g.channels)));
        std::set<int64_t> chosen(channels.begin(), channels.begin() + drop);
        for (const std::string& p : g.producers)
            for (int64_t c : chosen) {
                byName[p + ".weight"][c].zero_();
                if (byName.count(p + ".bias"))
                    byName[p + ".bias"][c].zero_();
            }
        zeroed[g.producers.front()] = chosen;
    }
    for (NamedTensor& t : tensors)
        t = fromTorch(t.name, byName.at(t.name));
    return zeroed;
}

// The whole check for one model: prune random weights (the report tells the groups), zero
// the filters pruning is to remove, prune again, compare outputs.
StructuredPruneResult checkExact(const ExperimentSpec& spec, double sparsity, const torch::Tensor& input,
                                 bool exactKeep = true)
{
    PruneOptions options;
    options.structured = true;
    options.sparsity = sparsity;
    std::vector<NamedTensor> weights = randomWeights(spec);
    const StructuredPruneResult first = pruneStructured(spec, weights, options);
    const std::map<std::string, std::set<int64_t>> zeroed = zeroSomeFilters(first.groups, weights, sparsity);

    for (PruneNorm norm : {PruneNorm::L1, PruneNorm::L2}) {
        options.norm = norm;
        const StructuredPruneResult pruned = pruneStructured(spec, weights, options);
        if (!validateExperiment(pruned.spec).empty())
            qFatal("pruned spec does not validate: %s", validateExperiment(pruned.spec).front().text().c_str());
        const std::string fit = checkWeightsFit(pruned.spec, pruned.tensors);
        if (!fit.empty())
            qFatal("pruned weights do not fit: %s", fit.c_str());
        for (const PrunedGroup& g : pruned.groups) {
            if (!g.prunable || !exactKeep)
                continue;
            const std::set<int64_t>& gone = zeroed.at(g.producers.front());
            if (int64_t(g.kept.size()) != g.channels - int64_t(gone.size()))
                qFatal("group of %s kept %zu channels", g.producers.front().c_str(), g.kept.size());
            for (int64_t c : g.kept)
                if (gone.count(c))
                    qFatal("group of %s kept zeroed channel %lld", g.producers.front().c_str(), (long long)c);
        }
        const torch::Tensor before = outputs(spec, weights, input);
        const torch::Tensor after = outputs(pruned.spec, pruned.tensors, input);
        if (!torch::allclose(before, after, 1e-4, 1e-5))
            qFatal("outputs differ after pruning: max difference %g", (before - after).abs().max().item<double>());
    }
    return pruneStructured(spec, weights, options);
}

const PrunedGroup* groupOf(const StructuredPruneResult& r, const std::string& producer)
{
    for (const PrunedGroup& g : r.groups)
        for (const std::string& p : g.producers)
            if (p == producer)
                return &g;
    return nullptr;
}

} // namespace

class TestPruneStructured : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::manual_seed(5); }

    void fashionCnnPlainResidual()
    {
        const ExperimentSpec spec = fashionCnn();
        const StructuredPruneResult r = checkExact(spec, 0.5, torch::randn({4, 1, 28, 28}));
        // conv 0 and the block's conv form one group (the plain shortcut adds them).
        const PrunedGroup* g = groupOf(r, "0");
        QVERIFY(g);
        QCOMPARE(g->producers, (std::vector<std::string>{"0", "3.body.0"}));
        QCOMPARE(g->kept.size(), size_t(8));
        QCOMPARE(r.spec.model.layers[0].intOption("out_channels"), int64_t(8));
        QCOMPARE(r.spec.model.layers[3].layers[0].intOption("out_channels"), int64_t(8));
        QCOMPARE(r.spec.model.layers[6].intOption("out_features"), int64_t(10));   // the classes stay
        QCOMPARE(shapeOf(r.tensors, "0.weight"), (std::vector<int64_t>{8, 1, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "3.body.0.weight"), (std::vector<int64_t>{8, 8, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "3.body.1.running_var"), (std::vector<int64_t>{8}));
        QCOMPARE(shapeOf(r.tensors, "6.weight"), (std::vector<int64_t>{10, 8 * 7 * 7}));
        // The output group is reported as not prunable.
        const PrunedGroup* out = groupOf(r, "6");
        QVERIFY(out && !out->prunable);
        QCOMPARE(out->reason, std::string("the model's output"));
    }

    void fashionCnnSpecRoundTripsThroughJson()
    {
        PruneOptions options;
        options.structured = true;
        options.sparsity = 0.25;
        const ExperimentSpec spec = fashionCnn();
        const StructuredPruneResult r = pruneStructured(spec, randomWeights(spec), options);
        const ParseResult back = parseExperiment(experimentToJson(r.spec));
        QVERIFY2(back.ok(), back.errorText().c_str());
        QVERIFY(back.spec == r.spec);
        QCOMPARE(back.model.parameters, int64_t(12 * 9 + 12 + 12 * 12 * 9 + 12 + 2 * 12 + 10 * 12 * 49 + 10));
    }

    void mlpWithBatchNorm()
    {
        const ExperimentSpec spec = mlp();
        const StructuredPruneResult r = checkExact(spec, 0.5, torch::randn({8, 2}));
        QCOMPARE(shapeOf(r.tensors, "0.weight"), (std::vector<int64_t>{16, 2}));
        QCOMPARE(shapeOf(r.tensors, "1.weight"), (std::vector<int64_t>{16}));
        QCOMPARE(shapeOf(r.tensors, "1.running_mean"), (std::vector<int64_t>{16}));
        QCOMPARE(shapeOf(r.tensors, "4.weight"), (std::vector<int64_t>{8, 16}));
        QCOMPARE(shapeOf(r.tensors, "6.weight"), (std::vector<int64_t>{3, 8}));
        QCOMPARE(r.spec.model.layers[6].intOption("out_features"), int64_t(3));
    }

    void plainResidualPrunesInsideAndAround()
    {
        const ExperimentSpec spec = plainResidualTwoConvs();
        const StructuredPruneResult r = checkExact(spec, 0.5, torch::randn({3, 1, 28, 28}));
        QCOMPARE(groupOf(r, "0")->producers, (std::vector<std::string>{"0", "2.body.3"}));
        QCOMPARE(groupOf(r, "2.body.0")->producers, (std::vector<std::string>{"2.body.0"}));
        QCOMPARE(shapeOf(r.tensors, "0.weight"), (std::vector<int64_t>{4, 1, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "2.body.0.weight"), (std::vector<int64_t>{6, 4, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "2.body.1.weight"), (std::vector<int64_t>{6}));
        QCOMPARE(shapeOf(r.tensors, "2.body.3.weight"), (std::vector<int64_t>{4, 6, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "2.body.4.running_mean"), (std::vector<int64_t>{4}));
        QCOMPARE(shapeOf(r.tensors, "6.weight"), (std::vector<int64_t>{10, 4 * 14 * 14}));
        QVERIFY(shapeOf(r.tensors, "2.shortcut.weight").empty());   // still a plain shortcut
    }

    void projectionResidual()
    {
        const ExperimentSpec spec = projectionResidualSpec();
        const StructuredPruneResult r = checkExact(spec, 0.5, torch::randn({2, 3, 32, 32}));
        // The projection produces the block's output with the body's last convolution.
        QCOMPARE(groupOf(r, "3.body.3")->producers, (std::vector<std::string>{"3.body.3", "3.shortcut"}));
        QCOMPARE(shapeOf(r.tensors, "0.weight"), (std::vector<int64_t>{4, 3, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "3.body.0.weight"), (std::vector<int64_t>{8, 4, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "3.body.3.weight"), (std::vector<int64_t>{8, 8, 3, 3}));
        QCOMPARE(shapeOf(r.tensors, "3.shortcut.weight"), (std::vector<int64_t>{8, 4, 1, 1}));
        QCOMPARE(shapeOf(r.tensors, "3.shortcut.bias"), (std::vector<int64_t>{8}));
        QCOMPARE(shapeOf(r.tensors, "7.weight"), (std::vector<int64_t>{6, 8 * 4 * 4}));   // flatten: blocks of 4x4
        QCOMPARE(shapeOf(r.tensors, "9.weight"), (std::vector<int64_t>{10, 6}));
    }

    void projectionKeptWhenShapesWouldMeet()
    {
        const ExperimentSpec spec = projectionFromInput();
        const StructuredPruneResult r = checkExact(spec, 0.5, torch::randn({2, 3, 32, 32}), /*exactKeep=*/false);
        QCOMPARE(groupOf(r, "0.body.0")->kept.size(), size_t(4));   // 6 -> 3 would equal the input's 3
        QCOMPARE(shapeOf(r.tensors, "0.shortcut.weight"), (std::vector<int64_t>{4, 3, 1, 1}));
    }

    void sparsityZeroKeepsEverything()
    {
        const ExperimentSpec spec = fashionCnn();
        PruneOptions options;
        options.structured = true;
        options.sparsity = 0.0;
        const std::vector<NamedTensor> weights = randomWeights(spec);
        const StructuredPruneResult r = pruneStructured(spec, weights, options);
        QVERIFY(r.spec == spec);
        for (size_t i = 0; i < weights.size(); ++i)
            QCOMPARE(r.tensors[i].values, weights[i].values);
    }

    void prunedFiltersChangeOutputsWhenNotZero()
    {
        // The exactness above is not automatic: pruning live filters changes the outputs.
        const ExperimentSpec spec = fashionCnn();
        PruneOptions options;
        options.structured = true;
        options.sparsity = 0.5;
        const std::vector<NamedTensor> weights = randomWeights(spec);
        const StructuredPruneResult r = pruneStructured(spec, weights, options);
        const torch::Tensor input = torch::randn({2, 1, 28, 28});
        QVERIFY(!torch::allclose(outputs(spec, weights, input), outputs(r.spec, r.tensors, input), 1e-4, 1e-5));
    }

    void badInput()
    {
        const ExperimentSpec spec = fashionCnn();
        PruneOptions options;
        options.sparsity = 1.0;
        std::vector<NamedTensor> weights = randomWeights(spec);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, pruneStructured(spec, weights, options));
        options.sparsity = 0.5;
        weights.pop_back();
        try {
            pruneStructured(spec, weights, options);
            QFAIL("weights missing a tensor were accepted");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find("missing") != std::string::npos, e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestPruneStructured)
#include "test_prune_structured.moc"
