// The workbench window end to end, offscreen: Train is gated by validation, a real run
// streams into the charts and lands in the runs table and the store, pause/resume/stop
// act within a batch, a stored run's experiment opens exactly as trained, and undo/redo.
#include "main_window.h"
#include "training_bar.h"

#include "charts/charts_panel.h"
#include "core/experiment_document.h"
#include "core/training_controller.h"
#include "editor/model_editor.h"
#include "file_actions.h"
#include "runs/runs_model.h"
#include "runs/runs_panel.h"

#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QAction>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

namespace {
const QString kSpiral = QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json");
}

class TestWorkbench : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString db() const { return m_dir.filePath("runs.db"); }

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);   // QSettings away from the user's
        QCoreApplication::setOrganizationName("nnlab-tests");
        QCoreApplication::setApplicationName("test_workbench");
    }

    void opensOnTheDefaultExperiment()
    {
        MainWindow window(db());
        QCOMPARE(window.document()->spec(), nnlab::defaultExperiment());
        QVERIFY(window.trainingBar()->trainAction()->isEnabled());
        QVERIFY(!window.trainingBar()->pauseAction()->isEnabled());
        QCOMPARE(window.databasePath(), db());
    }

    void invalidOptionDisablesTrainWithItsMessage()
    {
        MainWindow window(db());
        window.document()->apply("kernel", [](nnlab::ExperimentSpec& s) { s.model.layers[0].options["kernel_size"] = 40; });
        QAction* train = window.trainingBar()->trainAction();
        QVERIFY(!train->isEnabled());
        QVERIFY2(train->toolTip().contains("model.layers[0].kernel_size"), qPrintable(train->toolTip()));
        QVERIFY(window.trainingBar()->blockedReason().contains("does not fit"));
        window.document()->undoStack()->undo();
        QVERIFY(train->isEnabled());
        QVERIFY(window.trainingBar()->blockedReason().isEmpty());
    }

    void trainsSpiralIntoChartsRunsAndStore()
    {
        MainWindow window(db());
        window.show();
        QVERIFY(window.fileActions()->open(kSpiral));
        window.document()->apply("epochs", [](nnlab::ExperimentSpec& s) { s.training.epochs = 8; });
        QSignalSpy finished(window.controller(), &TrainingController::runFinished);
        window.trainingBar()->trainAction()->trigger();
        QVERIFY(!window.trainingBar()->trainAction()->isEnabled());   // one run at a time
        QVERIFY(finished.wait(60000));
        const QString runId = finished.at(0).at(0).toString();
        QCOMPARE(finished.at(0).at(1).toString(), QString("finished"));
        QVERIFY(!runId.isEmpty());

        // The charts received the streamed points; the table shows the finished run.
        window.charts()->replotNow();
        QVERIFY(window.charts()->graphPointCount(ChartsPanel::LossChart, runId, "train/loss") > 20);
        QVERIFY(window.charts()->graphPointCount(ChartsPanel::AccuracyChart, runId, "val/accuracy") == 8);
        const int row = window.runs()->model()->rowOf(runId);
        QVERIFY(row >= 0);
        QCOMPARE(window.runs()->model()->runAt(row)->status, nnlab::RunStatus::Finished);

        // The store has the experiment exactly as trained.
        nnlab::StoreOptions options;
        options.readOnly = true;
        auto store = nnlab::RunStore::open(db().toStdString(), options);
        QVERIFY(store.ok());
        auto run = store.value->getRun(runId.toStdString());
        QVERIFY(run.ok());
        QCOMPARE(QString::fromStdString(run.value.experimentJson), QString::fromStdString(nnlab::experimentToJson(window.document()->spec())));

        // Opening the stored experiment gives exactly what was trained.
        const nnlab::ExperimentSpec trained = window.document()->spec();
        window.document()->reset(nnlab::defaultExperiment());
        emit window.runs()->openExperimentRequested(runId, QString::fromStdString(run.value.experimentJson));
        QCOMPARE(window.document()->spec(), trained);
    }

    void pauseResumeStop()
    {
        MainWindow window(db());
        window.show();
        QVERIFY(window.fileActions()->open(kSpiral));
        window.document()->apply("long", [](nnlab::ExperimentSpec& s) { s.training.epochs = 100000; });
        QSignalSpy progress(window.controller(), &TrainingController::progressChanged);
        QSignalSpy events(window.controller(), &TrainingController::eventOccurred);
        QSignalSpy finished(window.controller(), &TrainingController::runFinished);
        window.trainingBar()->trainAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 3, 30000);

        window.trainingBar()->pauseAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(window.controller()->isPaused(), 2000);
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(events.begin(), events.end(), [](const QList<QVariant>& e) { return e.at(1).toString() == "paused"; }), 5000);
        QCOMPARE(window.trainingBar()->pauseAction()->text(), QString("&Resume"));
        const int seen = progress.count();
        QTest::qWait(400);
        QCOMPARE(progress.count(), seen);   // no progress while paused

        window.trainingBar()->pauseAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > seen + 2, 10000);
        window.trainingBar()->stopAction()->trigger();
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.at(0).at(1).toString(), QString("cancelled"));
        QTRY_VERIFY(window.trainingBar()->trainAction()->isEnabled());
    }

    void undoRedoEveryEdit()
    {
        MainWindow window(db());
        const std::string before = nnlab::experimentToJson(window.document()->spec());
        window.modelEditor()->selectLayer({6});
        window.modelEditor()->addLayer("dropout");
        window.document()->apply("lr", [](nnlab::ExperimentSpec& s) { s.optimizer.lr = 0.05; });
        const std::string after = nnlab::experimentToJson(window.document()->spec());
        QVERIFY(after != before);
        QVERIFY(window.isWindowModified());
        window.document()->undoStack()->undo();
        window.document()->undoStack()->undo();
        QCOMPARE(nnlab::experimentToJson(window.document()->spec()), before);
        window.document()->undoStack()->redo();
        window.document()->undoStack()->redo();
        QCOMPARE(nnlab::experimentToJson(window.document()->spec()), after);
    }

    void saveAndReopen()
    {
        MainWindow window(db());
        const QString path = m_dir.filePath("saved.json");
        window.document()->apply("name", [](nnlab::ExperimentSpec& s) { s.name = "renamed"; });
        QVERIFY(window.fileActions()->saveAs(path));
        QVERIFY(!window.document()->isModified());
        MainWindow other(db());
        QVERIFY(other.fileActions()->open(path));
        QCOMPARE(other.document()->spec(), window.document()->spec());
        QVERIFY(other.fileActions()->recentFiles().contains(QFileInfo(path).absoluteFilePath()));
    }
};

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
