// The recipe pre-flight: each check on its own (the layer before the loss, label balance,
// the input's range) and runPreflight end to end on small generated and CSV data, where a
// broken set-up (a final ReLU, a learning rate of 10, dead ReLUs) must fail the right check.
#include "nnlab/preflight.h"
#include "train_test_util.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>

using namespace nnlab;
using namespace nnlab::test;

Q_DECLARE_METATYPE(nnlab::CheckStatus)

namespace {

// The spiral example on fewer samples (the pre-flight's speed does not depend on the count).
ExperimentSpec smallSpiral(const std::vector<std::string>& overrides = {})
{
    std::vector<std::string> all{"data.samples=600"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    const ParseResult r = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json", all);
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

ExperimentSpec withLayers(const std::string& layers, const std::string& loss = "cross_entropy")
{
    // mse needs a regression source: a CSV file (the tests that load data set its path).
    const std::string source = loss == "mse" ? R"("source": "csv", "path": "targets.csv")" : R"("source": "spiral", "samples": 300)";
    const std::string json = R"({"format": "nnlab.experiment/1", "data": {)" + source + R"(},
        "model": {"input": [2], "layers": )" + layers + R"(}, "loss": ")" + loss + R"("})";
    const ParseResult r = parseExperiment(json);
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

PreflightReport preflight(const ExperimentSpec& spec, const PreflightOptions& options = {})
{
    const DataBundle data = loadData(spec.data, spec.isClassification(), spec.seed);
    TrainControl control;
    return runPreflight(prepared(spec), data, {}, control, options);
}

DataBundle labelled(const std::vector<int64_t>& labels, int64_t classes)
{
    DataBundle data;
    data.numClasses = classes;
    for (int64_t c = 0; c < classes; ++c)
        data.classNames.push_back("class" + std::to_string(c));
    data.train.sampleShape = {1};
    data.train.labels = labels;
    data.train.features.assign(labels.size(), 0.0f);
    return data;
}

// Writes a CSV of two features and a label to dir/name and returns its path.
std::string writeCsv(const QTemporaryDir& dir, const char* name, double offset, double spread)
{
    const std::string path = dir.filePath(name).toStdString();
    std::ofstream out(path);
    out << "a,b,label\n";
    for (int i = 0; i < 200; ++i) {
        const double a = offset + spread * ((i * 37) % 100) / 100.0, b = offset + spread * ((i * 53) % 100) / 100.0;
        out << a << ',' << b << ',' << (a > b ? 1 : 0) << '\n';
    }
    return path;
}

std::string allText(const PreflightReport& report)
{
    std::string text;
    for (const auto& c : report.checks)
        text += std::string(toString(c.status)) + " " + c.title + ": " + c.explanation + "\n";
    return text + report.error;
}

} // namespace

class TestPreflight : public QObject {
    Q_OBJECT
private slots:
    void outputLayer_data()
    {
        QTest::addColumn<QString>("layers");
        QTest::addColumn<QString>("loss");
        QTest::addColumn<nnlab::CheckStatus>("status");
        QTest::addColumn<QString>("mentions");
        const QString linear = R"([{"type": "linear", "out_features": 16}, {"type": "relu"}, {"type": "linear"})";
        QTest::newRow("linear") << linear + "]" << "cross_entropy" << CheckStatus::Pass << "linear";
        QTest::newRow("final relu") << linear + R"(, {"type": "relu"}])" << "cross_entropy" << CheckStatus::Fail
                                    << "model.layers[3] (relu)";
        QTest::newRow("relu before dropout") << linear + R"(, {"type": "relu"}, {"type": "dropout"}])" << "cross_entropy"
                                             << CheckStatus::Fail << "model.layers[3] (relu)";
        QTest::newRow("final sigmoid") << linear + R"(, {"type": "sigmoid"}])" << "cross_entropy" << CheckStatus::Fail
                                       << "sigmoid";
        QTest::newRow("final tanh") << linear + R"(, {"type": "tanh"}])" << "cross_entropy" << CheckStatus::Warn << "tanh";
        QTest::newRow("mse relu") << linear + R"(, {"type": "relu"}])" << "mse" << CheckStatus::Pass << "mse";
    }
    void outputLayer()
    {
        QFETCH(QString, layers);
        QFETCH(QString, loss);
        QFETCH(nnlab::CheckStatus, status);
        QFETCH(QString, mentions);
        const CheckResult c = checkOutputLayer(withLayers(layers.toStdString(), loss.toStdString()));
        QCOMPARE(c.id, CheckId::OutputLayer);
        QCOMPARE(c.status, status);
        QVERIFY2(QString::fromStdString(c.explanation).contains(mentions), c.explanation.c_str());
    }

