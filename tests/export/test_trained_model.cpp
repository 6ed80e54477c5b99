// A run out of the store: its interface recorded, its weights loaded by name, predictions on
// raw inputs equal to the trainer's own evaluation, safetensors round trips, and hostile
// safetensors headers refused with a message instead of a crash.
#include "../engine/train_test_util.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/model_export.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

using namespace nnlab;

namespace {

// A small residual CNN on real Fashion-MNIST images: conv, BatchNorm (running statistics are
// buffers), a residual block with a projection, pooling and a classifier.
const char* kCnn = R"({"name": "tiny-cnn", "seed": 3,
  "data": {"source": "fashion-mnist", "train_limit": 1500, "validation_fraction": 0.2},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "residual", "layers": [
      {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1}, {"type": "relu"}]},
    {"type": "adaptive_avgpool2d", "output_size": 4}, {"type": "flatten"},
    {"type": "dropout", "p": 0.2}, {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003},
  "training": {"epochs": 2, "batch_size": 50, "threads": 1}})";

struct Trained {
    std::string runId;
    TrainResult result;
};

Trained trainInto(const std::string& db, const std::string& json)
{
    const RunSessionResult run = test::recordRun(db, parseExperiment(json));
    return {run.runId, run.result};
}

// The validation split in raw units (normalization off): what a user would feed.
Dataset rawValidation(const ExperimentSpec& spec)
{
    DataSpec data = spec.data;
    data.normalize = "none";
    return loadData(data, true, spec.seed).validation;
}

double accuracy(const Predictor& predictor, const Dataset& set)
{
    const std::vector<float> p = predictor.predict(set.features.data(), set.count());
    const int64_t k = predictor.outputs();
    int64_t right = 0;
    for (int64_t i = 0; i < set.count(); ++i) {
        const float* row = p.data() + i * k;
        right += std::max_element(row, row + k) - row == set.labels[size_t(i)];
    }
    return double(right) / double(set.count());
}

// A safetensors image with the given header text and `body` bytes of data.
std::string safetensorsBytes(const std::string& header, size_t body, uint64_t declared = ~0ull)
{
    const uint64_t length = declared == ~0ull ? header.size() : declared;
    std::string bytes(8, '\0');
    std::memcpy(bytes.data(), &length, 8);
    return bytes + header + std::string(body, '\0');
}

} // namespace

