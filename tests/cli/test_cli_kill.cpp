// A run SIGKILLed in its first epoch resumes as the same run from a checkpoint written
// during that epoch (training.checkpoint_every_seconds), on the real Fashion-MNIST data.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include "cli_test_util.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace nnlab::test;

namespace {

// The step of the run's newest latest-checkpoint artifact, -1 when there is none yet.
int64_t checkpointStep(const QString& runId, const QString& db)
{
    const Result r = cli({"runs", "export", runId, "--format", "json"}, db);
    int64_t step = -1;
    const QJsonObject run = QJsonDocument::fromJson(r.out.toUtf8()).object().value("run").toObject();
    for (const auto& a : run.value("artifacts").toArray())
        if (a.toObject().value("kind").toString() == "checkpoint")
            step = a.toObject().value("step").toInteger();
    return step;
}

} // namespace

class TestCliKill : public QObject {
    Q_OBJECT
private slots:
    void killedInTheFirstEpochResumesAsTheSameRun()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QProcess p;
        // All 54,000 training images at batch 8: 6750 steps in the one epoch, several seconds.
        const QString runId = startRecordedRun(p, db, {"--epochs", "1", "--quiet", "--set", "training.checkpoint_every_seconds=1",
                                                       "--set", "training.threads=1", "--set", "training.batch_size=8",
                                                       "--set", "data.train_limit=0"});
        QVERIFY(!runId.isEmpty());
        int64_t step = -1;
        QTRY_VERIFY_WITH_TIMEOUT((step = checkpointStep(runId, db)) > 0, 120000);
        QVERIFY(p.state() == QProcess::Running);
        p.kill();   // SIGKILL: no chance to clean up
        QVERIFY(p.waitForFinished());
        QVERIFY2(step < 6750, qPrintable(QString::number(step)));   // still in the first epoch

        const Result list = cli({"runs", "list", "--status", "interrupted"}, db);
        QVERIFY2(list.out.contains(runId.left(12)), qPrintable(list.out));
        const Result resumed = cli({"runs", "resume", runId, "--quiet"}, db);
        QVERIFY2(resumed.status == 0, qPrintable(resumed.err));
        QVERIFY2(resumed.out.contains("resuming run " + runId), qPrintable(resumed.out));
        QVERIFY2(resumed.out.contains("finished 6750 steps"), qPrintable(resumed.out));
        const QJsonObject run = QJsonDocument::fromJson(cli({"runs", "export", runId, "--format", "json"}, db).out.toUtf8())
                                    .object().value("run").toObject();
        QCOMPARE(run.value("status").toString(), QString("finished"));
        QVERIFY(run.value("summary").toObject().contains("test/accuracy"));
        QVERIFY(QFile::exists(dir.filePath("checkpoints/" + runId + ".best.pt")));
    }
};

QTEST_GUILESS_MAIN(TestCliKill)
#include "test_cli_kill.moc"
