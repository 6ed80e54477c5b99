// Sensitivity analysis (nnlab/sensitivity.h) on a small trained MLP: the rows are the
// prunable layers, the sparsity-0 cell is the base model, the drop grows with sparsity,
// int8 of one layer costs little, the result is recorded under its source and read back, and
// cancelling stops it between cells.
#include "nnlab/sensitivity.h"
#include "nnlab/store.h"

#include "../engine/train_test_util.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <stdexcept>

using namespace nnlab;

class TestSensitivity : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_db;
    std::string m_source;

    SensitivityOptions options(std::vector<double> sparsities) const
    {
        SensitivityOptions o;
        o.sparsities = std::move(sparsities);
        o.databasePath = m_db;
        o.calibrationSamples = 200;
        return o;
    }

    // Each layer's drop grows with sparsity, give or take 6 of the 200 validation samples (pruning
    // a little can help by chance), and the heaviest pruning costs clearly more than none.
    static void checkLadder(const SensitivityResult& r, size_t sparsities)
    {
        bool someHurt = false;
        for (size_t l = 0; l < r.layers.size(); ++l) {   // the table, for when it fails
            QString line = QString::fromStdString(r.layers[l].name) + ":";
            for (const auto& c : r.cells[l])
                line += " " + QString::number(c.accuracy) + (c.error.empty() ? "" : " (" + QString::fromStdString(c.error) + ")");
            qInfo("base %g, %s", r.baseAccuracy, qPrintable(line));
        }
        for (size_t l = 0; l < r.layers.size(); ++l) {
            const auto& cells = r.cells[l];
            QCOMPARE(cells[0].accuracy, r.baseAccuracy);   // sparsity 0: the model as trained
            QCOMPARE(cells[0].drop, 0.0);
            for (size_t s = 1; s < sparsities; ++s) {
                QVERIFY2(cells[s].ran(), cells[s].error.c_str());
                QVERIFY2(cells[s].drop >= cells[s - 1].drop - 0.03,
                         qPrintable(QString("layer %1: drop %2 at setting %3 after %4").arg(QString::fromStdString(r.layers[l].name))
                                        .arg(cells[s].drop).arg(s).arg(cells[s - 1].drop)));
            }
            someHurt = someHurt || cells[sparsities - 1].drop > 0.05;
        }
        QVERIFY(someHurt);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db").toStdString();
        ExperimentSpec spec = test::spiralSpec();
        spec.training.epochs = 20;
        spec.training.threads = 1;
        TrainControl control;
        RunSessionOptions session;
        session.databasePath = m_db;
        const RunSessionResult run = runTrainingSession(test::prepared(spec), control, session);
        QCOMPARE(int(run.result.status), int(TrainStatus::Finished));
        m_source = run.runId;
    }

    void badOptionsAreRefused()
    {
        TrainControl control;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, runSensitivity(m_source, options({0.2, 1.0}), control));
        QVERIFY(QString::fromStdString(checkSensitivityOptions(options({-0.1}))).contains("--sparsities"));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, runSensitivity("nosuchrun", options({0.5}), control));
    }

    void unstructuredLadder()
    {
        TrainControl control;
        std::vector<SensitivityProgress> seen;
        const SensitivityResult r = runSensitivity(m_source.substr(0, 12), options({0.0, 0.3, 0.6, 0.9}), control,
                                                   [&](const SensitivityProgress& p) { seen.push_back(p); });
        QCOMPARE(r.sourceRunId, m_source);
        QVERIFY(!r.cancelled);
        QVERIFY2(r.baseAccuracy > 0.7, qPrintable(QString::number(r.baseAccuracy)));   // a trained spiral
        QCOMPARE(r.split, std::string("validation"));
        // linear 0 and 2; the output layer 4 is not a row.
        QCOMPARE(r.layers.size(), size_t(2));
        QCOMPARE(r.layers[0].name, std::string("0"));
        QCOMPARE(r.layers[1].name, std::string("2"));
        QCOMPARE(r.layers[1].specPath, std::vector<int>{2});
        QCOMPARE(r.layers[1].parameters, int64_t(64 * 64 + 64));
        QCOMPARE(r.settings.size(), size_t(5));
        QCOMPARE(r.settings.back().label(), std::string("int8"));
        QCOMPARE(r.settings[1].label(), std::string("30%"));
        checkLadder(r, 4);
        for (size_t l = 0; l < r.layers.size(); ++l) {   // one layer in int8 costs little
            QVERIFY2(r.cells[l][4].ran(), r.cells[l][4].error.c_str());
            QVERIFY(std::abs(r.cells[l][4].drop) < 0.05);
        }
        QVERIFY(!seen.empty());
        QCOMPARE(seen.back().done, int64_t(10));
        QCOMPARE(seen.back().total, int64_t(10));

        // Recorded under its source, and read back from either run.
        QVERIFY(!r.runId.empty());
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        const auto run = store.value->getRun(r.runId);
        QVERIFY(run.ok());
        QCOMPARE(run.value.parentId, m_source);
        QCOMPARE(int(run.value.status), int(RunStatus::Finished));
        QCOMPARE(sensitivityRunsOf(*store.value, m_source).front(), r.runId);
        for (const std::string& id : {m_source, r.runId}) {
            const SensitivityResult back = loadSensitivity(*store.value, id);
            QCOMPARE(back.runId, r.runId);
            QCOMPARE(back.baseAccuracy, r.baseAccuracy);
            QCOMPARE(back.layers.size(), r.layers.size());
            for (size_t l = 0; l < r.layers.size(); ++l)
                for (size_t s = 0; s < r.settings.size(); ++s)
                    QCOMPARE(back.cells[l][s].accuracy, r.cells[l][s].accuracy);
        }
    }

    void structuredLadder()
    {
        TrainControl control;
        SensitivityOptions o = options({0.0, 0.25, 0.5, 0.75});
        o.structured = true;
        o.int8 = false;
        o.record = false;
        const SensitivityResult r = runSensitivity(m_source, o, control);
        QVERIFY(r.structured);
        QVERIFY(r.runId.empty());
        QCOMPARE(r.settings.size(), size_t(4));
        checkLadder(r, 4);
    }

    void cancellingStopsBetweenCells()
    {
        TrainControl control;
        SensitivityOptions o = options({0.2, 0.4, 0.6, 0.8});
        const SensitivityResult r = runSensitivity(m_source, o, control, [&](const SensitivityProgress& p) {
            if (p.done == 3)
                control.cancel();
        });
        QVERIFY(r.cancelled);
        QVERIFY(r.cells[0][2].ran());
        QVERIFY(!r.cells[0][3].ran());
        QVERIFY(!r.cells[1][0].ran());
        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        QCOMPARE(int(store.value->getRun(r.runId).value.status), int(RunStatus::Cancelled));
    }
};

QTEST_APPLESS_MAIN(TestSensitivity)
#include "test_sensitivity.moc"
