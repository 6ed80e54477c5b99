// The inspect docks in a window, fed by a real training run of the spiral MLP through the
// TrainingController: the boundary animates (frames arrive while it trains and the newest is
// shown), layer statistics and the confusion matrix arrive live, and the stored run reads
// back the same boundaries.
#include "confusion_panel.h"
#include "decision_boundary_panel.h"
#include "inspect_docks.h"
#include "layer_stats_panel.h"

#include "core/experiment_document.h"
#include "core/training_controller.h"

#include "nnlab/spec_json.h"

#include <QDockWidget>
#include <QMainWindow>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace inspect;

class TestInspectLive : public QObject {
    Q_OBJECT
private slots:
    void spiralAnimatesWhileTraining();
};

void TestInspectLive::spiralAnimatesWhileTraining()
{
    QTemporaryDir dir;
    nnlab::ParseResult parsed =
        nnlab::loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json", {"training.epochs=6", "inspect.boundary_every_steps=20"});
    QVERIFY2(parsed.ok(), parsed.errorText().c_str());
    QMainWindow window;
    ExperimentDocument document;
    document.reset(parsed.spec);
    TrainingController controller;
    controller.setDatabasePath(dir.filePath("runs.db"));
    InspectDocks docks(&window, &controller, &document);
    for (QWidget* panel : {static_cast<QWidget*>(docks.boundary()), static_cast<QWidget*>(docks.layers()),
                           static_cast<QWidget*>(docks.confusion())})
        QVERIFY(docks.dock(panel));
    window.resize(1200, 800);

    QSignalSpy finished(&controller, &TrainingController::runFinished);
    QSignalSpy snapshots(&controller, &TrainingController::snapshotsArrived);
    QVERIFY(controller.start(document.spec()));
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.first().at(1).value<nnlab::TrainStatus>(), nnlab::TrainStatus::Finished);
    const QString runId = finished.first().at(0).toString();
    QVERIFY(snapshots.count() > 1);   // batched, not one signal for the whole run

    DecisionBoundaryPanel* boundary = docks.boundary();
    QCOMPARE(boundary->runId(), runId);
    QVERIFY(boundary->isTwoD());
    QStringList steps;
    for (int i = 0; i < boundary->frameCount(); ++i)
        steps << QString::number(boundary->stepAt(i));
    int boundaries = 0;
    for (const QList<QVariant>& args : snapshots)
        for (const nnlab::Snapshot& s : args.at(1).value<QVector<nnlab::Snapshot>>())
            boundaries += s.kind == nnlab::SnapshotKind::DecisionBoundary;
    qInfo("live frames at %s; %d boundaries in %lld signals, %d redraws; %.0f samples/s", qPrintable(steps.join(' ')),
          boundaries, static_cast<long long>(snapshots.count()), boundary->redrawCount(), controller.lastSamplesPerSec());
    // 6 epochs of 57 steps, a boundary every 20 steps.
    QCOMPARE(boundary->frameCount(), 342 / 20);
    QTRY_COMPARE(boundary->shownStep(), int64_t(340));
    QVERIFY(boundary->redrawCount() >= 1);
    QVERIFY(!docks.layers()->data().isEmpty());
    QCOMPARE(docks.confusion()->matrix()->classes(), 3);

    // The stored run replays the same boundaries.
    DecisionBoundaryPanel stored;
    QSignalSpy loaded(&stored, &DecisionBoundaryPanel::loadingFinished);
    stored.showStoredRun(dir.filePath("runs.db"), runId);
    QVERIFY(loaded.wait(20000));
    QCOMPARE(stored.frameCount(), boundary->frameCount());
    for (int i = 0; i < stored.frameCount(); ++i)
        QCOMPARE(stored.stepAt(i), boundary->stepAt(i));
}

QTEST_MAIN(TestInspectLive)
#include "test_inspect_live.moc"
