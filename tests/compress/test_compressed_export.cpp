// Compression results through the generic tools: a pruned run that was not fine-tuned has no
// checkpoint, only its model file (sparse for unstructured pruning, a smaller dense model for
// structured), and evaluate, predict, serve and export load it from there; an int8 result has
// no float weights, and what needs them is refused naming the run, its method and what works;
// damaged sparse files are refused naming the file and the tensor.
// One tiny CNN (1,000 Fashion-MNIST images, one epoch) is trained, pruned two ways and
// quantized once; the rest is file reading and the CLI.
#include "../engine/train_test_util.h"
#include "sparse_weights.h"

#include "nnlab/compress.h"
#include "nnlab/data.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

using namespace nnlab;

namespace {

// Two convolutions (structured pruning removes filters of the first and the inputs of the
// second, BatchNorm included) and two linear layers.
const char* kTinyCnn = R"({"name": "tiny-prune", "seed": 11,
  "data": {"source": "fashion-mnist", "train_limit": 1000, "validation_fraction": 0.2},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "flatten"}, {"type": "linear", "out_features": 32}, {"type": "relu"},
    {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003},
  "training": {"epochs": 1, "batch_size": 50, "threads": 1}})";

constexpr double kTolerance = 1e-4;   // ONNX Runtime against nnlab: |a - b| <= kTolerance * max(1, |b|)
constexpr int64_t kSamples = 16;

struct Cli {
    int status = -1;
    QString out, err;
};

Cli cli(const QStringList& args)
{
    QProcess p;
    p.start(NNLAB_CLI, args);
    p.waitForFinished(300000);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

std::vector<float> readFloats(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QByteArray bytes = f.readAll();
    std::vector<float> out(size_t(bytes.size()) / sizeof(float));
    std::memcpy(out.data(), bytes.constData(), out.size() * sizeof(float));
    return out;
}

// The test accuracy `nnlab-cli evaluate` printed ("  test  <samples> <loss> <accuracy>").
double printedTestAccuracy(const QString& out)
{
    for (const QString& line : out.split('\n')) {
        const QStringList f = line.simplified().split(' ');
        if (f.size() == 4 && f[0] == "test")
            return f[3].toDouble();
    }
    return -1.0;
}

} // namespace