class TestTrainedModel : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db").toStdString();
        m_cnn = trainInto(m_db, kCnn);
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        m_store = std::move(store.value);
    }

    void interfaceIsRecordedWithTheRun()
    {
        const auto run = m_store->getRun(m_cnn.runId);
        QVERIFY(run.ok());
        const nlohmann::json info = nlohmann::json::parse(run.value.infoJson);
        QVERIFY(info.contains("interface"));
        const ModelInterface m = interfaceFromJson(info["interface"].dump());
        QCOMPARE(m.sampleShape, (std::vector<int64_t>{1, 28, 28}));
        QCOMPARE(m.classNames.size(), size_t(10));
        QCOMPARE(m.classNames[0], std::string("T-shirt/top"));
        QCOMPARE(m.inputShift.size(), size_t(1));
        // Fashion-MNIST pixels: mean about 73 of 255, deciles cut the range into bins.
        QVERIFY2(m.rawMean[0] > 60 && m.rawMean[0] < 85, qPrintable(QString::number(m.rawMean[0])));
        QVERIFY(m.histogramEdges.size() == 1 && m.histogramEdges[0].size() >= 3);
        QCOMPARE(m.classPrior.size(), size_t(10));
        // Drift: windows of training data stay near the sampling baseline; the same windows
        // brightened by 40 levels (clipped at 255) are far from it.
        QVERIFY2(m.inputPsiAt100 > 0 && m.inputPsiAt100 < 0.1, qPrintable(QString::number(m.inputPsiAt100)));
        DataSpec raw = parseExperiment(kCnn).spec.data;
        raw.normalize = "none";
        Dataset val = loadData(raw, true, 3).validation;
        const double normal = inputDrift(m, val.features.data(), 100);
        for (float& v : val.features)
            v = std::min(255.0f, v + 40.0f);
        const double shifted = inputDrift(m, val.features.data(), 100);
        QVERIFY2(normal < 3 * m.inputPsiAt100 && shifted > 10 * m.inputPsiAt100,
                 qPrintable(QString("baseline %1, normal %2, shifted %3").arg(m.inputPsiAt100).arg(normal).arg(shifted)));
        qInfo("input drift of 100 samples: baseline %.4f, validation %.4f, brightened %.4f", m.inputPsiAt100, normal, shifted);
    }

    void predictionsOnRawInputsMatchTheTrainersEvaluation()
    {
        const TrainedWeights weights = loadTrainedWeights(*m_store, m_cnn.runId.substr(0, 8), CheckpointChoice::Latest);
        QCOMPARE(weights.runId, m_cnn.runId);
        const auto has = [&](const std::string& name) {
            return std::any_of(weights.tensors.begin(), weights.tensors.end(), [&](const NamedTensor& t) { return t.name == name; });
        };
        QVERIFY(has("0.weight"));
        QVERIFY(has("1.running_mean"));          // BatchNorm statistics travel as buffers
        QVERIFY(has("4.shortcut.weight"));       // the residual block's projection (8 -> 12 channels)
        const Predictor predictor(weights, 1);
        const Dataset raw = rawValidation(weights.spec);
        QCOMPARE(raw.count(), int64_t(300));
        const double expected = m_cnn.result.finalMetrics.at("val/accuracy");
        const double got = accuracy(predictor, raw);
        QVERIFY2(std::abs(got - expected) <= 1.0 / 300 + 1e-9,
                 qPrintable(QString("predictor %1, trainer %2").arg(got).arg(expected)));
        QVERIFY(got > 0.5);   // it learned something: ten classes, chance is 0.1
        // Probabilities: each row sums to 1.
        const std::vector<float> p = predictor.predict(raw.features.data(), 3);
        for (int r = 0; r < 3; ++r)
            QVERIFY(std::abs(std::accumulate(p.begin() + r * 10, p.begin() + r * 10 + 10, 0.0) - 1.0) < 1e-5);
    }

    void safetensorsRoundTripGivesTheSameModel()
    {
        const TrainedWeights weights = loadTrainedWeights(*m_store, m_cnn.runId);
        const std::string path = m_dir.filePath("model.safetensors").toStdString();
        exportSafetensors(weights, path);
        const SafetensorsContents file = readSafetensors(path);
        QCOMPARE(file.metadata.at("run"), m_cnn.runId);
        QCOMPARE(file.tensors.size(), weights.tensors.size());
        const TrainedWeights back = weightsFromSafetensors(path);
        QCOMPARE(back.spec.model.input, weights.spec.model.input);
        const Dataset raw = rawValidation(weights.spec);
        const std::vector<float> a = Predictor(weights, 1).predict(raw.features.data(), 20, PredictOutput::Logits);
        const std::vector<float> b = Predictor(back, 1).predict(raw.features.data(), 20, PredictOutput::Logits);
        QCOMPARE(a, b);   // bit for bit: F32 in, F32 out
    }

    void weightsThatDoNotFitAreNamed()
    {
        TrainedWeights weights = loadTrainedWeights(*m_store, m_cnn.runId);
        weights.tensors.erase(weights.tensors.begin());   // 0.weight
        weights.tensors.push_back({"extra.weight", {2}, {1, 2}});
        const std::string problems = checkWeightsFit(weights.spec, weights.tensors);
        QVERIFY2(problems.find("tensor '0.weight' is missing") != std::string::npos, problems.c_str());
        QVERIFY2(problems.find("'extra.weight' is not part of this model") != std::string::npos, problems.c_str());
    }

    void aRunWithoutCheckpointIsRefusedByName()
    {
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, loadTrainedWeights(*m_store, "no-such-run"));
        const std::string best = checkpointPathFor(m_db, m_cnn.runId, CheckpointKind::Best);
        const std::string latest = checkpointPathFor(m_db, m_cnn.runId, CheckpointKind::Latest);
        QDir().rename(QString::fromStdString(latest), QString::fromStdString(latest + ".away"));
        QFile::remove(QString::fromStdString(best));
        try {
            loadTrainedWeights(*m_store, m_cnn.runId, CheckpointChoice::Latest);
            QFAIL("loaded without a checkpoint");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find("has no checkpoint") != std::string::npos, e.what());
        }
        QDir().rename(QString::fromStdString(latest + ".away"), QString::fromStdString(latest));
    }

    void hostileSafetensorsHeadersAreRefused_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("message");
        auto add = [](const char* name, const std::string& bytes, const char* message) {
            QTest::newRow(name) << QByteArray(bytes.data(), int(bytes.size())) << QString(message);
        };
        add("short", "abc", "too short");
        add("huge header", safetensorsBytes("{}", 0, 1ull << 40), "over the limit");
        add("header past end", safetensorsBytes("{}", 0, 64), "runs past the end");
        add("not json", safetensorsBytes("{nope", 0), "not a JSON object");
        add("bad dtype", safetensorsBytes(R"({"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}})", 1), "unknown dtype");
        add("negative offset", safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4), "non-negative integer");
        add("out of range", safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4000]}})", 4), "outside the 4 bytes");
        add("length vs shape", safetensorsBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4), "needs 8 bytes");
        add("overlap", safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", 6), "overlaps");
        add("gap", safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "belong to no tensor");
        add("huge shape", safetensorsBytes(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
            "more elements than the file");
        add("metadata not strings", safetensorsBytes(R"({"__metadata__":{"k":1}})", 0), "expected a string");
    }

    void hostileSafetensorsHeadersAreRefused()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, message);
        try {
            parseSafetensors(reinterpret_cast<const uint8_t*>(bytes.constData()), size_t(bytes.size()), "x.safetensors");
            QFAIL("accepted");
        } catch (const SafetensorsError& e) {
            QVERIFY2(QString(e.what()).startsWith("x.safetensors: ") && QString(e.what()).contains(message), e.what());
        }
    }

private:
    QTemporaryDir m_dir;
    std::string m_db;
    Trained m_cnn;
    std::unique_ptr<RunStore> m_store;
};

QTEST_APPLESS_MAIN(TestTrainedModel)
#include "test_trained_model.moc"
