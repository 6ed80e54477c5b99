// `export --format pytorch`: small models trained for real, exported as a Python module and
// a safetensors file, then run by Debian's python3-torch (tests/export/run_pytorch_export.py)
// on raw inputs; its logits must equal nnlab's Predictor's. Without python3-torch the test
// fails and says what to install.
#include "../engine/train_test_util.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/model_export.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace nnlab;

namespace {

// An MLP with every flat layer type, and names that Python's add_module would refuse
// ("forward"), that are no identifiers ("fc in") or not ASCII ("héad").
const char* kMlp = R"({"name": "mlp-zoo", "seed": 1,
  "data": {"source": "spiral", "samples": 600, "classes": 3, "validation_fraction": 0.2, "normalize": "standardize"},
  "model": {"input": [2], "layers": [
    {"type": "linear", "out_features": 32, "name": "fc in"},
    {"type": "batchnorm1d", "name": "forward"},
    {"type": "gelu"},
    {"type": "dropout", "p": 0.1},
    {"type": "linear", "out_features": 24, "bias": false},
    {"type": "layernorm", "eps": 1e-6, "name": "norm"},
    {"type": "tanh"},
    {"type": "residual", "name": "block", "layers": [
      {"type": "linear", "out_features": 16}, {"type": "leaky_relu", "negative_slope": 0.2}]},
    {"type": "sigmoid"},
    {"type": "batchnorm1d", "affine": false, "momentum": 0.2},
    {"type": "linear", "name": "h\u00e9ad"}]},
  "optimizer": {"type": "adam", "lr": 0.01},
  "training": {"epochs": 2, "batch_size": 32, "threads": 1}})";

// Pooling in its variants, a strided residual block with a 1x1 projection, a dilated grouped
// convolution, BatchNorm without affine parameters.
const char* kPooling = R"({"name": "pool-zoo", "seed": 2,
  "data": {"source": "fashion-mnist", "train_limit": 600, "validation_fraction": 0.2},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "name": "stem"},
    {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "relu"},
    {"type": "residual", "layers": [
      {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1},
      {"type": "batchnorm2d", "affine": false}, {"type": "relu"}]},
    {"type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 2, "dilation": 2, "groups": 4, "bias": false},
    {"type": "adaptive_avgpool2d", "output_size": 3},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003},
  "training": {"epochs": 1, "batch_size": 50, "threads": 1}})";

// The shipped default experiment, shortened: one epoch on 1000 images.
std::string fashionCnn()
{
    std::ifstream in(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(text.str());
    j["data"]["train_limit"] = 1000;
    j["training"]["epochs"] = 1;
    j["training"]["threads"] = 1;
    return j.dump();
}

std::string readText(const QString& path)
{
    QFile file(path);
    file.open(QIODevice::ReadOnly);
    return file.readAll().toStdString();
}

void writeFloats(const QString& path, const float* values, size_t count)
{
    std::ofstream(path.toStdString(), std::ios::binary)
        .write(reinterpret_cast<const char*>(values), std::streamsize(count * sizeof(float)));
}

std::vector<float> readFloats(const QString& path)
{
    const std::string bytes = readText(path);
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
}

// A python3 that imports torch: $NNLAB_PYTHON, Debian's /usr/bin/python3, or the PATH's
// python3 (which may be another interpreter without Debian's packages). Empty when none.
QString pythonWithTorch()
{
    QStringList candidates{"/usr/bin/python3", "python3"};
    if (qEnvironmentVariableIsSet("NNLAB_PYTHON"))
        candidates.prepend(qEnvironmentVariable("NNLAB_PYTHON"));
    for (const QString& python : candidates) {
        QProcess probe;
        probe.start(python, {"-c", "import torch"});
        if (probe.waitForFinished(60000) && probe.exitStatus() == QProcess::NormalExit && probe.exitCode() == 0)
            return python;
    }
    return {};
}

} // namespace

