// The learning-rate range test (nnlab/lr_finder.h): the schedule of rates, fast.ai's
// suggestion rules on known curves, the curve of the spiral example (falls, then rises),
// stopping at divergence, and that the user's experiment, weights and checkpoints stay untouched.
#include "nnlab/lr_finder.h"
#include "train_test_util.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace nnlab;
using namespace nnlab::test;

namespace {

QByteArray fileHash(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

// A curve shaped like a range test's: flat, a fall centred at 1e-3, the lowest loss at
// 1e-1, then a rise.
std::vector<LrFinderPoint> syntheticCurve(const LrFinderOptions& o)
{
    std::vector<LrFinderPoint> points;
    for (int64_t i = 0; i < o.steps; ++i) {
        const double lr = lrFinderRate(o, i);
        const double x = std::log10(lr);
        const double loss = 2.0 - std::tanh((x + 3.0) * 2.0) * 0.9 + (x > -1 ? (x + 1) * (x + 1) : 0.0);
        points.push_back(LrFinderPoint{/*lr*/ lr, /*loss*/ loss, /*smoothedLoss*/ loss});
    }
    return points;
}

} // namespace

class TestLrFinder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void ratesGrowExponentially()
    {
        LrFinderOptions o;
        o.startLr = 1e-6;
        o.endLr = 1.0;
        o.steps = 7;
        QCOMPARE(lrFinderRate(o, 0), 1e-6);
        QVERIFY(std::abs(lrFinderRate(o, 6) - 1.0) < 1e-12);
        QVERIFY(std::abs(lrFinderRate(o, 3) - 1e-3) < 1e-15);
    }

    void badOptionsFail_data()
    {
        QTest::addColumn<double>("startLr");
        QTest::addColumn<double>("endLr");
        QTest::addColumn<qint64>("steps");
        QTest::addColumn<QString>("message");
        QTest::newRow("zero start") << 0.0 << 10.0 << qint64(100) << "start_lr: must be > 0, got 0";
        QTest::newRow("end below start") << 1.0 << 0.1 << qint64(100) << "end_lr: must be > start_lr (1), got 0.1";
        QTest::newRow("too few steps") << 1e-7 << 10.0 << qint64(2) << "steps: must be 5..100000, got 2";
    }
    void badOptionsFail()
    {
        QFETCH(double, startLr);
        QFETCH(double, endLr);
        QFETCH(qint64, steps);
        QFETCH(QString, message);
        LrFinderOptions o;
        o.startLr = startLr;
        o.endLr = endLr;
        o.steps = steps;
        QCOMPARE(QString::fromStdString(validateLrFinderOptions(o)), message);
        const ExperimentSpec spec = spiralSpec();
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        const LrFinderResult r = findLearningRate(prepared(spec), data, control, o);
        QVERIFY(r.status == TrainStatus::Failed);
        QCOMPARE(QString::fromStdString(r.message), message);
    }

    void suggestionsFollowFastAiRules()
    {
        LrFinderOptions o;
        o.steps = 200;
        const LrSuggestions s = suggestLearningRates(syntheticCurve(o), o.startLr, o.endLr);
        QVERIFY(s.valid);
        // Steepest where the tanh falls fastest (1e-3), within a step's ratio (10^(8/199)).
        QVERIFY2(std::abs(std::log10(s.steepest) + 3.0) < 0.1, qPrintable(QString::number(s.steepest)));
        QVERIFY2(std::abs(std::log10(s.minimumLossLr) + 1.0) < 0.3, qPrintable(QString::number(s.minimumLossLr)));
        QCOMPARE(s.minimum, s.minimumLossLr / 10);
        QCOMPARE(s.oneCycleMax, s.minimum);
        // Too short to judge; clamped into the tested range.
        QVERIFY(!suggestLearningRates({{1e-3, 1, 1}, {1e-2, 1, 1}}, 1e-3, 1e-2).valid);
        const std::vector<LrFinderPoint> falling{{1e-3, 3, 3}, {2e-3, 2, 2}, {4e-3, 1, 1}, {8e-3, 0.5, 0.5}};
        const LrSuggestions short_ = suggestLearningRates(falling, 1e-3, 8e-3);
        QVERIFY(short_.valid);
        QCOMPARE(short_.minimumLossLr, 8e-3);
        QCOMPARE(short_.minimum, 1e-3);   // 8e-4, clamped to the start
    }

