// nnlab/inspect.h on trained weights: the confusion report over the validation split, feature
// maps of a chosen layer, the first layer's filters, and per-class scores.
#include "builder.h"
#include "weights_io.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/inspect.h"
#include "nnlab/model_info.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace nnlab;

namespace {
const char* const kSpiral = R"({"format": "nnlab.experiment/1", "name": "ondemand", "seed": 5,
  "data": {"source": "spiral", "samples": 300, "classes": 3, "noise": 0.1, "validation_fraction": 0.2},
  "model": {"input": [2], "layers": [{"type": "linear", "out_features": 8}, {"type": "relu"}, {"type": "linear"}]},
  "optimizer": {"type": "adam", "lr": 0.01},
  "training": {"epochs": 2, "batch_size": 30, "threads": 1, "checkpoint_every_seconds": 0}})";
}

class TestInspectOnDemand : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    TrainedWeights m_weights;

private Q_SLOTS:
    void initTestCase()
    {
        const ParseResult parsed = parseExperiment(kSpiral);
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        const Preparation p = prepareExperiment(parsed);
        TrainControl control;
        RunSessionOptions options;
        options.databasePath = m_dir.filePath("runs.db").toStdString();
        const RunSessionResult run = runTrainingSession(p.experiment, control, options);
        QVERIFY2(run.result.status == TrainStatus::Finished, run.result.message.c_str());
        auto store = RunStore::open(options.databasePath, {true});
        QVERIFY(store.ok());
        m_weights = loadTrainedWeights(*store.value, run.runId);
        // The run recorded its confusion matrices (spec.inspect's defaults).
        const auto matrices = store.value->snapshots(run.runId, SnapshotKind::ConfusionMatrix);
        QCOMPARE(matrices.value.size(), size_t(2));
    }

    void confusionReportOverValidation()
    {
        const ConfusionReport report = confusionReport(m_weights);
        QCOMPARE(report.classes, int64_t(3));
        QCOMPARE(report.classNames.size(), size_t(3));
        QCOMPARE(report.sampleShape, std::vector<int64_t>{2});
        double total = 0;
        for (float v : report.matrix)
            total += v;
        QCOMPARE(static_cast<int64_t>(total), int64_t(60));   // 20% of 300
        QCOMPARE(report.scores.samples, int64_t(60));
        for (int64_t t = 0; t < 3; ++t)
            for (int64_t k = 0; k < 3; ++k) {
                const auto& examples = report.examples[static_cast<size_t>(t * 3 + k)];
                const auto count = static_cast<size_t>(report.matrix[static_cast<size_t>(t * 3 + k)]);
                if (t == k) {
                    QVERIFY(examples.empty());   // correct ones only when asked
                    continue;
                }
                QCOMPARE(examples.size(), std::min<size_t>(count, 24));
                for (size_t i = 0; i < examples.size(); ++i) {
                    QCOMPARE(examples[i].raw.size(), size_t(2));
                    QVERIFY(examples[i].probability >= examples[i].trueProbability);   // it was predicted
                    if (i > 0)
                        QVERIFY(examples[i - 1].probability >= examples[i].probability);   // most confident first
                }
            }
        // The raw values are the input's: predicting them gives the recorded probability.
        const Predictor predictor(m_weights);
        for (size_t cell = 0; cell < report.examples.size(); ++cell)
            for (const ConfusionExample& e : report.examples[cell]) {
                const std::vector<float> p = predictor.predict(e.raw.data(), 1);
                QVERIFY(std::abs(p[cell % 3] - e.probability) < 1e-4);
            }
        ConfusionOptions all;
        all.correctExamples = true;
        all.examplesPerCell = 2;
        const ConfusionReport withCorrect = confusionReport(m_weights, all);
        QCOMPARE(withCorrect.examples[0].size(), std::min<size_t>(2, static_cast<size_t>(withCorrect.matrix[0])));
        QCOMPARE(withCorrect.matrix, report.matrix);
    }

    void classScoresOfAMatrix()
    {
        const ClassScores s = classScores({5, 1, 0, 2, 0, 0, 0, 0, 0}, 3);   // rows: true class
        QCOMPARE(s.samples, int64_t(8));
        QCOMPARE(s.accuracy, 5.0 / 8.0);
        QCOMPARE(s.precision, (std::vector<double>{5.0 / 7.0, 0.0, 0.0}));
        QCOMPARE(s.recall, (std::vector<double>{5.0 / 6.0, 0.0, 0.0}));
        QVERIFY(classScores({1, 2}, 3).precision.empty());   // wrong size
    }

    void featureMapsOfAnMlp()
    {
        const FeatureMaps maps = featureMaps(m_weights, "1", {0.3f, -0.2f});
        QCOMPARE(maps.layerType, std::string("relu"));
        QCOMPARE(maps.shape, std::vector<int64_t>{8});
        for (float v : maps.values)
            QVERIFY(v >= 0);
        const FeatureMaps logits = featureMaps(m_weights, "2", {0.3f, -0.2f});
        const Predictor predictor(m_weights);
        const std::vector<float> raw{0.3f, -0.2f};
        const std::vector<float> expected = predictor.predict(raw.data(), 1, PredictOutput::Logits);
        for (size_t i = 0; i < 3; ++i)
            QVERIFY(std::abs(logits.values[i] - expected[i]) < 1e-5);
        try {
            featureMaps(m_weights, "7", {0, 0});
            QFAIL("an unknown layer was accepted");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find("one of 0, 1, 2") != std::string::npos, e.what());
        }
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, featureMaps(m_weights, "1", {0, 0, 0}));
        QVERIFY(firstLayerFilters(m_weights).shape.empty());
        const auto layers = inspectableLayers(m_weights);
        QCOMPARE(layers.size(), size_t(3));
        QCOMPARE(layers[0].outputShape, std::vector<int64_t>{8});
    }

    // A small CNN's feature maps: one map a channel, the convolution LibTorch computes.
    void featureMapsOfACnn()
    {
        const ParseResult parsed = parseExperiment(R"({"format": "nnlab.experiment/1", "name": "cnn",
          "data": {"source": "csv", "path": "x.csv"},
          "model": {"input": [1, 6, 6], "layers": [{"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
            {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 2}]}})");
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        const Preparation p = prepareExperiment(parsed);
        torch::manual_seed(2);
        torch::nn::Sequential model = nnlab::detail::buildModel(p.experiment.spec.model, p.experiment.model);
        TrainedWeights weights;
        weights.spec = p.experiment.spec;
        weights.tensors = nnlab::detail::weightsOf(*model);
        weights.interface.sampleShape = {1, 6, 6};
        weights.interface.images = true;
        weights.interface.inputShift = {10.0f};
        weights.interface.inputScale = {2.0f};
        weights.interface.outputs = 2;
        weights.interface.classNames = {"a", "b"};
        std::vector<float> raw(36);
        for (size_t i = 0; i < raw.size(); ++i)
            raw[i] = static_cast<float>(i);
        const FeatureMaps maps = featureMaps(weights, "0", raw);
        QCOMPARE(maps.shape, (std::vector<int64_t>{3, 6, 6}));
        QCOMPARE(maps.minimum.size(), size_t(3));
        torch::NoGradGuard noGrad;
        const torch::Tensor x = (torch::tensor(raw).reshape({1, 1, 6, 6}) - 10.0f) / 2.0f;
        const torch::Tensor conv = torch::conv2d(x, model->named_parameters()["0.weight"], model->named_parameters()["0.bias"], 1, 1)[0];
        const torch::Tensor got = torch::tensor(maps.values).reshape({3, 6, 6});
        QVERIFY(torch::allclose(got, conv, 1e-4, 1e-5));
        QCOMPARE(maps.maximum[1], conv[1].max().item<float>());
        const FilterBank filters = firstLayerFilters(weights);
        QCOMPARE(filters.layerPath, std::string("0"));
        QCOMPARE(filters.shape, (std::vector<int64_t>{3, 1, 3, 3}));
    }
};

QTEST_APPLESS_MAIN(TestInspectOnDemand)
#include "test_inspect_ondemand.moc"
