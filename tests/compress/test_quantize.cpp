// Int8 quantization (engine/src/compress/quantize.h) on the default Fashion-MNIST CNN, trained
// briefly here, and on a synthetic model holding every other layer kind:
// - BatchNorm folding and the float steps match nnlab's own float model;
// - static int8 (per tensor and per channel) and dynamic int8 agree with float on test images;
// - save/load gives identical outputs, the file is >= 3.5x smaller than the float safetensors,
//   bad files are refused naming the file;
// - float layers, max-drop, fastest-per-layer choices and their reasons; a layer the back end
//   cannot run in int8, when forced, is an error naming it.
// Qt's `slots` keyword breaks ATen's headers: keywords off, LibTorch first, Qt last.
#ifndef QT_NO_KEYWORDS
#define QT_NO_KEYWORDS
#endif

#include "builder.h"
#include "quantize_impl.h"
#include "session.h"
#include "weights_io.h"

#include "nnlab/data.h"
#include "nnlab/spec_json.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace nnlab;
using namespace nnlab::detail;

namespace {

struct Agreement {
    double top1 = 0.0;        // share of samples with the same arg-max
    double maxAbs = 0.0;      // largest logit difference
    double logitRange = 0.0;  // largest |logit| of the float model
};

Agreement agreement(const torch::Tensor& a, const torch::Tensor& b)
{
    return {a.argmax(1).eq(b.argmax(1)).to(torch::kDouble).mean().item<double>(),
            (a - b).abs().max().item<double>(), b.abs().max().item<double>()};
}

int64_t fileSize(const std::string& path) { return int64_t(std::filesystem::file_size(path)); }

} // namespace

class TestQuantize : public QObject {
    Q_OBJECT

    ExperimentSpec m_spec;
    DataBundle m_data;
    torch::Tensor m_trainX, m_testX, m_testY, m_valX, m_valY;
    std::vector<NamedTensor> m_weights;
    torch::Tensor m_floatOut;   // nnlab's float model on m_testX
    QTemporaryDir m_dir;

    std::string path(const char* name) const { return m_dir.filePath(name).toStdString(); }

    QuantizeOptions plain(bool perChannel = false) const
    {
        QuantizeOptions o;
        o.perChannel = perChannel;
        o.fastestPerLayer = false;
        o.calibrationSamples = 500;
        return o;
    }
    QuantizeData data() const { return {m_trainX, m_valX, m_valY}; }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        std::string engines;
        for (QuantEngine e : supportedQuantEngines())
            engines += std::string(engines.empty() ? "" : ", ") + quantEngineName(e);
        qInfo("quantized engines in this LibTorch build: %s; Auto picks %s", engines.c_str(),
              quantEngineName(resolveQuantEngine(QuantEngine::Auto)));
        QVERIFY(!engines.empty());