class TestCompressedExport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db").toStdString();
        const RunSessionResult parent = test::recordRun(m_db, parseExperiment(kTinyCnn));
        m_parent = parent.runId;
        QVERIFY(!m_parent.empty());
    }

    // Unstructured pruning without fine-tuning: no checkpoint, a sparse model file; evaluate
    // (engine and CLI) gives the accuracy compressRun measured, and the file reads as any other.
    void unstructuredRunEvaluatesAsMeasured()
    {
        const CompressResult result = compress(CompressMethod::PruneUnstructured);
        QVERIFY2(QString::fromStdString(result.modelPath).endsWith(".sparse.safetensors"), result.modelPath.c_str());
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        QCOMPARE(int(runModelFile(*store.value, result.runId).kind), int(ModelFileKind::Sparse));

        const TrainedWeights weights = loadTrainedWeights(*store.value, result.runId);
        QCOMPARE(weights.modelFilePath, result.modelPath);
        QVERIFY(weights.checkpointPath.empty());
        int64_t zeros = 0, total = 0;
        for (const NamedTensor& t : weights.tensors)
            if (t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".weight") == 0 && t.shape.size() > 1) {
                total += t.elementCount();
                zeros += std::count(t.values.begin(), t.values.end(), 0.0f);
            }
        QVERIFY2(double(zeros) / double(total) > 0.45, "the loaded weights are not the pruned ones");

        const std::vector<WeightsEvaluation> evaluated = evaluateWeights(weights.spec, weights.tensors);
        double testAccuracy = -1;
        int64_t testSamples = 0;
        for (const WeightsEvaluation& e : evaluated)
            if (e.split == "test") {
                testAccuracy = e.accuracy;
                testSamples = e.samples;
            }
        QVERIFY(testSamples > 0);
        qInfo("pruned 50%% unstructured: measured %.6f, evaluated %.6f on %lld test images", result.measurement.testAccuracy,
              testAccuracy, static_cast<long long>(testSamples));
        QVERIFY2(std::abs(testAccuracy - result.measurement.testAccuracy) < 0.5 / double(testSamples),
                 qPrintable(QString("evaluate %1, compressRun measured %2").arg(testAccuracy).arg(result.measurement.testAccuracy)));

        const Cli run = cli({"evaluate", QString::fromStdString(result.runId), "--db", db()});
        QVERIFY2(run.status == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains("compressed model"), qPrintable(run.out));
        QVERIFY(std::abs(printedTestAccuracy(run.out) - result.measurement.testAccuracy) < 6e-5);
        // The sparse file itself, as `evaluate FILE` and `predict FILE` take it.
        const Cli file = cli({"evaluate", QString::fromStdString(result.modelPath)});
        QVERIFY2(file.status == 0, qPrintable(file.err));
        QCOMPARE(printedTestAccuracy(file.out), printedTestAccuracy(run.out));
        const TrainedWeights fromFile = weightsFromSafetensors(result.modelPath);
        QCOMPARE(fromFile.tensors.size(), weights.tensors.size());

        // Every export format of the run.
        for (const QString& format : QStringList{"safetensors", "onnx", "pytorch"}) {
            const QString out = m_dir.filePath("unstructured." + QString(format == "pytorch" ? "py" : format));
            const Cli e = cli({"export", QString::fromStdString(result.runId), "--db", db(), "--format", format, "--out", out});
            QVERIFY2(e.status == 0, qPrintable(format + ": " + e.err));
            QVERIFY(QFileInfo::exists(out));
        }
        // The dense export holds the same values as the sparse file.
        const SafetensorsContents dense = readSafetensors(m_dir.filePath("unstructured.safetensors").toStdString());
        for (const NamedTensor& t : weights.tensors) {
            const auto it = std::find_if(dense.tensors.begin(), dense.tensors.end(), [&](const NamedTensor& d) { return d.name == t.name; });
            QVERIFY2(it != dense.tensors.end() && it->values == t.values, t.name.c_str());
        }
    }

    // Structured pruning without fine-tuning: the run's own smaller experiment, exported to
    // ONNX, runs in ONNX Runtime like nnlab on raw pixels.
    void structuredRunExportsToOnnx()
    {
        const CompressResult result = compress(CompressMethod::PruneStructured);
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        const TrainedWeights weights = loadTrainedWeights(*store.value, result.runId);
        QCOMPARE(weights.modelFilePath, result.modelPath);
        QCOMPARE(int(runModelFile(*store.value, result.runId).kind), int(ModelFileKind::Float));
        const int64_t kept = weights.spec.model.layers[0].intOption("out_channels");
        QVERIFY2(kept > 0 && kept < 8, qPrintable(QString("the first conv kept %1 of 8 filters").arg(kept)));

        const QString onnxPath = m_dir.filePath("structured.onnx");
        const Cli e = cli({"export", QString::fromStdString(result.runId), "--db", db(), "--format", "onnx", "--out", onnxPath});
        QVERIFY2(e.status == 0, qPrintable(e.err));
        for (const QString& format : QStringList{"safetensors", "pytorch"}) {
            const QString out = m_dir.filePath("structured." + QString(format == "pytorch" ? "py" : format));
            const Cli x = cli({"export", QString::fromStdString(result.runId), "--db", db(), "--format", format, "--out", out});
            QVERIFY2(x.status == 0, qPrintable(format + ": " + x.err));
        }
        const Cli evaluated = cli({"evaluate", QString::fromStdString(result.runId), "--db", db()});
        QVERIFY2(evaluated.status == 0, qPrintable(evaluated.err));
        QVERIFY(std::abs(printedTestAccuracy(evaluated.out) - result.measurement.testAccuracy) < 6e-5);

        const QString node = QStandardPaths::findExecutable("node");
        const QString ortDir = NNLAB_BINARY_DIR "/onnxruntime-node";
        if (node.isEmpty() || !QFileInfo::exists(ortDir + "/node_modules/onnxruntime-node/package.json"))
            QSKIP("ONNX Runtime is not installed (run tests/export/install_onnxruntime.sh)");
        DataSpec rawData = weights.spec.data;
        rawData.normalize = "none";
        const Dataset raw = loadData(rawData, true, weights.spec.seed).validation;
        QVERIFY(raw.count() >= kSamples);
        const int64_t size = weights.interface.sampleSize();
        const std::vector<float> input(raw.features.begin(), raw.features.begin() + kSamples * size);
        QVERIFY(*std::max_element(input.begin(), input.end()) > 200.0f);   // raw pixels
        const QString inputPath = m_dir.filePath("structured.input.f32");
        QFile f(inputPath);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(reinterpret_cast<const char*>(input.data()), qint64(input.size() * sizeof(float)));
        f.close();
        const Predictor predictor(weights, 1);
        const std::vector<float> logits = predictor.predict(input.data(), kSamples, PredictOutput::Logits);

        QProcess p;
        const QString prefix = m_dir.filePath("structured.ort");
        p.start(node, {NNLAB_SOURCE_DIR "/tests/export/run_onnx.mjs", ortDir, onnxPath, inputPath, "1,28,28", prefix});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const std::vector<float> ort = readFloats(prefix + ".logits.f32");
        QCOMPARE(ort.size(), logits.size());
        double worst = 0;
        for (size_t i = 0; i < ort.size(); ++i)
            worst = std::max(worst, std::abs(double(ort[i]) - logits[i]) / std::max(1.0, std::abs(double(logits[i]))));
        qInfo("structured-pruned run (%lld of 8 filters kept) in ONNX Runtime: max |logit difference| %.3g",
              static_cast<long long>(kept), worst);
        QVERIFY2(worst <= kTolerance, qPrintable(QString("ONNX Runtime differs from nnlab by %1").arg(worst)));
    }

    // Int8: no float weights. ONNX/PyTorch export, evaluate, predict and serve say so (exit 2)
    // naming the run, its method and what works; safetensors export copies the int8 file.
    void int8RunRefusesFloatUses()
    {
        const CompressResult result = compress(CompressMethod::QuantizeStatic);
        const QString id = QString::fromStdString(result.runId);
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        const RunModelFile file = runModelFile(*store.value, result.runId);
        QCOMPARE(int(file.kind), int(ModelFileKind::Int8));
        QCOMPARE(file.method, std::string("int8-static"));
        try {
            loadTrainedWeights(*store.value, result.runId);
            QFAIL("loaded float weights of an int8 run");
        } catch (const std::runtime_error& e) {
            const QString message = e.what();
            QVERIFY2(message.contains(id) && message.contains("int8-static") && message.contains("--format safetensors"), e.what());
        }

        const QList<QStringList> refused = {
            {"export", id, "--db", db(), "--format", "onnx", "--out", m_dir.filePath("int8.onnx")},
            {"export", id, "--db", db(), "--format", "pytorch", "--out", m_dir.filePath("int8.py")},
            {"evaluate", id, "--db", db()},
            {"predict", id, m_dir.filePath("no-image.png"), "--db", db()},
            {"serve", id, "--db", db()},
        };
        for (const QStringList& args : refused) {
            const Cli r = cli(args);
            QVERIFY2(r.status == 2, qPrintable(args.join(' ') + " -> " + QString::number(r.status) + ": " + r.err));
            QVERIFY2(r.err.contains(id) && r.err.contains("int8-static") && r.err.contains("--format safetensors"),
                     qPrintable(args.join(' ') + ": " + r.err));
        }
        QVERIFY(!QFileInfo::exists(m_dir.filePath("int8.onnx")));
        QVERIFY(!QFileInfo::exists(m_dir.filePath("int8.py")));
        const Cli onnx = cli({"export", id, "--db", db(), "--format", "onnx"});
        qInfo("export --format onnx of an int8 run: %s", qPrintable(onnx.err.trimmed()));

        const QString copy = m_dir.filePath("int8.safetensors");
        const Cli st = cli({"export", id, "--db", db(), "--format", "safetensors", "--out", copy});
        QVERIFY2(st.status == 0, qPrintable(st.err));
        QFile a(copy), b(QString::fromStdString(result.modelPath));
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QVERIFY(a.readAll() == b.readAll());
        // The int8 file given directly is refused too, with what works.
        try {
            weightsFromSafetensors(copy.toStdString());
            QFAIL("read an int8 file as float weights");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains(copy) && QString(e.what()).contains("nnlab.int8/1"), e.what());
        }
    }

    // Damaged sparse files: every reader refuses them, naming the file and the tensor.
    void damagedSparseFilesAreRefused_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("message");
        QTest::newRow("extra mask bit") << "bit" << "its mask marks";
        QTest::newRow("values missing") << "values" << "lacks its ::values part";
        QTest::newRow("mask missing") << "mask" << "lacks its ::mask part";
        QTest::newRow("shape grown") << "shape" << "which need a mask of";
        QTest::newRow("values as I32") << "dtype" << "its values must be a 1-D F32 tensor";
        QTest::newRow("unlisted parts") << "unlisted" << "the metadata's nnlab.sparse list does not name";
        QTest::newRow("also dense") << "dense" << "also stored dense under the same name";
    }

    void damagedSparseFilesAreRefused()
    {
        QFETCH(QString, damage);
        QFETCH(QString, message);
        if (m_sparse.runId.empty())
            m_sparse = compress(CompressMethod::PruneUnstructured);
        SafetensorsRawContents raw = readSafetensorsRaw(m_sparse.modelPath);
        nlohmann::json list = nlohmann::json::parse(raw.metadata.at(detail::kSparseMetadataKey));
        QVERIFY(!list.empty());
        const std::string name = list.begin().key();
        auto part = [&](const std::string& suffix) {
            return std::find_if(raw.tensors.begin(), raw.tensors.end(), [&](const RawTensor& t) { return t.name == name + suffix; });
        };
        QVERIFY(part("::mask") != raw.tensors.end() && part("::values") != raw.tensors.end());
        if (damage == "bit") {
            std::vector<uint8_t>& mask = part("::mask")->bytes;
            const auto clear = std::find_if(mask.begin(), mask.end() - 1, [](uint8_t b) { return b != 0xff; });
            QVERIFY(clear != mask.end() - 1);
            for (int bit = 0; bit < 8; ++bit)
                if (!(*clear & (1u << bit))) {
                    *clear |= uint8_t(1u << bit);
                    break;
                }
        } else if (damage == "values") {
            raw.tensors.erase(part("::values"));
        } else if (damage == "mask") {
            raw.tensors.erase(part("::mask"));
        } else if (damage == "shape") {
            list[name][0] = list[name][0].get<int64_t>() - 1;   // fewer elements than the mask's bytes hold
        } else if (damage == "dtype") {
            part("::values")->dtype = TensorDtype::I32;
        } else if (damage == "unlisted") {
            list.erase(name);
        } else if (damage == "dense") {
            const RawTensor& m = *part("::mask");
            raw.tensors.push_back({name, TensorDtype::F32, {1}, std::vector<uint8_t>(4, 0)});
            QVERIFY(m.bytes.size() > 0);
        }
        raw.metadata[detail::kSparseMetadataKey] = list.dump();
        const std::string path = m_dir.filePath("damaged-" + damage + ".sparse.safetensors").toStdString();
        writeSafetensorsRaw(path, raw.tensors, raw.metadata);

        const std::string tensor = damage == "unlisted" ? "'" + name + "::" : "'" + name + "'";
        try {
            readSafetensors(path);
            QFAIL("a damaged sparse file was read");
        } catch (const SafetensorsError& e) {
            const QString what = e.what();
            QVERIFY2(what.startsWith(QString::fromStdString(path) + ": ") && what.contains(QString::fromStdString(tensor))
                         && what.contains(message), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, weightsFromSafetensors(path));
        const Cli file = cli({"evaluate", QString::fromStdString(path)});
        QVERIFY2(file.status != 0 && file.err.contains(QString::fromStdString(path)) && file.err.contains(message), qPrintable(file.err));

        // The same damage in the run's own model file: `evaluate RUN` names the file and tensor.
        const std::string original = m_sparse.modelPath + ".orig";
        std::filesystem::copy_file(m_sparse.modelPath, original, std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(path, m_sparse.modelPath, std::filesystem::copy_options::overwrite_existing);
        const Cli run = cli({"evaluate", QString::fromStdString(m_sparse.runId), "--db", db()});
        std::filesystem::rename(original, m_sparse.modelPath);
        QCOMPARE(run.status, 2);
        QVERIFY2(run.err.contains(QString::fromStdString(m_sparse.runId)) && run.err.contains(QString::fromStdString(m_sparse.modelPath))
                     && run.err.contains(QString::fromStdString(tensor)),
                 qPrintable(run.err));
    }

private:
    QString db() const { return QString::fromStdString(m_db); }

    CompressResult compress(CompressMethod method)
    {
        CompressRequest request;
        request.method = method;
        request.databasePath = m_db;
        request.latencyCalls = 10;
        request.prune.sparsity = 0.5;
        request.prune.structured = method == CompressMethod::PruneStructured;
        request.prune.finetuneEpochs = 0;
        request.quantize.calibrationSamples = 200;
        TrainControl control;
        const CompressResult result = compressRun(m_parent, request, control);
        if (result.runId.empty() || result.modelPath.empty())
            qFatal("compressRun recorded no run or no model file");
        if (std::filesystem::exists(checkpointPathFor(m_db, result.runId, CheckpointKind::Latest)))
            qFatal("a result without fine-tuning wrote a checkpoint: the fallback is not what is tested");
        return result;
    }

    QTemporaryDir m_dir;
    std::string m_db;
    std::string m_parent;
    CompressResult m_sparse;   // the unstructured result the damage cases start from
};

QTEST_APPLESS_MAIN(TestCompressedExport)
#include "test_compressed_export.moc"