class TestPytorchExport : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (qEnvironmentVariableIsSet("NNLAB_KEEP_EXPORTS")) {   // to read the generated modules
            m_dir.setAutoRemove(false);
            qInfo("exports kept in %s", qPrintable(m_dir.path()));
        }
        m_python = pythonWithTorch();
        QVERIFY2(!m_python.isEmpty(), "no python3 that can import torch: install python3-torch "
                                      "(apt-get install python3-torch), or set NNLAB_PYTHON");
        m_db = m_dir.filePath("runs.db").toStdString();
    }

    void defaultExperimentRunsInPytorch()
    {
        std::string text;
        verify("fashion-cnn", fashionCnn(), true, text);
        if (QTest::currentTestFailed())
            return;
        // Plain, readable code: the layers as torch.nn modules with the spec's options.
        QVERIFY(contains(text, "class Model(nn.Sequential):"));
        QVERIFY(contains(text, "(\"0\", nn.Conv2d(1, 16, kernel_size=3, padding=1)),"));
        QVERIFY(contains(text, "(\"2\", nn.MaxPool2d(kernel_size=2)),"));
        QVERIFY(contains(text, "(\"1\", nn.BatchNorm2d(16)),"));
        QVERIFY(contains(text, "(\"6\", nn.Linear(784, 10)),"));
        QVERIFY(contains(text, "class Residual(nn.Module):"));
        QVERIFY(contains(text, "CLASS_NAMES = [\"T-shirt/top\", "));
        QVERIFY(contains(text, "INPUT_SHAPE = (1, 28, 28)"));
        QVERIFY(contains(text, "WEIGHTS_FILE = \"fashion-cnn.safetensors\""));
        QVERIFY(contains(text, ".reshape(1, -1, 1, 1), persistent=False)"));
        QVERIFY(!contains(text, "named_layers"));   // every name is plain: no helper
    }

    void flatLayersAndOddNamesRunInPytorch()
    {
        std::string text;
        verify("mlp-zoo", kMlp, false, text);
        if (QTest::currentTestFailed())
            return;
        QVERIFY(contains(text, "named_layers(self, ["));                    // "forward" refused by add_module
        QVERIFY(contains(text, "(\"forward\", nn.BatchNorm1d(32)),"));
        QVERIFY(contains(text, "(\"fc in\", nn.Linear(2, 32)),"));
        QVERIFY(contains(text, "(\"h\\u00e9ad\", nn.Linear(16, 3)),"));      // ASCII source, the name intact
        QVERIFY(contains(text, "nn.Linear(32, 24, bias=False)"));
        QVERIFY(contains(text, "nn.LayerNorm([24], eps=1e-06)"));
        QVERIFY(contains(text, "nn.Dropout(p=0.1)"));
        QVERIFY(contains(text, "nn.LeakyReLU(negative_slope=0.2)"));
        QVERIFY(contains(text, "nn.BatchNorm1d(16, momentum=0.2, affine=False)"));
        QVERIFY(contains(text, "shortcut=nn.Linear(24, 16),"));
        QVERIFY(contains(text, ".reshape(1, -1), persistent=False)"));   // per-feature standardization
    }

    void poolingAndProjectionsRunInPytorch()
    {
        std::string text;
        verify("pool-zoo", kPooling, false, text);
        if (QTest::currentTestFailed())
            return;
        QVERIFY(contains(text, "(\"stem\", nn.Conv2d(1, 8, kernel_size=3, padding=1)),"));
        QVERIFY(contains(text, "nn.MaxPool2d(kernel_size=3, stride=2, padding=1)"));
        QVERIFY(contains(text, "nn.AvgPool2d(kernel_size=3, stride=1, padding=1)"));
        QVERIFY(contains(text, "nn.BatchNorm2d(16, affine=False)"));
        QVERIFY(contains(text, "shortcut=nn.Conv2d(8, 16, kernel_size=1, stride=2),"));
        QVERIFY(contains(text, "nn.Conv2d(16, 16, kernel_size=3, padding=2, dilation=2, groups=4, bias=False)"));
        QVERIFY(contains(text, "nn.AdaptiveAvgPool2d(3)"));
    }

    void aModelWithoutShapesWritesNothing()
    {
        TrainedWeights weights;
        weights.spec = parseExperiment(kPooling).spec;
        weights.spec.model.input.clear();   // as if never completed from its data
        const QString module = m_dir.filePath("incomplete.py");
        try {
            exportPytorch(weights, module.toStdString(), m_dir.filePath("incomplete.safetensors").toStdString());
            QFAIL("exported a model whose shapes are unknown");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).startsWith(module + ": ") && QString(e.what()).contains("shapes"), e.what());
        }
        QVERIFY(!QFile::exists(module));
        QVERIFY(!QFile::exists(m_dir.filePath("incomplete.safetensors")));
    }

