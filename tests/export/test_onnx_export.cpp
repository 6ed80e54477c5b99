// ONNX export checked by runtimes nnlab did not write: small real models are trained, exported,
// and run on raw inputs by ONNX Runtime (npm onnxruntime-node, tests/export/install_onnxruntime.sh)
// and OpenCV's DNN module (python3-opencv); their logits must equal nnlab's Predictor's. The
// onnx package's checker (full_check) vets every file, and what the export cannot express is
// refused with the layer's path.
#include "../engine/train_test_util.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/model_export.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

using namespace nnlab;

namespace {

// Agreement with nnlab: |onnx - nnlab| <= kTolerance * max(1, |nnlab|), i.e. absolute for
// logits below 1 and relative above.
constexpr double kTolerance = 1e-4;
constexpr int64_t kSamples = 16;   // raw samples compared per model (a dynamic batch of 2 * 16)

// (a) conv, BatchNorm, a residual block whose projection is a strided 1x1 conv (8 -> 12
// channels, 14 -> 7), one with an identity skip, dropout.
const char* kResidualCnn = R"({"name": "onnx-cnn", "seed": 5,
  "data": {"source": "fashion-mnist", "train_limit": 1000, "validation_fraction": 0.2},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "residual", "layers": [
      {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1, "stride": 2},
      {"type": "batchnorm2d"}, {"type": "relu"}]},
    {"type": "residual", "layers": [
      {"type": "conv2d", "out_channels": 12, "kernel_size": 3, "padding": 1, "bias": false},
      {"type": "batchnorm2d", "affine": false}]},
    {"type": "flatten"}, {"type": "dropout", "p": 0.3}, {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003},
  "training": {"epochs": 1, "batch_size": 50, "threads": 1}})";

// (b) an MLP on the spiral (standardized: per-feature normalization) with every flat layer
// type, a linear projection and an identity skip.
const char* kMlp = R"({"name": "onnx-mlp", "seed": 7,
  "data": {"source": "spiral", "samples": 600, "classes": 3, "normalize": "standardize"},
  "model": {"input": [2], "layers": [
    {"type": "linear", "out_features": 32}, {"type": "batchnorm1d"}, {"type": "gelu"},
    {"type": "dropout", "p": 0.1},
    {"type": "residual", "layers": [{"type": "linear", "out_features": 16}, {"type": "tanh"}]},
    {"type": "layernorm"}, {"type": "leaky_relu", "negative_slope": 0.1},
    {"type": "linear", "out_features": 16}, {"type": "sigmoid"},
    {"type": "residual", "layers": [{"type": "linear", "out_features": 16}, {"type": "leaky_relu"}]},
    {"type": "linear"}]},
  "optimizer": {"type": "adam", "lr": 0.01},
  "training": {"epochs": 2, "batch_size": 32, "threads": 1}})";

// (c) pooling with padding, grouped and dilated convolution, layernorm over [C, H, W], and
// adaptive pooling three ways: even windows (14 -> 7), uneven ones (7 -> 3) and global.
const char* kPools = R"({"name": "onnx-pools", "seed": 9,
  "data": {"source": "fashion-mnist", "train_limit": 600, "validation_fraction": 0.2},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1},
    {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 2, "dilation": 2, "groups": 3},
    {"type": "adaptive_avgpool2d", "output_size": 7}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
    {"type": "layernorm"},
    {"type": "adaptive_avgpool2d", "output_size": 3},
    {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "stride": 2}]},
    {"type": "adaptive_avgpool2d", "output_size": 1}, {"type": "flatten"},
    {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003},
  "training": {"epochs": 1, "batch_size": 50, "threads": 1}})";

// (d) regression from a CSV of raw values far from [0, 1]: one output, no probabilities.
const char* kRegression = R"({"name": "onnx-regression", "seed": 11,
  "data": {"source": "csv", "path": "CSV", "validation_fraction": 0.2},
  "model": {"input": [3], "layers": [
    {"type": "linear", "out_features": 16}, {"type": "layernorm", "elementwise_affine": false},
    {"type": "relu"}, {"type": "batchnorm1d", "affine": false}, {"type": "linear"}]},
  "loss": "mse", "optimizer": {"type": "adam", "lr": 0.01},
  "training": {"epochs": 3, "batch_size": 32, "threads": 1}})";

