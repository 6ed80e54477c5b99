// The observation evaluator on a hand-made store: two runs recorded through RunRecorder with
// known series and epoch events, judged without any training.
#include "nnlab/lab.h"
#include "nnlab/run_recorder.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QTemporaryDir>
#include <QTest>

#include <cmath>

namespace {

// Epochs end at steps 10, 20, 30. train/loss falls faster for B; the accuracy gap grows for A.
std::string recordRun(const std::string& db, const std::string& name, double lossScale, double gapGrowth)
{
    auto recorder = nnlab::RunRecorder::open(db);
    if (!recorder.ok())
        return {};
    nnlab::ExperimentSpec spec = nnlab::defaultExperiment();
    spec.name = name;
    const auto id = recorder.value->begin(spec, nnlab::experimentToJson(spec));
    std::vector<nnlab::MetricPoint> points;
    for (int64_t step = 1; step <= 30; ++step)   // a spike at step 15: the max
        points.push_back({"train/loss", step, 0.0, lossScale * (step == 15 ? 9.0 : 2.0 - step * 0.05)});
    for (int epoch = 1; epoch <= 3; ++epoch) {
        const int64_t step = epoch * 10;
        points.push_back({"train/accuracy", step, 0.0, 0.5 + 0.1 * epoch + gapGrowth * epoch});
        points.push_back({"val/accuracy", step, 0.0, 0.5 + 0.1 * epoch});
    }
    recorder.value->addMetrics(points);
    for (int epoch = 1; epoch <= 3; ++epoch)
        recorder.value->addEvent(nnlab::EventKind::Epoch, std::to_string(epoch), epoch * 10);
    nnlab::TrainResult result;
    result.status = nnlab::TrainStatus::Finished;
    result.steps = 30;
    recorder.value->finish(result);
    return id.value;
}

nnlab::Observation compare(const char* metric, const char* run, nnlab::LabPoint at, int64_t index, nnlab::CompareOp op,
                           double value)
{
    nnlab::Observation o;
    o.left.metric = metric;
    o.left.runs = {run};
    o.left.at = at;
    o.left.index = index;
    o.op = op;
    o.value = value;
    return o;
}

} // namespace

class TestLabObservations : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::unique_ptr<nnlab::RunStore> m_store;
    nnlab::StepRuns m_runs;
    nnlab::LabStep m_step;

    nnlab::ObservationResult judge(const nnlab::Observation& o)
    {
        return nnlab::evaluateObservation(o, m_step, m_store.get(), m_runs);
    }