    void labelBalance_data()
    {
        QTest::addColumn<QVector<qint64>>("perClass");
        QTest::addColumn<nnlab::CheckStatus>("status");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("balanced") << QVector<qint64>{50, 60, 55} << CheckStatus::Pass << "3 classes, 50 to 60";
        QTest::newRow("rare class") << QVector<qint64>{50, 3, 55} << CheckStatus::Warn << "'class1': 3";
        QTest::newRow("missing class") << QVector<qint64>{50, 0, 55} << CheckStatus::Warn << "fewer than 10";
        QTest::newRow("imbalanced") << QVector<qint64>{500, 20, 20} << CheckStatus::Warn << "25x";
        QTest::newRow("one class") << QVector<qint64>{50, 0, 0} << CheckStatus::Fail << "only one class";
    }
    void labelBalance()
    {
        QFETCH(QVector<qint64>, perClass);
        QFETCH(nnlab::CheckStatus, status);
        QFETCH(QString, mentions);
        std::vector<int64_t> labels;
        for (int c = 0; c < perClass.size(); ++c)
            labels.insert(labels.end(), static_cast<size_t>(perClass[c]), c);
        std::vector<int64_t> counts;
        const CheckResult r = checkLabelBalance(labelled(labels, perClass.size()), 10, &counts);
        QCOMPARE(r.status, status);
        QVERIFY2(QString::fromStdString(r.explanation).contains(mentions), r.explanation.c_str());
        QCOMPARE(counts, std::vector<int64_t>(perClass.begin(), perClass.end()));
    }

    void labelBalanceSkipsRegression()
    {
        DataBundle data;
        data.train.sampleShape = {1};
        data.train.features = {1.0f, 2.0f};
        data.train.targets = {0.5f, 0.7f};
        data.train.targetDim = 1;
        QCOMPARE(checkLabelBalance(data, 10).status, CheckStatus::Skipped);
    }

    void inputRange_data()
    {
        QTest::addColumn<float>("scale");
        QTest::addColumn<float>("offset");
        QTest::addColumn<nnlab::CheckStatus>("status");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("unit") << 1.0f << 0.0f << CheckStatus::Pass << "std at most";
        QTest::newRow("pixels 0..255") << 255.0f << 0.0f << CheckStatus::Fail << "data.normalize";
        QTest::newRow("a little wide") << 5.0f << 0.0f << CheckStatus::Warn << "far from unit scale";
        QTest::newRow("shifted") << 1.0f << 50.0f << CheckStatus::Warn << "far from unit scale";
        QTest::newRow("not a number") << NAN << 0.0f << CheckStatus::Fail << "NaN";
    }
    void inputRange()
    {
        QFETCH(float, scale);
        QFETCH(float, offset);
        QFETCH(nnlab::CheckStatus, status);
        QFETCH(QString, mentions);
        DataBundle data = labelled({0, 1, 0, 1, 0, 1}, 2);
        data.train.sampleShape = {2};
        data.train.features.clear();
        for (int i = 0; i < 6; ++i)
            for (float v : {float(i % 3) - 1.0f, float(i % 2) * 2.0f - 1.0f})
                data.train.features.push_back(v * scale + offset);
        std::vector<FeatureRange> ranges;
        const CheckResult r = checkInputRange(data, &ranges);
        QCOMPARE(r.status, status);
        QVERIFY2(QString::fromStdString(r.explanation).contains(mentions), r.explanation.c_str());
        QCOMPARE(ranges.size(), size_t(2));
    }

    void spiralPassesEveryCheck()
    {
        const PreflightReport report = preflight(smallSpiral());
        QVERIFY2(!report.failed(), allText(report).c_str());
        QCOMPARE(report.checks.size(), size_t(7));
        for (size_t i = 0; i < report.checks.size(); ++i)
            QCOMPARE(report.checks[i].id, static_cast<CheckId>(i));
        QCOMPARE(report.count(CheckStatus::Pass), 7);
        const CheckResult* initial = report.find(CheckId::InitialLoss);
        QVERIFY(std::abs(initial->numbers[0].value - std::log(3.0)) < 0.2);
        QCOMPARE(report.classCounts.size(), size_t(3));
        QVERIFY(!report.layers.empty());
        QCOMPARE(report.input.sampleCount(), int64_t(16));
        QCOMPARE(report.input.labels.size(), size_t(16));
        qInfo("spiral pre-flight: %.2f s", report.seconds);
    }

    void finalReluFails()
    {
        const ExperimentSpec spec = withLayers(
            R"([{"type": "linear", "out_features": 32}, {"type": "relu"}, {"type": "linear"}, {"type": "relu"}])");
        const PreflightReport report = preflight(spec);
        QVERIFY(report.failed());
        QCOMPARE(report.find(CheckId::OutputLayer)->status, CheckStatus::Fail);
    }

    void learningRateOfTenFailsNamingIt()
    {
        const PreflightReport report = preflight(smallSpiral({"optimizer.lr=10"}));
        QVERIFY(report.failed());
        bool named = false;
        for (const auto& c : report.checks)
            if (c.status == CheckStatus::Fail && (c.id == CheckId::OverfitBatch || c.id == CheckId::Baseline))
                named = named || c.explanation.find("optimizer.lr") != std::string::npos;
        QVERIFY2(named, allText(report).c_str());
    }