        // The default experiment, trained for a few seconds on a slice of Fashion-MNIST.
        if (!std::filesystem::exists(defaultFashionMnistPath()))
            QSKIP("Fashion-MNIST is not installed");
        const ParseResult parsed = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json",
                                                      {"data.train_limit=4000"});
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        m_spec = parsed.spec;
        m_data = loadData(m_spec.data, true, m_spec.seed);
        const TensorSet train = toTensors(m_data.train, true, torch::kCPU);
        const TensorSet val = toTensors(m_data.validation, true, torch::kCPU);
        const TensorSet test = toTensors(m_data.test, true, torch::kCPU);
        m_trainX = train.x;
        m_valX = val.x;
        m_valY = val.y;
        m_testX = test.x.slice(0, 0, 500);
        m_testY = test.y.slice(0, 0, 500);

        torch::manual_seed(0);
        torch::nn::Sequential model = buildModel(m_spec.model);
        torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(2e-3));
        model->train();
        for (int epoch = 0; epoch < 2; ++epoch) {
            const torch::Tensor order = torch::randperm(train.count);
            for (int64_t i = 0; i + 64 <= train.count; i += 64) {
                const torch::Tensor idx = order.slice(0, i, i + 64);
                optimizer.zero_grad();
                const torch::Tensor loss = torch::cross_entropy_loss(model->forward(train.x.index_select(0, idx)),
                                                                     train.y.index_select(0, idx));
                loss.backward();
                optimizer.step();
            }
        }
        model->eval();
        torch::NoGradGuard noGrad;
        m_floatOut = model->forward(m_testX);
        const double accuracy = m_floatOut.argmax(1).eq(m_testY).to(torch::kDouble).mean().item<double>();
        qInfo("float model: %.1f%% on %d test images", accuracy * 100.0, int(m_testX.size(0)));
        QVERIFY(accuracy > 0.6);
        m_weights = weightsOf(*model);
    }

    void int8KernelsMatchLibTorch()
    {
        torch::manual_seed(3);
        // Values on and between the grid, ties (x.5 steps) included, some clipped at both ends.
        const torch::Tensor x = torch::randn({2, 5, 9, 7}) * 3.0;
        x.view({-1}).slice(0, 0, 80).copy_(torch::arange(-40, 40).to(torch::kFloat32) * 0.025);
        for (const bool channelsLast : {false, true}) {
            const torch::Tensor mine = quantizeActivation(x, 0.05, 100, channelsLast);
            const torch::Tensor theirs = at::quantize_per_tensor(x, 0.05, 100, torch::kQUInt8);
            QVERIFY(torch::equal(mine.int_repr().contiguous(), theirs.int_repr()));
            QCOMPARE(mine.is_contiguous(at::MemoryFormat::ChannelsLast), channelsLast);
            QVERIFY(quantizedPool2x2Covers(mine));
            const torch::Tensor pooled = quantizedMaxPool2x2(mine);
            const torch::Tensor reference = at::max_pool2d(theirs, {2, 2}, {2, 2}, {0, 0}, {1, 1});
            QCOMPARE(pooled.sizes(), reference.sizes());   // odd sizes floor, as max_pool2d
            QVERIFY(torch::equal(pooled.int_repr().contiguous(), reference.int_repr().contiguous()));
            QCOMPARE(pooled.q_scale(), 0.05);
        }
    }

    void batchNormFoldedExactly()
    {
        // Every layer float: the residual block's conv + BatchNorm + ReLU runs as one folded conv.
        const QuantizedModel model = QuantizedModel::fromFloat(m_spec, m_weights);
        QCOMPARE(model.report().layers.size(), size_t(3));
        QCOMPARE(model.report().layers[1].name, std::string("3.body.0"));
        QCOMPARE(model.report().layers[1].fused, std::string("batchnorm2d+relu"));
        const torch::Tensor out = model.forward(m_testX);
        QVERIFY(!out.is_quantized());
        const double diff = (out - m_floatOut).abs().max().item<double>();
        qInfo("folded float model against nnlab's: max |diff| %.2e", diff);
        QVERIFY(diff < 1e-4);
        // The stages, run one after another, are the model.
        torch::Tensor x = m_testX;
        for (size_t i = 0; i < model.stageNames().size(); ++i)
            x = model.forwardStage(i, x);
        QVERIFY(torch::equal(x, out));
    }

    void staticInt8PerTensorCloseToFloat()
    {
        const QuantizedModel model = quantizeModel(m_spec, m_weights, plain(false), data());
        for (const QuantLayerReport& l : model.report().layers)
            QVERIFY2(l.int8, l.name.c_str());
        const torch::Tensor out = model.forward(m_testX);
        QCOMPARE(out.scalar_type(), torch::kFloat32);
        const Agreement a = agreement(out, m_floatOut);
        qInfo("static int8 per tensor: top-1 agreement %.1f%%, max |logit diff| %.3f (logits up to %.1f)",
              a.top1 * 100, a.maxAbs, a.logitRange);
        QVERIFY(a.top1 >= 0.98);
        QVERIFY(a.maxAbs < 0.1 * a.logitRange);
        // The steps really run int8 kernels: the first stage's output is a quantized tensor.
        QVERIFY(model.forwardStage(0, m_testX.slice(0, 0, 4)).is_quantized());
        QVERIFY(model.stageQuantized(0));
        QCOMPARE(model.report().calibrationSamples, int64_t(500));
    }

    void staticInt8PerChannel()
    {
        const QuantizedModel perTensor = quantizeModel(m_spec, m_weights, plain(false), data());
        const QuantizedModel perChannel = quantizeModel(m_spec, m_weights, plain(true), data());
        for (const auto& [name, t] : perChannel.parameters())
            if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0)
                QVERIFY(t.qscheme() == torch::kPerChannelAffine);
        const Agreement a = agreement(perChannel.forward(m_testX), m_floatOut);
        const Agreement t = agreement(perTensor.forward(m_testX), m_floatOut);
        qInfo("per channel: top-1 agreement %.1f%%, max |logit diff| %.3f (per tensor %.3f)", a.top1 * 100, a.maxAbs, t.maxAbs);
        QVERIFY(a.top1 >= 0.98);
        QVERIFY(a.maxAbs < 0.1 * a.logitRange);
    }

    void dynamicInt8()
    {
        QuantizeOptions o = plain();
        o.mode = QuantizeMode::Dynamic;
        const QuantizedModel model = quantizeModel(m_spec, m_weights, o, {});
        const auto& layers = model.report().layers;
        QVERIFY(!layers[0].int8 && !layers[1].int8);   // convolutions stay float
        QVERIFY(layers[2].int8);
        QVERIFY(layers[0].why.find("linear layers only") != std::string::npos);
        const Agreement a = agreement(model.forward(m_testX), m_floatOut);
        qInfo("dynamic int8 (linear): top-1 agreement %.1f%%, max |logit diff| %.3f", a.top1 * 100, a.maxAbs);
        QVERIFY(a.top1 >= 0.99);
        QVERIFY(a.maxAbs < 0.05 * a.logitRange);
    }

    void saveLoadRoundTripAndSize()
    {
        for (const bool perChannel : {false, true}) {
            const QuantizedModel model = quantizeModel(m_spec, m_weights, plain(perChannel), data());
            const std::string file = path(perChannel ? "pc.safetensors" : "pt.safetensors");
            model.save(file, {{"run", "abc"}});
            const QuantizedModel loaded = QuantizedModel::load(file);
            QVERIFY(torch::equal(loaded.forward(m_testX), model.forward(m_testX)));
            QCOMPARE(loaded.report().perChannel, perChannel);
            // The experiment is stored without its defaults and parses back the same.
            QCOMPARE(experimentToJson(loaded.spec()), experimentToJson(m_spec));
            QCOMPARE(loaded.report().layers.size(), model.report().layers.size());
            const SafetensorsRawContents raw = readSafetensorsRaw(file);
            bool sawI8 = false;
            for (const RawTensor& t : raw.tensors)
                sawI8 |= t.name == "3.body.0.weight" && t.dtype == TensorDtype::I8;
            QVERIFY(sawI8);
            QCOMPARE(raw.metadata.at("run"), std::string("abc"));
            qInfo("metadata: experiment %d bytes, quantization %d bytes, %d tensors", int(raw.metadata.at("experiment").size()),
                  int(raw.metadata.at("quantization").size()), int(raw.tensors.size()));
            // Against the float model as `export` writes it (experiment in the metadata too).
            const std::string floatFile = path("float.safetensors");
            writeSafetensors(floatFile, m_weights, {{"format", "nnlab.safetensors/1"}, {"experiment", experimentToJson(m_spec)}});
            const double ratio = double(fileSize(floatFile)) / double(fileSize(file));
            qInfo("%s: int8 file %lld bytes, float %lld bytes: %.2fx smaller", perChannel ? "per channel" : "per tensor",
                  (long long)fileSize(file), (long long)fileSize(floatFile), ratio);
            QVERIFY(ratio >= 3.5);
        }
        // Dynamic: the float convolutions travel as F32, the linear layer as I8.
        QuantizeOptions o = plain();
        o.mode = QuantizeMode::Dynamic;
        const QuantizedModel dyn = quantizeModel(m_spec, m_weights, o, {});
        dyn.save(path("dyn.safetensors"));
        const QuantizedModel dynLoaded = QuantizedModel::load(path("dyn.safetensors"));
        QVERIFY(torch::equal(dynLoaded.forward(m_testX), dyn.forward(m_testX)));
        QVERIFY(dynLoaded.report().mode == QuantizeMode::Dynamic);
    }

    void badFilesRefused()
    {
        // A float export is no int8 model.
        const std::string floatFile = path("plain.safetensors");
        writeSafetensors(floatFile, m_weights, {{"format", "nnlab.safetensors/1"}});
        try {
            QuantizedModel::load(floatFile);
            QFAIL("a float file loaded");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find(floatFile) != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("nnlab.int8/1") != std::string::npos, e.what());
        }
        // A model file with a tensor gone, and one cut short.
        const QuantizedModel model = quantizeModel(m_spec, m_weights, plain(), data());
        const std::string file = path("m.safetensors");
        model.save(file);
        SafetensorsRawContents raw = readSafetensorsRaw(file);
        std::vector<RawTensor> fewer;
        for (const RawTensor& t : raw.tensors)
            if (t.name != "6.bias")
                fewer.push_back(t);
        writeSafetensorsRaw(path("missing.safetensors"), fewer, raw.metadata);
        try {
            QuantizedModel::load(path("missing.safetensors"));
            QFAIL("a file without a scale loaded");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find("6.bias") != std::string::npos, e.what());
        }
        std::filesystem::resize_file(file, fileSize(file) - 100);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, QuantizedModel::load(file));
    }

    void floatLayersKeptInFloat()
    {
        QuantizeOptions o = plain();
        o.floatLayers = {"6", "3.body.1"};   // the linear layer, and the BatchNorm folded into 3.body.0
        const QuantizedModel model = quantizeModel(m_spec, m_weights, o, data());
        const auto& layers = model.report().layers;
        QVERIFY(layers[0].int8);
        QVERIFY(!layers[1].int8 && !layers[2].int8);
        QCOMPARE(layers[2].why, std::string("float: in float layers"));
        // Int8 until the residual block, float after: int8 then dequantized where float follows.
        QVERIFY(model.forwardStage(0, m_testX.slice(0, 0, 4)).is_quantized());
        const Agreement a = agreement(model.forward(m_testX), m_floatOut);
        QVERIFY(a.top1 >= 0.98);
        // A name that is no conv2d / linear layer is refused, naming it.
        o.floatLayers = {"17"};
        try {
            quantizeModel(m_spec, m_weights, o, data());
            QFAIL("an unknown float layer was accepted");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(std::string(e.what()).find("\"17\"") != std::string::npos, e.what());
        }
    }

    void forcedInt8OnUnsupportedLayerIsAnError()
    {
        QuantizeExtras extras;
        extras.int8Layers = {"2"};   // max-pooling
        try {
            quantizeModel(m_spec, m_weights, plain(), data(), extras);
            QFAIL("int8 max-pooling was accepted");
        } catch (const std::runtime_error& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("layer 2 (maxpool2d)") != std::string::npos && m.find("cannot run it in int8") != std::string::npos,
                     m.c_str());
        }
        QuantizeOptions o = plain();
        o.mode = QuantizeMode::Dynamic;
        extras.int8Layers = {"0"};   // a conv in dynamic mode
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, quantizeModel(m_spec, m_weights, o, {}, extras));
        // Forced int8 layers stay int8 under max-drop 0.
        o = plain();
        o.maxDrop = 0.0;
        extras.int8Layers = {"3.body.0"};
        const QuantizedModel model = quantizeModel(m_spec, m_weights, o, data(), extras);
        QVERIFY(model.report().layers[1].int8);
        QCOMPARE(model.report().layers[1].why, std::string("int8: forced"));
    }

    void maxDropRevertsCostliestLayers()
    {
        QuantizeOptions o = plain();
        o.maxDrop = 0.0;   // no drop at all: layers go back to float until none is lost
        const QuantizedModel model = quantizeModel(m_spec, m_weights, o, data());
        const QuantizeReport& r = model.report();
        qInfo("max-drop 0: float %.2f%%, result %.2f%%\n%s", r.floatAccuracy * 100, r.int8Accuracy * 100, r.text().c_str());
        QVERIFY(r.floatAccuracy > 0);
        QVERIFY(r.int8Accuracy >= r.floatAccuracy);
        QCOMPARE(quantizedAccuracy(model, m_valX, m_valY), r.int8Accuracy);
        for (const QuantLayerReport& l : r.layers)
            if (!l.int8)
                QVERIFY2(l.why.find("max-drop") != std::string::npos, l.why.c_str());
        // A generous bound keeps every layer int8.
        o.maxDrop = 0.5;
        const QuantizedModel loose = quantizeModel(m_spec, m_weights, o, data());
        for (const QuantLayerReport& l : loose.report().layers)
            QVERIFY2(l.int8, l.name.c_str());
        // Without a validation split it is refused.
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, quantizeModel(m_spec, m_weights, o, {m_trainX, {}, {}}));
    }

    void fastestPerLayerChoosesByTiming()
    {
        QuantizeOptions o = plain();
        o.fastestPerLayer = true;
        QuantizeExtras extras;
        extras.timingCalls = 5;
        const QuantizedModel model = quantizeModel(m_spec, m_weights, o, data(), extras);
        qInfo("fastest per layer:\n%s", model.report().text().c_str());
        for (const QuantLayerReport& l : model.report().layers) {
            QVERIFY(l.int8);
            QCOMPARE(l.timingMs.size(), size_t(3));   // batch 1, 8, 64
            QVERIFY2(l.why.find("batch 64") != std::string::npos, l.why.c_str());
        }
        // Whatever ran where, the outputs are the model's at batch 1 and 64.
        std::vector<torch::Tensor> outs;
        for (int64_t i = 0; i < m_testX.size(0); i += 64)
            outs.push_back(model.forward(m_testX.slice(0, i, std::min(m_testX.size(0), i + 64))));
        const Agreement a64 = agreement(torch::cat(outs), m_floatOut);
        qInfo("fastest per layer in batches of 64: top-1 agreement %.1f%%, max |logit diff| %.3f", a64.top1 * 100, a64.maxAbs);
        QVERIFY(a64.top1 >= 0.98);
        for (int i = 0; i < 4; ++i) {
            const torch::Tensor one = model.forward(m_testX.slice(0, i, i + 1));
            QCOMPARE(one.argmax(1).item<int64_t>(), m_floatOut[i].argmax().item<int64_t>());
        }
        model.save(path("fast.safetensors"));
        const QuantizedModel loaded = QuantizedModel::load(path("fast.safetensors"));
        for (size_t i = 0; i < loaded.report().layers.size(); ++i)
            QCOMPARE(loaded.report().layers[i].int8FromBatch, model.report().layers[i].int8FromBatch);
    }

    void everyLayerKind()
    {
        // Random weights and BatchNorm statistics over the other layer kinds: a residual block
        // with a strided projection, average pooling, batchnorm1d after a linear layer,
        // leaky ReLU, dropout, GELU, layernorm.
        const char* json = R"({"format": "nnlab.experiment/1", "name": "kinds",
          "data": {"source": "cifar10", "path": "/nonexistent"},
          "model": {"input": [3, 32, 32], "layers": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "batchnorm2d"}, {"type": "relu"},
            {"type": "residual", "layers": [
              {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1, "stride": 2},
              {"type": "batchnorm2d"}, {"type": "relu"},
              {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1}]},
            {"type": "relu"},
            {"type": "avgpool2d", "kernel_size": 2},
            {"type": "adaptive_avgpool2d", "output_size": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": 32}, {"type": "batchnorm1d"}, {"type": "leaky_relu"},
            {"type": "dropout", "p": 0.3},
            {"type": "linear", "out_features": 16}, {"type": "gelu"}, {"type": "layernorm"},
            {"type": "linear", "out_features": 10}]}})";
        const ParseResult parsed = parseExperiment(json);
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        torch::manual_seed(1);
        torch::nn::Sequential net = buildModel(parsed.spec.model);
        {
            torch::NoGradGuard noGrad;
            for (auto& b : net->named_buffers()) {
                if (b.key().find("running_mean") != std::string::npos)
                    b.value().uniform_(-0.2, 0.2);
                if (b.key().find("running_var") != std::string::npos)
                    b.value().uniform_(0.5, 2.0);
            }
        }
        net->eval();
        const std::vector<NamedTensor> weights = weightsOf(*net);
        const torch::Tensor x = torch::randn({256, 3, 32, 32});
        torch::Tensor reference;
        {
            torch::NoGradGuard noGrad;
            reference = net->forward(x);
        }
        const QuantizedModel folded = QuantizedModel::fromFloat(parsed.spec, weights);
        QVERIFY((folded.forward(x) - reference).abs().max().item<double>() < 1e-4);
        QCOMPARE(folded.report().layers.size(), size_t(7));   // 3 convs, the projection, 3 linear
        QuantizeOptions o = plain(true);
        const QuantizedModel q = quantizeModel(parsed.spec, weights, o, {x, {}, {}});
        const Agreement a = agreement(q.forward(x), reference);
        qInfo("every layer kind, per channel: top-1 agreement %.1f%%, max |diff| %.3f of %.2f\n%s", a.top1 * 100, a.maxAbs,
              a.logitRange, q.report().text().c_str());
        QVERIFY(a.top1 >= 0.9);   // random weights: logits close together
        QVERIFY(a.maxAbs < 0.15 * a.logitRange);
        q.save(path("kinds.safetensors"));
        QVERIFY(torch::equal(QuantizedModel::load(path("kinds.safetensors")).forward(x), q.forward(x)));
    }
};

QTEST_APPLESS_MAIN(TestQuantize)
#include "test_quantize.moc"
