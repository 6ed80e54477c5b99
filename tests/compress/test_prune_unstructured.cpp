// Unstructured pruning (engine/src/compress/prune.h): sparsity reached per layer and under one
// global threshold, masks held through fine-tuning steps (Adam included) by the hook's own
// afterStep, the AGP schedule, and the sparse file format (sparse_weights.h).
#include "builder.h"
#include "flat_optim.h"
#include "prune.h"
#include "sparse_weights.h"
#include "weights_io.h"

#include "nnlab/data.h"
#include "nnlab/spec_json.h"
#include "train_test_util.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

using namespace nnlab;
using namespace nnlab::detail;

namespace {

ExperimentSpec fashionCnn()
{
    const ParseResult parsed = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
    if (!parsed.ok())
        qFatal("fashion-cnn.json: %s", parsed.errorText().c_str());
    return parsed.spec;
}

const NamedTensor& byName(const std::vector<NamedTensor>& tensors, const std::string& name)
{
    for (const NamedTensor& t : tensors)
        if (t.name == name)
            return t;
    qFatal("no tensor %s", name.c_str());
}

int64_t zeros(const NamedTensor& t)
{
    int64_t n = 0;
    for (float v : t.values)
        n += v == 0.0f;
    return n;
}

int64_t zerosOf(const torch::Tensor& t) { return (t == 0).sum().item<int64_t>(); }

// A few optimizer steps on random data through the hook's own entry point, as the trainer
// calls it. `check` runs after every step.
void fineTune(torch::nn::Sequential& model, FlatOptimizer& optimizer, TrainHook* hook, int64_t steps,
              const std::function<void(int64_t)>& check)
{
    torch::manual_seed(7);
    TrainState state;
    state.totalSteps = steps;
    state.stepsPerEpoch = steps;
    model->train();
    for (int64_t s = 0; s < steps; ++s) {
        const torch::Tensor input = torch::randn({16, 1, 28, 28});
        const torch::Tensor target = torch::randint(0, 10, {16}, torch::kLong);
        optimizer.zeroGrad();
        const torch::Tensor output = model->forward(input);
        const torch::Tensor loss = torch::nn::functional::cross_entropy(output, target);
        loss.backward();
        optimizer.step(1e-2);
        state.step = s + 1;
        if (hook) {
            const torch::Tensor none;
            TrainRequests requests;
            StepView view{state, input, target, output, loss, none, 0.0, none, model, optimizer};
            hook->afterStep(view, requests);
        }
        check(s + 1);
    }
}

std::vector<torch::Tensor> parametersOf(torch::nn::Sequential& model)
{
    std::vector<torch::Tensor> out;
    for (const auto& p : model->parameters())
        out.push_back(p);
    return out;
}

// Runs after the pruning hook in the real training loop and checks what it holds.
struct MaskCheckHook : TrainHook {
    PruneMasks masks;                 // empty: check the pruning hook's current masks
    std::shared_ptr<PruneMaskHook> pruning;
    int64_t steps = 0, violations = 0;
    void afterStep(const StepView& view, TrainRequests&) override
    {
        ++steps;
        const auto params = view.model->named_parameters();
        for (const auto& [name, mask] : masks.empty() ? pruning->masks() : masks)
            violations += (params[name].detach().masked_select(mask == 0) != 0).sum().item<int64_t>();
    }
};

} // namespace