    // The spiral MLP with Adam: the smoothed loss falls, then rises; every suggestion is
    // finite and inside the tested range.
    void spiralCurveFallsThenRises()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.deterministic = true;
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        int reports = 0;
        LrFinderProgress lastReport;
        LrFinderOptions o;
        o.steps = 1000;   // the spiral learns slowly: enough steps at useful rates to fall
        const LrFinderResult r = findLearningRate(prepared(spec), data, control, o, [&](const LrFinderProgress& p) {
            ++reports;
            lastReport = p;
        });
        QVERIFY2(r.status == TrainStatus::Finished, r.message.c_str());
        QVERIFY(reports >= 1);
        QCOMPARE(lastReport.step, static_cast<int64_t>(r.points.size()));
        QVERIFY(r.points.size() > 20);
        const LrSuggestions& s = r.suggestions;
        QVERIFY(s.valid);
        const double first = r.points.front().smoothedLoss, last = r.points.back().smoothedLoss;
        qInfo("spiral: %zu steps, smoothed loss %.3f -> min %.3f at lr %.2e -> %.3f; steepest %.2e, minimum/10 %.2e",
              r.points.size(), first, s.minimumLoss, s.minimumLossLr, last, s.steepest, s.minimum);
        QVERIFY(s.minimumLoss < 0.9 * first);   // it fell
        QVERIFY(last > 1.2 * s.minimumLoss);      // then rose
        for (double lr : {s.steepest, s.minimum, s.oneCycleMax, s.minimumLossLr}) {
            QVERIFY(std::isfinite(lr));
            QVERIFY(lr >= o.startLr && lr <= o.endLr);
        }
        QVERIFY(s.steepest < s.minimumLossLr);
        for (size_t i = 1; i < r.points.size(); ++i)
            QVERIFY(r.points[i].lr > r.points[i - 1].lr);
    }

    // The finder trains its own copy: the prepared experiment is unchanged, a checkpoint of
    // the user's run is neither read nor rewritten, and a second test gives the same curve.
    void leavesTheUserStateUntouched()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.epochs = 1;
        spec.training.deterministic = true;   // the same numbers twice on one machine
        const DataBundle data = loadData(spec.data, true, spec.seed);
        const PreparedExperiment experiment = prepared(spec);
        QTemporaryDir dir;
        TrainOptions trainOptions;
        trainOptions.checkpointPath = dir.filePath("latest.pt").toStdString();
        TrainControl trainControl;
        QVERIFY(train(experiment, data, trainControl, {}, trainOptions).status == TrainStatus::Finished);
        const QByteArray checkpoint = fileHash(dir.filePath("latest.pt"));
        QVERIFY(!checkpoint.isEmpty());
        const QStringList files = QDir(dir.path()).entryList(QDir::Files);

        LrFinderOptions o;
        o.steps = 60;
        TrainControl control;
        const LrFinderResult a = findLearningRate(experiment, data, control, o);
        const LrFinderResult b = findLearningRate(experiment, data, control, o);
        QVERIFY2(a.status == TrainStatus::Finished, a.message.c_str());
        QCOMPARE(a.points.size(), b.points.size());
        for (size_t i = 0; i < a.points.size(); ++i)
            QCOMPARE(a.points[i].loss, b.points[i].loss);
        QCOMPARE(a.suggestions.steepest, b.suggestions.steepest);
        QCOMPARE(a.suggestions.minimum, b.suggestions.minimum);

        QVERIFY(experiment.spec == spec);
        QCOMPARE(experiment.layoutHash, prepared(spec).layoutHash);
        QCOMPARE(fileHash(dir.filePath("latest.pt")), checkpoint);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), files);
    }

    // Adam at learning rates up to 1000 blows the spiral MLP up: the test stops before its last step.
    void stopsAtDivergence()
    {
        ExperimentSpec spec = spiralSpec();
        spec.training.deterministic = true;
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        LrFinderOptions o;
        o.startLr = 1e-2;
        o.endLr = 1e3;
        o.steps = 100;
        const LrFinderResult r = findLearningRate(prepared(spec), data, control, o);
        QVERIFY2(r.status == TrainStatus::Finished, r.message.c_str());
        QVERIFY(r.diverged);
        QVERIFY2(static_cast<int64_t>(r.points.size()) < o.steps, r.message.c_str());
        QVERIFY2(QString::fromStdString(r.message).contains("exceeds 4 x its minimum")
                     || QString::fromStdString(r.message).contains("the loss became"),
                 r.message.c_str());
    }

    void cancelEndsIt()
    {
        const ExperimentSpec spec = spiralSpec();
        const DataBundle data = loadData(spec.data, true, spec.seed);
        TrainControl control;
        LrFinderOptions o;
        o.endLr = 1e-3;   // no divergence: only the cancel ends it early
        int64_t seen = 0;
        const LrFinderResult r = findLearningRate(prepared(spec), data, control, o, [&](const LrFinderProgress& p) {
            seen = p.step;
            control.cancel();
        });
        QVERIFY(r.status == TrainStatus::Cancelled);
        QCOMPARE(seen, int64_t(1));   // the first step is always reported
        QCOMPARE(r.points.size(), size_t(1));
    }
};

QTEST_APPLESS_MAIN(TestLrFinder)
#include "test_lr_finder.moc"