void writeFloats(const QString& path, const std::vector<float>& values)
{
    std::ofstream(path.toStdString(), std::ios::binary)
        .write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(float)));
}

std::vector<float> readFloats(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    const QByteArray bytes = file.readAll();
    std::vector<float> values(size_t(bytes.size()) / sizeof(float));
    std::memcpy(values.data(), bytes.constData(), values.size() * sizeof(float));
    return values;
}

// Runs a program; returns its stdout, or fails the test with its stderr.
QByteArray runTool(const QString& program, const QStringList& args, bool* ok)
{
    QProcess p;
    p.start(program, args);
    *ok = p.waitForFinished(180000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
    if (!*ok)
        qWarning("%s %s failed:\n%s", qPrintable(program), qPrintable(args.join(' ')),
                 p.readAllStandardError().constData());
    return p.readAllStandardOutput();
}

// A python3 that imports `modules`: Debian's own first (python3-onnx, python3-opencv live
// there), then whatever python3 the PATH has.
QString pythonWith(const QString& modules)
{
    for (const QString& candidate : {QString("/usr/bin/python3"), QStandardPaths::findExecutable("python3")}) {
        if (candidate.isEmpty() || !QFileInfo(candidate).isExecutable())
            continue;
        QProcess p;
        p.start(candidate, {"-c", "import " + modules});
        if (p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0)
            return candidate;
    }
    return {};
}

struct Summary {
    QString model;
    qint64 bytes = 0;
    QStringList runtimes;
    double maxDiff = 0;
};

} // namespace

