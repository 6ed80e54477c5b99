// Data-parallel training as a user runs it: `nnlab-cli train --workers 2` follows the same
// loss curve as one worker with the same global batch, over 100 steps on real data; killing a
// worker mid-run leaves the run interrupted, rank 0 exits at once with a message naming the
// lost worker, and `runs resume` finishes it with both workers, still on the same curve.
#include "cli_test_util.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using namespace nnlab::test;

namespace {

// No dropout and no BatchNorm: each worker's shard then gives exactly its share of the
// global batch's gradient (BatchNorm would normalize over the shard, as in PyTorch's DDP).
const char* kExperiment = R"({"format": "nnlab.experiment/1", "name": "workers", "seed": 4,
 "data": {"source": "fashion-mnist", "train_limit": 6400, "validation_fraction": 0.1},
 "model": {"input": [1, 28, 28], "layers": [
   {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "relu"},
   {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
   {"type": "linear", "out_features": 64}, {"type": "relu"}, {"type": "linear", "out_features": 10}]},
 "optimizer": {"type": "adam", "lr": 0.002}, "schedule": {"type": "cosine"},
 "training": {"epochs": EPOCHS, "batch_size": 64, "threads": 1, "log_every_steps": 1,
              "checkpoint_every_steps": 25, "deterministic": true}})";

// train/loss by step from `runs export` (the last value recorded for a step wins: a resumed
// run redoes the steps after its checkpoint).
QMap<int, double> lossCurve(const QString& db, const QString& run)
{
    const Result r = cli({"runs", "export", run, "--format", "csv"}, db);
    QMap<int, double> curve;
    for (const QString& line : r.out.split('\n'))
        if (line.contains(",train/loss,")) {
            const QStringList f = line.split(',');
            curve[f[2].toInt()] = f[4].toDouble();
        }
    return curve;
}

double maxDifference(const QMap<int, double>& a, const QMap<int, double>& b, int& compared)
{
    double worst = 0;
    compared = 0;
    for (auto it = a.begin(); it != a.end(); ++it)
        if (b.contains(it.key())) {
            const double d = std::abs(it.value() - b[it.key()]);
            if (d > 1e-4 && qEnvironmentVariableIsSet("NNLAB_DEBUG_CURVES"))
                qInfo("step %d: %.6f vs %.6f", it.key(), it.value(), b[it.key()]);
            worst = std::max(worst, d);
            ++compared;
        }
    return worst;
}

QString runIdOf(const Result& r) { return r.out.section('\n', 0, 0).section(' ', 1, 1).trimmed(); }

// The first child process of `pid` (the worker rank 0 started).
qint64 childOf(qint64 pid)
{
    QFile children(QString("/proc/%1/task/%1/children").arg(pid));
    if (!children.open(QIODevice::ReadOnly))
        return 0;
    return QString::fromUtf8(children.readAll()).split(' ', Qt::SkipEmptyParts).value(0).toLongLong();
}

} // namespace