private:
    static bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

    // Trains `json`, exports it, runs the export in Python on raw validation samples and
    // compares its logits with nnlab's. `text`: the module's text.
    void verify(const std::string& name, const std::string& json, bool throughExportModel, std::string& text)
    {
        const ParseResult parsed = parseExperiment(json);
        QVERIFY2(parsed.ok(), parsed.errorText().c_str());
        const RunSessionResult run = test::recordRun(m_db, parsed);
        QVERIFY2(run.result.status == TrainStatus::Finished, run.result.message.c_str());
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        const TrainedWeights weights = loadTrainedWeights(*store.value, run.runId);

        const QString module = m_dir.filePath(QString::fromStdString(name + ".py"));
        const QString weightsFile = m_dir.filePath(QString::fromStdString(name + ".safetensors"));
        if (throughExportModel) {
            const auto files = exportModel(weights, ExportFormat::Pytorch, module.toStdString());
            QVERIFY2(files == (std::vector<std::string>{module.toStdString(), weightsFile.toStdString()}),
                     "exportModel must write FILE.py and FILE.safetensors");
        } else {
            exportPytorch(weights, module.toStdString(), weightsFile.toStdString());
        }

        DataSpec data = weights.spec.data;
        data.normalize = "none";   // raw units, as a user feeds them
        const Dataset raw = loadData(data, true, weights.spec.seed).validation;
        const int64_t count = std::min<int64_t>(64, raw.count());
        const QString inputs = m_dir.filePath(QString::fromStdString(name + ".inputs"));
        const QString outputs = m_dir.filePath(QString::fromStdString(name + ".logits"));
        writeFloats(inputs, raw.features.data(), size_t(count * raw.sampleSize()));
        const std::vector<float> expected = Predictor(weights, 1).predict(raw.features.data(), count, PredictOutput::Logits);

        QProcess python;
        python.setProcessChannelMode(QProcess::MergedChannels);
        python.start(m_python, {NNLAB_SOURCE_DIR "/tests/export/run_pytorch_export.py", module, weightsFile, inputs, outputs});
        const bool finished = python.waitForFinished(120000);
        const QString log = QString::fromUtf8(python.readAll());
        QVERIFY2(finished && python.exitStatus() == QProcess::NormalExit && python.exitCode() == 0,
                 qPrintable(QString::fromStdString(name) + ": the exported module failed in python"
                            + (python.exitCode() == 3 ? " (install python3-torch)" : "") + ":\n" + log));

        const std::vector<float> got = readFloats(outputs);
        QCOMPARE(got.size(), expected.size());
        double worst = 0;
        for (size_t i = 0; i < got.size(); ++i)
            worst = std::max(worst, std::abs(double(got[i]) - double(expected[i])));
        qInfo("%s: %lld samples, %zu logits, max |pytorch - nnlab| = %.3g", name.c_str(), static_cast<long long>(count),
              got.size(), worst);
        QVERIFY2(worst <= 1e-4, qPrintable(QString("%1: logits differ by up to %2 (tolerance 1e-4)")
                                               .arg(QString::fromStdString(name)).arg(worst)));
        text = readText(module);
    }

    QTemporaryDir m_dir;
    QString m_python;
    std::string m_db;
};

QTEST_APPLESS_MAIN(TestPytorchExport)
#include "test_pytorch_export.moc"