class TestOnnxExport : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db").toStdString();
        m_python = pythonWith("onnx");
        QVERIFY2(!m_python.isEmpty(), "no python3 with the onnx package; apt-get install python3-onnx");
        m_opencvPython = pythonWith("cv2, onnx, numpy");
        m_node = QStandardPaths::findExecutable("node");
        m_ortDir = NNLAB_BINARY_DIR "/onnxruntime-node";
        const bool ort = !m_node.isEmpty() && QFileInfo::exists(m_ortDir + "/node_modules/onnxruntime-node/package.json");
        if (!ort)
            m_node.clear();
        QVERIFY2(ort || !m_opencvPython.isEmpty(),
                 "no ONNX runtime to check the export with: run tests/export/install_onnxruntime.sh "
                 "(ONNX Runtime for Node, into build/onnxruntime-node) or apt-get install python3-opencv");
        if (!ort)
            qWarning("ONNX Runtime is not installed (run tests/export/install_onnxruntime.sh); "
                     "checking with OpenCV only");
        if (m_opencvPython.isEmpty())
            qWarning("python3-opencv is missing; checking with ONNX Runtime only");
    }

    void exportRunsLikeNnlab_data()
    {
        QTest::addColumn<QString>("experiment");   // JSON text, or "@file" with overrides after it
        QTest::newRow("residual cnn") << QString(kResidualCnn);
        QTest::newRow("fashion-cnn.json") << QString("@" NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
        QTest::newRow("mlp") << QString(kMlp);
        QTest::newRow("pools") << QString(kPools);
        QTest::newRow("csv regression") << QString(kRegression);
    }

    void exportRunsLikeNnlab()
    {
        QFETCH(QString, experiment);
        const std::string runId = train(experiment);
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        const TrainedWeights weights = loadTrainedWeights(*store.value, runId);
        const ModelInterface& m = weights.interface;
        const QString name = QTest::currentDataTag();
        const QString base = m_dir.filePath(QString(name).replace(' ', '-'));
        const QString onnxPath = base + ".onnx";
        exportOnnx(weights, onnxPath.toStdString());
        QVERIFY(!QFileInfo::exists(onnxPath + ".tmp"));

        // The onnx package's own checker, and what the file declares.
        bool ok = false;
        const QJsonObject info = QJsonDocument::fromJson(runTool(m_python, {script("run_onnx_check.py"), onnxPath}, &ok)).object();
        QVERIFY2(ok, "onnx.checker.check_model(full_check=True) refused the export");
        QCOMPARE(info["opset"].toObject()["ai.onnx"].toInt(), 17);
        QCOMPARE(info["ir_version"].toInt(), 8);
        const QJsonObject outputs = info["outputs"].toObject();
        QCOMPARE(outputs["logits"].toArray(), (QJsonArray{"N", int(m.outputs)}));
        QCOMPARE(outputs.contains("probabilities"), m.classification());
        const QJsonObject meta = info["metadata"].toObject();
        QCOMPARE(meta["nnlab.run_id"].toString().toStdString(), runId);
        const ModelInterface recorded = interfaceFromJson(meta["nnlab.interface"].toString().toStdString());
        QCOMPARE(recorded.inputShift, m.inputShift);
        QCOMPARE(recorded.classNames, m.classNames);
        QCOMPARE(QJsonDocument::fromJson(meta["class_names"].toString().toUtf8()).array().size(), int(m.classNames.size()));
        // The normalization is the graph's first step, on the raw input.
        QVERIFY2(!m.inputShift.empty(), "every model here trains on normalized data");
        const QJsonArray ops = info["ops"].toArray();
        QCOMPARE(ops[0].toString(), QString("Sub"));
        QCOMPARE(ops[1].toString(), QString("Div"));
        QCOMPARE(info["first_inputs"].toArray()[0].toString(), QString("input"));

        // Raw samples (pixels 0..255, CSV values as written), then the same samples normalized
        // by hand: the graph must answer the first like nnlab and the second differently,
        // which it only does when it normalizes, once.
        DataSpec rawData = weights.spec.data;
        rawData.normalize = "none";
        const Dataset raw = loadData(rawData, weights.spec.isClassification(), weights.spec.seed).validation;
        QVERIFY(raw.count() >= kSamples);
        const int64_t size = m.sampleSize();
        std::vector<float> input(raw.features.begin(), raw.features.begin() + kSamples * size);
        if (m.images)
            QVERIFY2(*std::max_element(input.begin(), input.end()) > 200.0f, "image inputs are not raw pixels");
        for (int64_t i = 0; i < kSamples * size; ++i) {
            const int64_t u = m.unitOf(i % size);
            input.push_back((input[size_t(i)] - m.inputShift[size_t(u)]) / m.inputScale[size_t(u)]);
        }
        const QString inputPath = base + ".input.f32";
        writeFloats(inputPath, input);
        const Predictor predictor(weights, 1);
        const std::vector<float> logits = predictor.predict(input.data(), kSamples, PredictOutput::Logits);
        const std::vector<float> probabilities = predictor.predict(input.data(), kSamples, PredictOutput::Probabilities);

        QStringList dimList;
        for (int64_t d : m.sampleShape)
            dimList << QString::number(d);
        const QString dims = dimList.join(',');
        Summary summary{name, QFileInfo(onnxPath).size(), {}, 0.0};
        if (!m_node.isEmpty()) {
            const QString prefix = base + ".ort";
            const QByteArray out = runTool(m_node, {script("run_onnx.mjs"), m_ortDir, onnxPath, inputPath, dims, prefix}, &ok);
            QVERIFY2(ok, "ONNX Runtime could not run the export");
            const double diff = compare(prefix, m, logits, probabilities);
            summary.runtimes << QJsonDocument::fromJson(out).object()["runtime"].toString() + " " + QString::number(diff, 'g', 3);
            summary.maxDiff = std::max(summary.maxDiff, diff);
        }
        if (!m_opencvPython.isEmpty()) {
            const QString prefix = base + ".opencv";
            const QByteArray out = runTool(m_opencvPython, {script("run_onnx_opencv.py"), onnxPath, inputPath, dims, prefix}, &ok);
            QVERIFY2(ok, "OpenCV's DNN module could not run the export");
            const double diff = compare(prefix, m, logits, probabilities);
            summary.runtimes << QJsonDocument::fromJson(out).object()["runtime"].toString() + " " + QString::number(diff, 'g', 3);
            summary.maxDiff = std::max(summary.maxDiff, diff);
        }
        if (QTest::currentTestFailed())
            return;
        qInfo("%s: %lld bytes, max |logit difference| %.3g (%s)", qPrintable(name), summary.bytes, summary.maxDiff,
              qPrintable(summary.runtimes.join(", ")));
        m_summaries.push_back(summary);
    }

    void anInexpressibleLayerIsNamed()
    {
        // Uneven adaptive pooling is a [H*W, o*o] averaging matrix; 28x28 -> 150x150 needs 17.6M entries.
        TrainedWeights weights = byHand(R"([{"type": "relu"}, {"type": "dropout"}, {"type": "tanh"},
            {"type": "adaptive_avgpool2d", "output_size": 150}, {"type": "flatten"},
            {"type": "linear", "out_features": 10}])", {1, 28, 28});
        const QString path = m_dir.filePath("too-big.onnx");
        try {
            exportOnnx(weights, path.toStdString());
            QFAIL("exported");
        } catch (const std::runtime_error& e) {
            const QString message = e.what();
            QVERIFY2(message.startsWith("model.layers[3] (adaptive_avgpool2d): output_size 150"), e.what());
            QVERIFY2(message.contains("choose an output_size that divides the input or is 1"), e.what());
        }
        QVERIFY(!QFileInfo::exists(path));
        QVERIFY(!QFileInfo::exists(path + ".tmp"));
    }

    void aMissingOrMisshapenTensorIsNamed()
    {
        TrainedWeights weights = byHand(R"([{"type": "linear", "out_features": 4}, {"type": "relu"},
            {"type": "residual", "layers": [{"type": "linear", "out_features": 3}]}])", {2});
        weights.tensors = {{"0.weight", {4, 2}, std::vector<float>(8)}, {"0.bias", {4}, std::vector<float>(4)},
                           {"2.body.0.weight", {3, 4}, std::vector<float>(12)}, {"2.body.0.bias", {3}, std::vector<float>(3)},
                           {"2.shortcut.weight", {3, 4}, std::vector<float>(12)}};
        const std::string path = m_dir.filePath("missing.onnx").toStdString();
        try {
            exportOnnx(weights, path);
            QFAIL("exported");
        } catch (const std::runtime_error& e) {
            QCOMPARE(QString(e.what()), QString("model.layers[2]: the weights have no tensor \"2.shortcut.bias\""));
        }
        weights.tensors.push_back({"2.shortcut.bias", {3}, std::vector<float>(3)});
        weights.tensors[0].shape = {2, 4};
        try {
            exportOnnx(weights, path);
            QFAIL("exported");
        } catch (const std::runtime_error& e) {
            QCOMPARE(QString(e.what()), QString("model.layers[0]: tensor \"0.weight\" is [2, 4], the layer needs [4, 2]"));
        }
        weights.tensors[0].shape = {4, 2};
        exportOnnx(weights, path);   // complete now
        QVERIFY(QFileInfo(QString::fromStdString(path)).size() > 0);
    }

    void cleanupTestCase()
    {
        qInfo("%-18s %10s %14s  %s", "model", "onnx bytes", "max |diff|", "runtime: max |diff|");
        for (const Summary& s : m_summaries)
            qInfo("%-18s %10lld %14.3g  %s", qPrintable(s.model), s.bytes, s.maxDiff, qPrintable(s.runtimes.join(", ")));
    }