class TestCliWorkers : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db");
        for (int epochs : {1, 3}) {
            QFile f(m_dir.filePath(QString("workers-%1.json").arg(epochs)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(kExperiment).replace("EPOCHS", QByteArray::number(epochs)));
        }
    }

    void twoWorkersFollowOneWorkersCurve()
    {
        const Result one = cli({"train", m_dir.filePath("workers-1.json"), "--quiet"}, m_db);
        QVERIFY2(one.status == 0, qPrintable(one.err));
        const Result two = cli({"train", m_dir.filePath("workers-1.json"), "--workers", "2", "--quiet"}, m_db);
        QVERIFY2(two.status == 0, qPrintable(two.err));
        const QMap<int, double> a = lossCurve(m_db, runIdOf(one)), b = lossCurve(m_db, runIdOf(two));
        int compared = 0;
        const double diff = maxDifference(a, b, compared);
        QCOMPARE(compared, 90);   // 5,760 training samples / 64: every step
        QVERIFY2(diff < 1e-4, qPrintable(QString("train/loss differs by %1").arg(diff)));
        qInfo("1 vs 2 workers: train/loss at most %.3g apart over %d steps", diff, compared);
        // The run knows it had two workers, and each worker's throughput is a metric.
        const Result show = cli({"runs", "show", runIdOf(two)}, m_db);
        QVERIFY2(show.out.contains("x 2 workers"), qPrintable(show.out));
        QVERIFY(show.out.contains("workers/0/samples_per_sec") && show.out.contains("workers/1/samples_per_sec"));
        QVERIFY(show.out.contains("workers/allreduce_time"));
    }

    void aKilledWorkerInterruptsTheRunAndResumeFinishesIt()
    {
        // Over 270 steps the one-worker and two-worker curves drift apart by float rounding
        // (the sums run in another order); the resumed run must follow an uninterrupted
        // two-worker run.
        const Result reference = cli({"train", m_dir.filePath("workers-3.json"), "--workers", "2", "--quiet"}, m_db);
        QVERIFY2(reference.status == 0, qPrintable(reference.err));

        QProcess rank0;
        const QString run = startRecordedRun(rank0, m_db, {m_dir.filePath("workers-3.json"), "--workers", "2", "--quiet"});
        QVERIFY2(!run.isEmpty(), qPrintable(QString::fromUtf8(rank0.readAllStandardError())));
        // Once the first checkpoint is written, kill the worker.
        const QString checkpoint = m_dir.filePath("checkpoints/" + run + ".pt");
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(checkpoint), 60000);
        qint64 worker = 0;
        QTRY_VERIFY_WITH_TIMEOUT((worker = childOf(rank0.processId())) > 0, 10000);
        QCOMPARE(::kill(pid_t(worker), SIGKILL), 0);
        QElapsedTimer clock;
        clock.start();
        QVERIFY(rank0.waitForFinished(30000));
        qInfo("rank 0 ended %.1f s after the worker was killed", clock.elapsed() / 1000.0);
        QCOMPARE(rank0.exitCode(), 1);
        const QString err = QString::fromUtf8(rank0.readAllStandardError());
        QVERIFY2(err.contains("a worker stopped"), qPrintable(err));
        Result r = cli({"runs", "show", run}, m_db);
        QVERIFY2(r.out.contains("interrupted"), qPrintable(r.out.left(400)));

        // Resumed with both workers from the last checkpoint: finished, every step there,
        // and on the uninterrupted run's curve.
        r = cli({"runs", "resume", run, "--quiet"}, m_db);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        r = cli({"runs", "show", run}, m_db);
        QVERIFY2(r.out.contains("finished") && r.out.contains("x 2 workers"), qPrintable(r.out.left(600)));
        const QMap<int, double> resumed = lossCurve(m_db, run), uninterrupted = lossCurve(m_db, runIdOf(reference));
        QCOMPARE(resumed.lastKey(), 270);
        int compared = 0;
        const double diff = maxDifference(resumed, uninterrupted, compared);
        QCOMPARE(compared, 270);
        QVERIFY2(diff < 1e-5, qPrintable(QString("train/loss differs by %1 after the resume").arg(diff)));
        qInfo("resumed vs uninterrupted two-worker run: train/loss at most %.3g apart", diff);
    }

    void workersValidate()
    {
        Result r = cli({"train", m_dir.filePath("workers-1.json"), "--workers", "65", "--quiet"}, m_db);
        QCOMPARE(r.status, 2);
        QVERIFY2(r.err.contains("training.workers") && r.err.contains("batch of 64"), qPrintable(r.err));
        r = cli({"train", m_dir.filePath("workers-1.json"), "--workers", "0", "--quiet"}, m_db);
        QCOMPARE(r.status, 2);
        QVERIFY2(r.err.contains("training.workers"), qPrintable(r.err));
    }

private:
    QTemporaryDir m_dir;
    QString m_db;
};

QTEST_APPLESS_MAIN(TestCliWorkers)
#include "test_cli_workers.moc"