class TestPruneUnstructured : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { torch::manual_seed(1); }

    void prunableWeightsAreConvAndLinear()
    {
        const std::vector<std::string> names = prunableWeightNames(fashionCnn().model);
        QCOMPARE(names, (std::vector<std::string>{"0.weight", "3.body.0.weight", "6.weight"}));
    }

    void layerWiseSparsity()
    {
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = buildModel(spec.model);
        const std::vector<NamedTensor> dense = weightsOf(*model);
        PruneOptions options;
        options.sparsity = 0.6;
        const UnstructuredPruneResult pruned = pruneUnstructured(spec.model, dense, options);
        QCOMPARE(pruned.masks.size(), size_t(3));
        for (const std::string& name : prunableWeightNames(spec.model)) {
            const NamedTensor& t = byName(pruned.tensors, name);
            const int64_t n = int64_t(t.values.size());
            QCOMPARE(zeros(t), int64_t(std::llround(0.6 * double(n))));
            // The kept weights are the largest: every pruned magnitude <= every kept one.
            const NamedTensor& original = byName(dense, name);
            float maxPruned = 0.0f, minKept = 1e30f;
            for (size_t i = 0; i < t.values.size(); ++i) {
                const float m = std::abs(original.values[i]);
                if (t.values[i] == 0.0f)
                    maxPruned = std::max(maxPruned, m);
                else
                    minKept = std::min(minKept, m);
            }
            QVERIFY(maxPruned <= minKept);
        }
        // Biases and BatchNorm untouched.
        for (const char* name : {"0.bias", "3.body.0.bias", "3.body.1.weight", "3.body.1.bias", "6.bias"})
            QCOMPARE(byName(pruned.tensors, name).values, byName(dense, name).values);
        // The per-layer report agrees.
        for (const LayerSparsity& l : layerSparsity(spec.model, pruned.tensors)) {
            if (l.type == "batchnorm2d") {
                QCOMPARE(l.sparsity(), 0.0);
                continue;
            }
            QVERIFY2(std::abs(l.sparsity() - 0.6) < 0.5 / double(l.weights) + 1e-12, l.name.c_str());
            const int64_t biases = int64_t(byName(pruned.tensors, l.name + ".bias").values.size());
            QCOMPARE(l.parameters, l.weights + biases);
            QCOMPARE(l.nonzeroParameters, l.nonzeroWeights + biases);
        }
    }

    void globalSparsity()
    {
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = buildModel(spec.model);
        const std::vector<NamedTensor> dense = weightsOf(*model);
        PruneOptions options;
        options.sparsity = 0.7;
        options.global = true;
        const UnstructuredPruneResult pruned = pruneUnstructured(spec.model, dense, options);
        int64_t total = 0, pruneCount = 0;
        float maxPruned = 0.0f, minKept = 1e30f;
        std::vector<double> perLayer;
        for (const std::string& name : prunableWeightNames(spec.model)) {
            const NamedTensor& t = byName(pruned.tensors, name);
            const NamedTensor& original = byName(dense, name);
            total += int64_t(t.values.size());
            pruneCount += zeros(t);
            perLayer.push_back(double(zeros(t)) / double(t.values.size()));
            for (size_t i = 0; i < t.values.size(); ++i) {
                const float m = std::abs(original.values[i]);
                if (t.values[i] == 0.0f)
                    maxPruned = std::max(maxPruned, m);
                else
                    minKept = std::min(minKept, m);
            }
        }
        QCOMPARE(pruneCount, int64_t(std::llround(0.7 * double(total))));
        QVERIFY(maxPruned <= minKept);   // one threshold across layers
        // Layers differ: the linear layer's initial weights (fan-in 784) are far smaller than
        // the first convolution's (fan-in 9), so one threshold prunes it much harder.
        QVERIFY2(perLayer[2] > perLayer[0] + 0.2, qPrintable(QString::number(perLayer[0]) + " " + QString::number(perLayer[2])));
    }

    void onlyNamedLayersAndBadInput()
    {
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = buildModel(spec.model);
        const std::vector<NamedTensor> dense = weightsOf(*model);
        PruneOptions options;
        options.sparsity = 0.5;
        const UnstructuredPruneResult one = pruneUnstructured(spec.model, dense, options, {"3.body.0.weight"});
        QCOMPARE(one.masks.size(), size_t(1));
        QCOMPARE(zeros(byName(one.tensors, "3.body.0.weight")), int64_t(16 * 16 * 9 / 2));
        QCOMPARE(zeros(byName(one.tensors, "0.weight")), int64_t(0));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, pruneUnstructured(spec.model, dense, options, {"3.body.1.weight"}));
        options.sparsity = 1.0;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, pruneUnstructured(spec.model, dense, options));
        options.sparsity = -0.1;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, pruneUnstructured(spec.model, dense, options));
    }

    void masksHeldThroughAdamSteps_data()
    {
        QTest::addColumn<QString>("optimizer");
        QTest::newRow("adamw") << "adamw";
        QTest::newRow("adam") << "adam";
        QTest::newRow("sgd momentum") << "sgd";
    }

    void masksHeldThroughAdamSteps()
    {
        QFETCH(QString, optimizer);
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = buildModel(spec.model);
        PruneOptions options;
        options.sparsity = 0.5;
        const UnstructuredPruneResult pruned = pruneUnstructured(spec.model, weightsOf(*model), options);
        loadWeightsInto(*model, pruned.tensors);
        OptimizerSpec o;
        o.type = optimizer.toStdString();
        o.momentum = 0.9;
        o.weightDecay = 0.01;
        FlatOptimizer opt(o, parametersOf(model));
        const std::shared_ptr<PruneMaskHook> hook = makePruneMaskHook(pruned.masks, options, 30);
        const auto params = model->named_parameters();
        const torch::Tensor before = params["3.body.0.weight"].detach().clone();
        fineTune(model, opt, hook.get(), 30, [&](int64_t step) {
            for (const auto& [name, mask] : pruned.masks) {
                const torch::Tensor w = params[name].detach();
                QVERIFY2((w.masked_select(mask == 0) == 0).all().item<bool>(),
                         qPrintable(QString::fromStdString(name) + " step " + QString::number(step)));
                // The optimizer's moments for pruned weights are zero too.
                std::vector<torch::Tensor> state = opt.stateTensors();
                const int64_t offset = w.storage_offset() - state[0].storage_offset();
                for (size_t i = 1; i < state.size(); ++i) {
                    const torch::Tensor m = state[i].as_strided(w.sizes(), w.strides(), state[i].storage_offset() + offset);
                    QVERIFY((m.masked_select(mask == 0) == 0).all().item<bool>());
                }
            }
        });
        // Training happened: the kept weights moved.
        const torch::Tensor after = params["3.body.0.weight"].detach();
        const torch::Tensor kept = pruned.masks.at("3.body.0.weight") != 0;
        QVERIFY(!torch::equal(after.masked_select(kept), before.masked_select(kept)));
    }

    void withoutTheHookWeightsComeBack()
    {
        // The same fine-tuning without the hook: Adam resurrects the pruned weights at once,
        // so the test above can fail.
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = buildModel(spec.model);
        PruneOptions options;
        options.sparsity = 0.5;
        const UnstructuredPruneResult pruned = pruneUnstructured(spec.model, weightsOf(*model), options);
        loadWeightsInto(*model, pruned.tensors);
        OptimizerSpec o;
        FlatOptimizer opt(o, parametersOf(model));
        fineTune(model, opt, nullptr, 3, [](int64_t) {});
        const auto params = model->named_parameters();
        QVERIFY(zerosOf(params["3.body.0.weight"]) < 16 * 16 * 9 / 4);
    }

    void trainingLoopHoldsMasks_data()
    {
        QTest::addColumn<bool>("agp");
        QTest::newRow("one-shot") << false;
        QTest::newRow("agp") << true;
    }

    void trainingLoopHoldsMasks()
    {
        // The real loop (nnlab::train) with the hook in TrainOptions::hooks, from pruned
        // initial weights, as compressRun fine-tunes.
        QFETCH(bool, agp);
        ExperimentSpec spec = nnlab::test::spiralSpec();
        spec.training.epochs = 2;
        const DataBundle data = loadData(spec.data, true, spec.seed);
        torch::nn::Sequential model = buildModel(spec.model);
        PruneOptions options;
        options.sparsity = agp ? 0.0 : 0.7;
        const UnstructuredPruneResult pruned = pruneUnstructured(spec.model, weightsOf(*model), options);
        QTemporaryDir dir;
        TrainOptions train;
        train.initWeights = dir.filePath("init.safetensors").toStdString();
        writeSafetensors(train.initWeights, pruned.tensors, {});
        options.sparsity = 0.7;
        options.schedule = agp ? PruneSchedule::Agp : PruneSchedule::OneShot;
        const int64_t steps = 2 * ((1800 + 31) / 32);   // 2000 spiral points, 10% held out, batches of 32
        const std::shared_ptr<PruneMaskHook> hook = makePruneMaskHook(pruned.masks, options, steps);
        auto check = std::make_shared<MaskCheckHook>();
        check->pruning = hook;
        train.hooks = {hook, check};
        TrainControl control;
        const TrainResult result = nnlab::test::trainSpec(spec, data, control, {}, train);
        QVERIFY2(result.status == TrainStatus::Finished, result.message.c_str());
        QCOMPARE(check->steps, steps);
        QCOMPARE(check->violations, int64_t(0));
        QCOMPARE(hook->currentSparsity(), 0.7);
        for (const auto& [name, mask] : hook->masks())
            QCOMPARE((mask == 0).sum().item<int64_t>(), int64_t(std::llround(0.7 * double(mask.numel()))));
        QVERIFY(result.finalMetrics.count("val/accuracy"));
        qInfo("spiral MLP, 70%% sparse (%s), 2 epochs: val/accuracy %.3f", agp ? "agp" : "one-shot",
              result.finalMetrics.at("val/accuracy"));
    }

    void agpSchedule()
    {
        QCOMPARE(agpSparsity(0.0, 0.8, 0, 100), 0.0);
        QVERIFY(std::abs(agpSparsity(0.0, 0.8, 50, 100) - 0.7) < 1e-12);         // 0.8 - 0.8 * 0.5^3
        QVERIFY(std::abs(agpSparsity(0.0, 0.8, 25, 100) - (0.8 - 0.8 * 0.421875)) < 1e-12);
        QVERIFY(std::abs(agpSparsity(0.2, 0.8, 10, 100) - (0.8 - 0.6 * 0.729)) < 1e-12);
        QCOMPARE(agpSparsity(0.0, 0.8, 100, 100), 0.8);
        QCOMPARE(agpSparsity(0.0, 0.8, 250, 100), 0.8);
        for (int64_t t = 1; t <= 100; ++t)   // rises, fastest at the start
            QVERIFY(agpSparsity(0.0, 0.8, t, 100) > agpSparsity(0.0, 0.8, t - 1, 100));
        QCOMPARE(agpUpdateEvery(1000), int64_t(20));
        QCOMPARE(agpUpdateEvery(10), int64_t(1));
        QCOMPARE(agpRampSteps(1), int64_t(1));
        QCOMPARE(agpRampSteps(169), int64_t(126));
    }

    void agpHookRampsToTheFinalSparsity()
    {
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = buildModel(spec.model);
        PruneOptions start;
        start.sparsity = 0.0;
        const PruneMasks ones = pruneUnstructured(spec.model, weightsOf(*model), start).masks;
        PruneOptions options;
        options.sparsity = 0.6;
        options.schedule = PruneSchedule::Agp;
        const int64_t steps = 160;   // a ramp of 120 steps, mask updates every 2, then 40 steps held
        const int64_t ramp = agpRampSteps(steps);
        QCOMPARE(ramp, int64_t(120));
        const std::shared_ptr<PruneMaskHook> hook = makePruneMaskHook(ones, options, steps);
        OptimizerSpec o;
        FlatOptimizer opt(o, parametersOf(model));
        const auto params = model->named_parameters();
        torch::Tensor previousZeros;
        fineTune(model, opt, hook.get(), steps, [&](int64_t step) {
            const torch::Tensor w = params["6.weight"].detach();
            const double expected = agpSparsity(0.0, 0.6, step - step % 2, ramp);
            QVERIFY2(std::abs(hook->currentSparsity() - expected) < 1e-12, qPrintable(QString::number(step)));
            QCOMPARE(zerosOf(w), int64_t(std::llround(expected * double(w.numel()))));
            // A pruned weight stays pruned.
            const torch::Tensor z = w == 0;
            if (previousZeros.defined())
                QVERIFY((z.masked_select(previousZeros)).all().item<bool>());
            previousZeros = z.clone();
        });
        QCOMPARE(hook->currentSparsity(), 0.6);
        QCOMPARE(hook->maskUpdates(), ramp / 2);
        for (const auto& [name, mask] : hook->masks())
            QCOMPARE(zerosOf(params[name]), int64_t(std::llround(0.6 * double(mask.numel()))));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, makePruneMaskHook(ones, options, 0));
    }

    void sparseFileRoundTripAndSize()
    {
        const ExperimentSpec spec = fashionCnn();
        torch::nn::Sequential model = buildModel(spec.model);
        PruneOptions options;
        options.sparsity = 0.8;
        const UnstructuredPruneResult pruned = pruneUnstructured(spec.model, weightsOf(*model), options);
        QTemporaryDir dir;
        const std::string sparsePath = dir.filePath("sparse.safetensors").toStdString();
        const std::string densePath = dir.filePath("dense.safetensors").toStdString();
        writeSparseWeights(sparsePath, pruned.tensors, {{"nnlab.method", "prune"}});
        writeSafetensors(densePath, pruned.tensors, {{"nnlab.method", "prune"}});
        const auto sparseBytes = std::filesystem::file_size(sparsePath);
        const auto denseBytes = std::filesystem::file_size(densePath);
        qInfo("80%% sparse fashion-cnn weights: %llu bytes sparse, %llu dense (%.2fx smaller)",
              (unsigned long long)sparseBytes, (unsigned long long)denseBytes, double(denseBytes) / double(sparseBytes));
        QVERIFY(sparseBytes * 2 <= denseBytes);

        const SafetensorsContents back = readSparseWeights(sparsePath);
        QCOMPARE(back.metadata.size(), size_t(1));
        QCOMPARE(back.metadata.at("nnlab.method"), std::string("prune"));
        QCOMPARE(back.tensors.size(), pruned.tensors.size());
        for (const NamedTensor& t : back.tensors) {
            QCOMPARE(t.shape, byName(pruned.tensors, t.name).shape);
            QCOMPARE(t.values, byName(pruned.tensors, t.name).values);
        }
        // A plain safetensors file reads through the same call.
        QCOMPARE(readSparseWeights(densePath).tensors.size(), pruned.tensors.size());
        // Loads into the model.
        loadWeightsInto(*model, back.tensors);
    }

    void sparseFileValidation()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("bad.safetensors").toStdString();
        const auto f32 = [](const std::string& name, std::vector<float> v) {
            return toRawTensor({name, {int64_t(v.size())}, std::move(v)});
        };
        const RawTensor mask{"w::mask", TensorDtype::U8, {2}, {0x05, 0x01}};   // 10 elements, bits 0, 2, 8
        const RawTensor values = f32("w::values", {1.0f, 2.0f, 3.0f});
        const std::map<std::string, std::string> listed{{kSparseMetadataKey, R"({"w": [2, 5]})"}};

        writeSafetensorsRaw(path, {mask, values}, listed);
        const SafetensorsContents ok = readSparseWeights(path);
        QCOMPARE(ok.tensors.size(), size_t(1));
        QCOMPARE(ok.tensors[0].shape, (std::vector<int64_t>{2, 5}));
        QCOMPARE(ok.tensors[0].values, (std::vector<float>{1, 0, 2, 0, 0, 0, 0, 0, 3, 0}));

        const auto refused = [&](const std::vector<RawTensor>& tensors, const std::map<std::string, std::string>& meta,
                                 const char* expected) {
            writeSafetensorsRaw(path, tensors, meta);
            try {
                readSparseWeights(path);
                QFAIL(qPrintable(QString("accepted a file with: ") + expected));
            } catch (const SafetensorsError& e) {
                QVERIFY2(std::string(e.what()).find(expected) != std::string::npos, e.what());
                QVERIFY2(std::string(e.what()).find(path) == 0, e.what());
            }
        };
        refused({mask, f32("w::values", {1.0f, 2.0f})}, listed, "marks 3 non-zero elements, it has 2 values");
        refused({mask}, listed, "lacks its ::values part");
        refused({mask, values}, {{kSparseMetadataKey, R"({"w": [1, 5]})"}}, "need a mask of 1 bytes");
        refused({mask, values}, {{kSparseMetadataKey, R"({"w": [1000000, 1000000, 1000000]})"}}, "more elements than its mask");
        refused({mask, values}, {{kSparseMetadataKey, R"({"w": [-2, 5]})"}}, "not a non-negative integer");
        refused({{"w::mask", TensorDtype::U8, {2}, {0x05, 0x05}}, f32("w::values", {1, 2, 3, 4})}, listed,
                "bits set past its 10 elements");
        refused({{"w::mask", TensorDtype::I8, {2}, {0x05, 0x01}}, values}, listed, "1-D U8");
        refused({mask, values}, {}, "list does not name");
        refused({mask, values}, {{kSparseMetadataKey, "[1"}}, "expected a JSON object");
        refused({mask, values, f32("w", {0})}, listed, "also stored dense");
        QVERIFY_THROWS_EXCEPTION(SafetensorsError, writeSparseWeights(path, {{"x::mask", {1}, {0.0f}}}, {}));
    }

    void sparseReaderSurvivesMutations()
    {
        // Damaged files are refused with SafetensorsError, never another exception or a crash:
        // random byte changes, and sparse lists with random shapes, over a small sparse file.
        QTemporaryDir dir;
        const std::string path = dir.filePath("m.safetensors").toStdString();
        std::vector<float> values(40, 0.0f);
        for (size_t i = 0; i < values.size(); i += 3)
            values[i] = float(i) + 1.0f;
        writeSparseWeights(path, {{"a.weight", {5, 8}, values}, {"a.bias", {2}, {1.0f, 0.0f}}}, {{"k", "v"}});
        std::ifstream in(path, std::ios::binary);
        const std::vector<uint8_t> good((std::istreambuf_iterator<char>(in)), {});
        QCOMPARE(parseSparseWeights(good.data(), good.size(), "m").tensors.size(), size_t(2));
        std::mt19937 rng(11);
        int refused = 0;
        for (int trial = 0; trial < 3000; ++trial) {
            std::vector<uint8_t> bytes = good;
            if (trial % 3 == 0) {
                // A random shape in the sparse list (the header's JSON stays well-formed).
                std::string text(bytes.begin(), bytes.end());
                const size_t at = text.find("[5,8]");
                if (at == std::string::npos)
                    QFAIL("no shape in the sparse list");
                const char* shapes[] = {"[40]", "[8,5]", "[41]", "[39]", "[0]", "[]", "[4294967296,4294967296]",
                                        "[5,8,1]", "[1,1]", "[64]", "[33]", "[2,-1]"};
                text.replace(at, 5, shapes[rng() % 12]);
                bytes.assign(text.begin(), text.end());
                const uint64_t header = bytes.size() - (good.size() - 8 - *reinterpret_cast<const uint64_t*>(good.data())) - 8;
                std::memcpy(bytes.data(), &header, 8);
            } else {
                for (int flips = 1 + int(rng() % 4); flips > 0; --flips)
                    bytes[rng() % bytes.size()] = uint8_t(rng());
            }
            try {
                parseSparseWeights(bytes.data(), bytes.size(), "m");
            } catch (const SafetensorsError&) {
                ++refused;
            } catch (const std::exception& e) {
                QFAIL(qPrintable(QString("trial %1: %2").arg(trial).arg(e.what())));
            }
        }
        QVERIFY(refused > 1000);
    }
};

QTEST_APPLESS_MAIN(TestPruneUnstructured)
#include "test_prune_unstructured.moc"