private slots:
    void initTestCase()
    {
        const std::string db = m_dir.filePath("runs.db").toStdString();
        m_runs.runIds["A"] = recordRun(db, "A", 1.0, 0.05);
        m_runs.runIds["B"] = recordRun(db, "B", 0.5, 0.0);
        QVERIFY(!m_runs.runIds["A"].empty() && !m_runs.runIds["B"].empty());
        auto store = nnlab::RunStore::open(db);
        QVERIFY(store.ok());
        m_store = std::move(store.value);
    }

    // A's train/loss: 1.95 at step 1 ... 0.5 at step 30, 9 at step 15 (replacing 1.25).
    void readsEachPoint_data()
    {
        QTest::addColumn<int>("at");
        QTest::addColumn<int>("index");
        QTest::addColumn<double>("expected");
        QTest::newRow("final") << int(nnlab::LabPoint::Final) << 0 << 0.5;
        QTest::newRow("first") << int(nnlab::LabPoint::First) << 0 << 1.95;
        QTest::newRow("min") << int(nnlab::LabPoint::Min) << 0 << 0.5;
        QTest::newRow("max") << int(nnlab::LabPoint::Max) << 0 << 9.0;
        QTest::newRow("epoch 2 = step 20") << int(nnlab::LabPoint::Epoch) << 2 << 1.0;
        QTest::newRow("step 10") << int(nnlab::LabPoint::Step) << 10 << 1.5;
    }
    void readsEachPoint()
    {
        QFETCH(int, at);
        QFETCH(int, index);
        QFETCH(double, expected);
        const auto point = static_cast<nnlab::LabPoint>(at);
        // Holds just above the value, fails just below it: the value read is `expected`.
        QVERIFY2(judge(compare("train/loss", "A", point, index, nnlab::CompareOp::Less, expected + 1e-6)).holds,
                 judge(compare("train/loss", "A", point, index, nnlab::CompareOp::Less, expected + 1e-6)).measured.c_str());
        QVERIFY(!judge(compare("train/loss", "A", point, index, nnlab::CompareOp::Less, expected - 1e-6)).holds);
    }

    void comparesRuns()
    {
        nnlab::Observation o = compare("train/loss", "B", nnlab::LabPoint::Final, 0, nnlab::CompareOp::Less, 0);
        o.againstRun = true;
        o.right = o.left;
        o.right.runs = {"A"};
        o.factor = 0.6;   // B 0.25 < 0.6 x A 0.5 = 0.3
        nnlab::ObservationResult r = judge(o);
        QVERIFY2(r.holds, r.measured.c_str());
        QVERIFY(r.measured.find("0.25") != std::string::npos && r.measured.find("0.3") != std::string::npos);
        o.factor = 0.4;   // 0.25 < 0.2 fails
        QVERIFY(!judge(o).holds);
        o.holds = "yes";
        o.fails = "no";
        QCOMPARE(judge(o).explanation, std::string("no"));
    }

    void averagesRuns()
    {
        // Mean of A's and B's final train/loss: (0.5 + 0.25) / 2 = 0.375.
        nnlab::Observation o = compare("train/loss", "A", nnlab::LabPoint::Final, 0, nnlab::CompareOp::Greater, 0.37);
        o.left.runs = {"A", "B"};
        QVERIFY(judge(o).holds);
        o.value = 0.38;
        QVERIFY(!judge(o).holds);
    }

    void gapTrend()
    {
        nnlab::Observation o;
        o.kind = nnlab::ObservationKind::Trend;
        o.left.metric = "train/accuracy";
        o.left.minus = "val/accuracy";
        o.left.runs = {"A"};
        o.from = nnlab::LabPoint::Epoch;
        o.fromIndex = 1;
        o.margin = 0.05;   // A's gap 0.05 -> 0.15: grows by 0.1
        nnlab::ObservationResult r = judge(o);
        QVERIFY2(r.holds, r.measured.c_str());
        o.left.runs = {"B"};   // B's gap stays 0
        QVERIFY(!judge(o).holds);
        o.grows = false;
        o.margin = 0;
        QVERIFY(!judge(o).holds);   // not shrinking either
    }

    void missingDataFailsWithAReason()
    {
        nnlab::ObservationResult r = judge(compare("val/loss", "A", nnlab::LabPoint::Final, 0, nnlab::CompareOp::Less, 1));
        QVERIFY(!r.holds);
        QVERIFY2(r.error.find("recorded no val/loss") != std::string::npos, r.error.c_str());
        r = judge(compare("train/loss", "A", nnlab::LabPoint::Epoch, 7, nnlab::CompareOp::Less, 1));
        QVERIFY(!r.holds);
        QVERIFY2(r.error.find("no epoch 7") != std::string::npos, r.error.c_str());
        r = judge(compare("train/loss", "C", nnlab::LabPoint::Final, 0, nnlab::CompareOp::Less, 1));
        QVERIFY(!r.holds);
        QVERIFY2(r.error.find("run C was not recorded") != std::string::npos, r.error.c_str());
    }

    void checksOfACheckStep()
    {
        nnlab::StepRuns runs;
        nnlab::CheckResult fail;
        fail.id = nnlab::CheckId::InputRange;
        fail.status = nnlab::CheckStatus::Fail;
        runs.checks["broken"] = {fail};
        nnlab::Observation o;
        o.kind = nnlab::ObservationKind::Check;
        o.check = nnlab::CheckId::InputRange;
        o.left.runs = {"broken"};
        o.statuses = {nnlab::CheckStatus::Fail};
        QVERIFY(nnlab::evaluateObservation(o, m_step, nullptr, runs).holds);
        o.statuses = {nnlab::CheckStatus::Pass, nnlab::CheckStatus::Warn};
        QVERIFY(!nnlab::evaluateObservation(o, m_step, nullptr, runs).holds);
        o.check = nnlab::CheckId::Baseline;
        QVERIFY(!nnlab::evaluateObservation(o, m_step, nullptr, runs).error.empty());
    }
};

QTEST_APPLESS_MAIN(TestLabObservations)
#include "test_lab_observations.moc"