    // The input view shows the samples as they were before normalisation.
    void inputViewIsDenormalised()
    {
        const ExperimentSpec spec = smallSpiral({"data.normalize=standardize"});
        ExperimentSpec raw = spec;
        raw.data.normalize = "none";
        const DataBundle rawData = loadData(raw.data, true, raw.seed);
        const PreflightReport report = preflight(spec);
        const InputView& view = report.input;
        QVERIFY(view.normalized);
        QCOMPARE(view.sampleShape, std::vector<int64_t>{2});
        // Every shown sample is a row of the raw training data, with its label.
        for (int64_t i = 0; i < view.sampleCount(); ++i) {
            bool found = false;
            for (int64_t j = 0; j < rawData.train.count() && !found; ++j)
                found = std::abs(rawData.train.features[2 * j] - view.samples[2 * i]) < 1e-4
                        && std::abs(rawData.train.features[2 * j + 1] - view.samples[2 * i + 1]) < 1e-4
                        && rawData.train.labels[j] == view.labels[i];
            QVERIFY2(found, qPrintable(QString("sample %1 is not a raw training row").arg(i)));
        }
        for (const FeatureRange& r : view.features) {
            QVERIFY(std::abs(r.mean) < 1e-4);
            QVERIFY(std::abs(r.std - 1.0) < 1e-3);
        }
    }

    // All inputs negative and a ReLU first: every unit of it is dead, and the layer after it
    // gets no gradient.
    void deadReluFailsGradientFlow()
    {
        QTemporaryDir dir;
        ExperimentSpec spec = withLayers(R"([{"type": "relu"}, {"type": "linear"}])");
        spec.data.source = "csv";
        spec.data.path = writeCsv(dir, "negative.csv", -2.0, 1.0);
        spec.data.normalize = "none";
        spec.model.input.clear();
        const PreflightReport report = preflight(spec);
        QCOMPARE(report.find(CheckId::GradientFlow)->status, CheckStatus::Fail);
        QVERIFY2(report.find(CheckId::GradientFlow)->explanation.find("zero for a whole batch") != std::string::npos,
                 allText(report).c_str());
        bool deadRelu = false;
        for (const LayerFlow& f : report.layers)
            deadRelu = deadRelu || (f.type == "relu" && f.deadFraction == 1.0);
        QVERIFY(deadRelu);
    }

    void unnormalisedCsvFails()
    {
        QTemporaryDir dir;
        ExperimentSpec spec = withLayers(R"([{"type": "linear", "out_features": 16}, {"type": "relu"}, {"type": "linear"}])");
        spec.data.source = "csv";
        spec.data.path = writeCsv(dir, "large.csv", 1000.0, 5000.0);
        spec.data.normalize = "none";
        spec.model.input.clear();
        const PreflightReport report = preflight(spec);
        QCOMPARE(report.find(CheckId::InputRange)->status, CheckStatus::Fail);
        QVERIFY(report.find(CheckId::InputRange)->explanation.find("data.normalize") != std::string::npos);
        // The same file standardised passes the input check.
        spec.data.normalize = "auto";
        QCOMPARE(preflight(spec).find(CheckId::InputRange)->status, CheckStatus::Pass);
    }

    void regressionComparesWithTargetVariance()
    {
        QTemporaryDir dir;
        ExperimentSpec spec = withLayers(R"([{"type": "linear", "out_features": 16}, {"type": "tanh"}, {"type": "linear"}])", "mse");
        spec.data.source = "csv";
        spec.data.path = writeCsv(dir, "regression.csv", 0.0, 1.0);
        spec.model.input.clear();
        const PreflightReport report = preflight(spec);
        QCOMPARE(report.find(CheckId::LabelBalance)->status, CheckStatus::Skipped);
        const CheckResult* initial = report.find(CheckId::InitialLoss);
        QVERIFY2(initial->status != CheckStatus::Skipped, allText(report).c_str());
        QVERIFY(initial->explanation.find("variance") != std::string::npos);
        QVERIFY(report.error.empty());
    }

    void cancelledBeforeStartSkipsTheTrainingChecks()
    {
        const ExperimentSpec spec = smallSpiral();
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        control.cancel();
        double lastFraction = -1;
        const PreflightReport report = runPreflight(prepared(spec), data, [&](double f, const std::string&) { lastFraction = f; },
                                                    control);
        QVERIFY(report.cancelled);
        QCOMPARE(report.checks.size(), size_t(7));
        QCOMPARE(report.find(CheckId::OverfitBatch)->status, CheckStatus::Skipped);
        QVERIFY(lastFraction < 0.5);
    }

    void progressRisesToOne()
    {
        const ExperimentSpec spec = smallSpiral();
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        std::vector<double> fractions;
        runPreflight(prepared(spec), data, [&](double f, const std::string&) { fractions.push_back(f); }, control);
        QVERIFY(fractions.size() > 10);
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
        QCOMPARE(fractions.back(), 1.0);
    }
};

QTEST_APPLESS_MAIN(TestPreflight)
#include "test_preflight.moc"
