// The GUI's TrainingController/TrainingWorker pair on its own (no widgets), so that
// ThreadSanitizer can watch the worker thread without building the whole workbench: a run
// recorded in a store, pause/resume/stop from the GUI thread while the worker trains, one run
// at a time, and the controller destroyed mid-run (its destructor cancels and joins).
#include "core/training_controller.h"

#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>

namespace {

nnlab::ExperimentSpec spiral(int64_t epochs)
{
    const nnlab::ParseResult r = nnlab::loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json");
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    nnlab::ExperimentSpec spec = r.spec;
    spec.training.epochs = epochs;
    spec.training.threads = 1;   // no thread-count tuning: the worker thread is what is tested
    return spec;
}

bool sawEvent(const QSignalSpy& events, nnlab::EventKind kind)
{
    return std::any_of(events.begin(), events.end(),
                       [&](const QList<QVariant>& e) { return e.at(1).value<nnlab::EventKind>() == kind; });
}

} // namespace

class TestTrainingController : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString db() const { return m_dir.filePath(QStringLiteral("runs.db")); }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void trainsARunIntoTheStore()
    {
        TrainingController controller;
        controller.setDatabasePath(db());
        QSignalSpy started(&controller, &TrainingController::runStarted);
        QSignalSpy metrics(&controller, &TrainingController::metricsArrived);
        QSignalSpy finished(&controller, &TrainingController::runFinished);
        QVERIFY(controller.start(spiral(3)));
        QVERIFY(controller.isRunning());
        QVERIFY(!controller.start(spiral(3)));   // one run at a time
        QVERIFY(finished.wait(120000));

        QCOMPARE(finished.at(0).at(1).value<nnlab::TrainStatus>(), nnlab::TrainStatus::Finished);
        const QString runId = finished.at(0).at(0).toString();
        QVERIFY(!runId.isEmpty());
        QCOMPARE(started.count(), 1);
        QCOMPARE(started.at(0).at(0).toString(), runId);
        QVERIFY(metrics.count() > 0);
        QVERIFY(!controller.isRunning());
        QVERIFY(controller.lastSamplesPerSec() > 0.0);

        nnlab::StoreOptions options;
        options.readOnly = true;
        auto store = nnlab::RunStore::open(db().toStdString(), options);
        QVERIFY(store.ok());
        auto run = store.value->getRun(runId.toStdString());
        QVERIFY(run.ok());
        QCOMPARE(run.value.status, nnlab::RunStatus::Finished);
    }

    void pausesResumesAndStops()
    {
        TrainingController controller;
        controller.setDatabasePath(db());
        QSignalSpy progress(&controller, &TrainingController::progressChanged);
        QSignalSpy events(&controller, &TrainingController::eventOccurred);
        QSignalSpy finished(&controller, &TrainingController::runFinished);
        QVERIFY(controller.start(spiral(100000)));
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 2, 120000);

        controller.pause();
        QTRY_VERIFY_WITH_TIMEOUT(sawEvent(events, nnlab::EventKind::Paused), 60000);
        QVERIFY(controller.isPaused());
        controller.resume();
        QTRY_VERIFY_WITH_TIMEOUT(sawEvent(events, nnlab::EventKind::Resumed), 60000);
        const int seen = progress.count();
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > seen, 60000);

        controller.stop();
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.at(0).at(1).value<nnlab::TrainStatus>(), nnlab::TrainStatus::Cancelled);
        QVERIFY(!controller.isRunning());
        QVERIFY(controller.start(spiral(1)));   // the next run starts once the last one ended
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.at(1).at(1).value<nnlab::TrainStatus>(), nnlab::TrainStatus::Finished);
    }

    void destroyedMidRunJoinsItsThread()
    {
        auto controller = std::make_unique<TrainingController>();
        controller->setDatabasePath(db());
        QSignalSpy progress(controller.get(), &TrainingController::progressChanged);
        QVERIFY(controller->start(spiral(100000)));
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 120000);
        controller.reset();   // cancels the run and waits for the worker thread
        QCoreApplication::processEvents();
    }
};

QTEST_GUILESS_MAIN(TestTrainingController)
#include "test_training_controller.moc"