private:
    QString script(const char* name) const { return QString(NNLAB_SOURCE_DIR "/tests/export/") + name; }

    std::string train(const QString& experiment)
    {
        ParseResult parsed;
        const std::vector<std::string> quick{"training.epochs=1", "data.train_limit=1500", "training.threads=1"};
        if (experiment.startsWith('@')) {
            parsed = loadExperimentFile(experiment.mid(1).toStdString(), quick);
        } else {
            QString json = experiment;
            json.replace("\"CSV\"", "\"" + writeCsv() + "\"");
            parsed = parseExperiment(json.toStdString());
        }
        return test::recordRun(m_db, parsed).runId;
    }

    // y = 0.02 * a - 3 * b + c / 50 + noise, with a in [0, 1000], b in [-2, 2], c in [100, 300].
    QString writeCsv()
    {
        const QString path = m_dir.filePath("regression.csv");
        std::ofstream out(path.toStdString());
        out << "a,b,c,y\n";
        std::mt19937 rng(4);
        std::uniform_real_distribution<float> unit(0.0f, 1.0f);
        for (int i = 0; i < 400; ++i) {
            const float a = 1000 * unit(rng), b = 4 * unit(rng) - 2, c = 100 + 200 * unit(rng);
            out << a << ',' << b << ',' << c << ',' << 0.02f * a - 3 * b + c / 50 + 0.1f * unit(rng) << '\n';
        }
        return path;
    }

    // Weights without training, for the refusals: a complete experiment (a CSV source is not
    // read by validation), an interface without normalization.
    static TrainedWeights byHand(const std::string& layers, const Shape& input)
    {
        QString shape;
        for (int64_t d : input)
            shape += (shape.isEmpty() ? "" : ",") + QString::number(d);
        const ParseResult parsed = parseExperiment(R"({"data": {"source": "csv", "path": "unused.csv"}, "model": {"input": [)"
                                                   + shape.toStdString() + R"(], "layers": )" + layers + "}}");
        if (!parsed.ok())
            qFatal("%s", parsed.errorText().c_str());
        TrainedWeights weights;
        weights.runId = "by-hand";
        weights.spec = parsed.spec;
        weights.interface.sampleShape = input;
        weights.interface.images = input.size() == 3;
        weights.interface.outputs = 3;
        return weights;
    }

    // Returns the largest |logit difference| (0 after a failed check).
    double compare(const QString& prefix, const ModelInterface& m, const std::vector<float>& logits,
                   const std::vector<float>& probabilities)
    {
        double worst = 0;
        compareInto(prefix, m, logits, probabilities, worst);
        return worst;
    }

    void compareInto(const QString& prefix, const ModelInterface& m, const std::vector<float>& logits,
                     const std::vector<float>& probabilities, double& worst)
    {
        const int64_t k = m.outputs;
        const std::vector<float> got = readFloats(prefix + ".logits.f32");
        QCOMPARE(got.size(), size_t(2 * kSamples * k));
        double normalizedTwice = 0;
        for (size_t i = 0; i < logits.size(); ++i) {
            const double d = std::abs(double(got[i]) - logits[i]);
            worst = std::max(worst, d);
            QVERIFY2(d <= kTolerance * std::max(1.0, std::abs(double(logits[i]))),
                     qPrintable(QString("%1: logit %2 is %3, nnlab says %4").arg(prefix).arg(i).arg(got[i]).arg(logits[i])));
            normalizedTwice = std::max(normalizedTwice, std::abs(double(got[i + logits.size()]) - logits[i]));
        }
        QVERIFY2(normalizedTwice > 1e-2, qPrintable(prefix + ": pre-normalized inputs gave nnlab's answers; the graph "
                                                             "does not normalize"));
        if (!m.classification()) {
            QVERIFY(!QFileInfo::exists(prefix + ".probabilities.f32"));
            return;
        }
        const std::vector<float> p = readFloats(prefix + ".probabilities.f32");
        QCOMPARE(p.size(), size_t(2 * kSamples * k));
        for (size_t i = 0; i < probabilities.size(); ++i)
            QVERIFY2(std::abs(double(p[i]) - probabilities[i]) <= kTolerance,
                     qPrintable(QString("%1: probability %2 is %3, nnlab says %4").arg(prefix).arg(i).arg(p[i]).arg(probabilities[i])));
    }

    QTemporaryDir m_dir;
    std::string m_db;
    QString m_python;         // with onnx: the checker
    QString m_opencvPython;   // with cv2: OpenCV's DNN runtime; empty when absent
    QString m_node;           // empty when ONNX Runtime for Node is not installed
    QString m_ortDir;
    std::vector<Summary> m_summaries;
};

QTEST_APPLESS_MAIN(TestOnnxExport)
#include "test_onnx_export.moc"
