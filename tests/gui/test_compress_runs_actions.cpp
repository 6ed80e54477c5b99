// The Runs dock's compression actions: Compress… on one finished run asks for the dialog with
// the run's id and name, Compare compression sends the selected runs, and the selection is
// announced (the Pareto chart rings it).
#include "runs/runs_panel.h"
#include "test_runs_fixture.h"

#include <QAction>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

class TestCompressRunsActions : public QObject {
    Q_OBJECT
private slots:
    void actions()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        fixture::RunSpec finished;
        finished.name = "teacher";
        const QString done = fixture::recordRun(db, finished, [](nnlab::RunRecorder&) {});
        fixture::RunSpec failed;
        failed.name = "broken";
        failed.status = nnlab::TrainStatus::Failed;
        const QString broken = fixture::recordRun(db, failed, [](nnlab::RunRecorder&) {});
        QVERIFY(!done.isEmpty() && !broken.isEmpty());

        RunsPanel panel;
        panel.setStorePath(db);
        QSignalSpy compress(&panel, &RunsPanel::compressRequested);
        QSignalSpy compare(&panel, &RunsPanel::compareCompressionRequested);
        QSignalSpy selected(&panel, &RunsPanel::selectedRunsChanged);
        QAction* compressAction = panel.action("compress");
        QAction* compareAction = panel.action("compareCompression");
        QVERIFY(compressAction && compareAction);
        QVERIFY(!compressAction->isEnabled());

        panel.selectRuns({broken});
        QVERIFY(!compressAction->isEnabled());   // nothing trained to compress
        panel.selectRuns({done});
        QVERIFY(selected.count() >= 1);
        QCOMPARE(selected.last().at(0).toStringList(), QStringList{done});
        QVERIFY(compressAction->isEnabled());
        compressAction->trigger();
        QCOMPARE(compress.count(), 1);
        QCOMPARE(compress.at(0).at(0).toString(), done);
        QCOMPARE(compress.at(0).at(1).toString(), QString("teacher"));

        panel.selectRuns({done, broken});
        QVERIFY(!compressAction->isEnabled());
        compareAction->trigger();
        QCOMPARE(compare.count(), 1);
        QCOMPARE(compare.at(0).at(0).toStringList().size(), 2);
    }
};

QTEST_MAIN(TestCompressRunsActions)
#include "test_compress_runs_actions.moc"
