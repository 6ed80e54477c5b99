// Several processes at one store: two `nnlab-cli train` writing it at once while a third
// lists it, and a copy taken while a run records (as a backup tool would, with and without
// the -wal file, or cut short): each copy opens or is refused with a clear message.
#include "fault_test_util.h"

#include <QMap>
#include <QTemporaryDir>

using namespace faults;

namespace {

const QStringList kShortRun{kSpiral, "--quiet", "--epochs", "40", "--set", "training.threads=1",
                            "--set", "training.checkpoint_every_steps=100"};

struct Series {
    QList<qint64> steps;
    QString last;   // the last value as exported
};

// Every point of the run, per tag, from `runs export --format csv` (run_id,tag,step,wall_time,value).
QMap<QString, Series> exported(const QString& db, const QString& id)
{
    QMap<QString, Series> series;
    const Result r = cli({"runs", "export", id, "--format", "csv", "--db", db});
    if (r.status != 0)
        qWarning("%s", qPrintable(r.err));
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList f = lines[i].split(',');
        if (f.size() == 5) {
            series[f[1]].steps << f[2].toLongLong();
            series[f[1]].last = f[4];
        }
    }
    return series;
}

} // namespace

class TestFaultsConcurrent : public QObject {
    Q_OBJECT
private slots:
    void twoWritersAndAReader()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QProcess first, second;
        first.setProcessEnvironment(nnlab::test::withStore(db));
        second.setProcessEnvironment(nnlab::test::withStore(db));
        first.start(NNLAB_CLI, QStringList{"train"} + kShortRun);
        second.start(NNLAB_CLI, QStringList{"train"} + kShortRun);
        int lists = 0;
        while (first.state() != QProcess::NotRunning || second.state() != QProcess::NotRunning) {
            const Result list = cli({"runs", "list", "--db", db});
            QVERIFY2(list.status == 0 || (list.status == 1 && list.err.contains("no run database")),
                     qPrintable(list.err));
            ++lists;
            first.waitForFinished(10);   // also what updates their state
            second.waitForFinished(10);
        }
        QCOMPARE(finish(first), 0);
        QCOMPARE(finish(second), 0);
        QVERIFY(lists > 0);
        const QString outs[] = {QString::fromUtf8(first.readAllStandardOutput()),
                                QString::fromUtf8(second.readAllStandardOutput())};
        QStringList ids;
        for (const QString& out : outs) {
            QVERIFY2(out.contains("finished 2280 steps"), qPrintable(out));   // 40 epochs of 57
            ids << out.section('\n', 0, 0).section(' ', 1, 1);
        }
        QVERIFY(ids[0] != ids[1]);
        QCOMPARE(integrity(db), std::string("ok"));

        QMap<QString, Series> runs[2];
        for (int i = 0; i < 2; ++i) {
            const std::string id = quoted(ids[i]);
            QCOMPARE(storeText(db, "SELECT status || ' ' || last_step FROM runs WHERE id = " + id),
                     std::string("finished 2280"));
            runs[i] = exported(db, ids[i]);
            QVERIFY(runs[i].contains("train/loss") && runs[i].contains("val/accuracy"));
            for (auto it = runs[i].begin(); it != runs[i].end(); ++it) {
                const QList<qint64>& steps = it->steps;
                // Every point the store counted is there, in order.
                QCOMPARE(steps.size(), storeNumber(db, "SELECT s.count FROM series s JOIN runs r ON r.seq = s.run "
                                                       "WHERE r.id = " + id + " AND s.tag = " + quoted(it.key())));
                for (int k = 1; k < steps.size(); ++k)
                    QVERIFY2(steps[k] > steps[k - 1], qPrintable(it.key()));
            }
            QCOMPARE(runs[i]["val/loss"].steps.size(), 40);   // one per epoch
            QCOMPARE(runs[i]["train/loss"].steps.last(), 2280);
        }
        // Same experiment, same seed, one thread: the two runs are the same run, point for point
        // of the per-epoch series (the windowed ones depend on timing).
        for (const char* tag : {"val/loss", "val/accuracy"}) {
            QCOMPARE(runs[0][tag].steps, runs[1][tag].steps);
            QCOMPARE(runs[0][tag].last, runs[1][tag].last);
        }
    }

    // Another process holds the write lock past the recorder's 5 s busy timeout (a backup
    // tool, a sqlite3 shell left in a transaction): the run trains on, its commits wait, and
    // once the lock is gone every point is recorded.
    void storeLockedMidRun()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QProcess p;
        QStringList args = longRun(0, 20000);
        args[args.indexOf("--epochs") + 1] = "14";   // 14 epochs of 2,250 steps: a val/loss point each
        const QString id = startRecordedRun(p, db, args);
        QVERIFY(!id.isEmpty());
        const std::string lastStep = "SELECT last_step FROM runs WHERE id = " + quoted(id);
        QVERIFY(waitForStore(p, db, lastStep, 1000) >= 1000);
        {
            storetest::Sql lock(db.toStdString());
            QVERIFY(lock.exec("BEGIN IMMEDIATE"));
            p.waitForFinished(7000);
            QVERIFY2(p.state() == QProcess::Running, "the run ended while the store was locked");
            QVERIFY(lock.exec("COMMIT"));
        }
        QCOMPARE(finish(p), 0);
        QVERIFY2(QString::fromUtf8(p.readAllStandardOutput()).contains(finishedLine(db, id)), "not finished");
        QCOMPARE(storeText(db, "SELECT status FROM runs WHERE id = " + quoted(id)), std::string("finished"));
        QCOMPARE(integrity(db), std::string("ok"));
        const QMap<QString, Series> series = exported(db, id);
        const QList<qint64>& steps = series["train/loss"].steps;
        QCOMPARE(steps.last(), totalSteps(db, id));
        for (int k = 1; k < steps.size(); ++k)
            QVERIFY(steps[k] > steps[k - 1]);
        // Every epoch's point, those of the epochs that ended while the store was locked too.
        const long long perEpoch = storeNumber(db, "SELECT json_extract(info, '$.stepsPerEpoch') FROM runs WHERE id = "
                                                       + quoted(id));
        QList<qint64> epochs;
        for (int k = 1; k <= 14; ++k)
            epochs << k * perEpoch;
        QCOMPARE(series["val/loss"].steps, epochs);
    }

    void copiedWhileWritten_data()
    {
        QTest::addColumn<QString>("how");
        QTest::newRow("the .db file only") << "db";
        QTest::newRow("the .db and its -wal") << "wal";
        QTest::newRow("the -wal cut short") << "torn-wal";
        QTest::newRow("the .db cut short") << "torn-db";
    }
    void copiedWhileWritten()
    {
        QFETCH(QString, how);
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QProcess p;
        const QString id = startRecordedRun(p, db, QStringList{kSpiral, "--quiet", "--epochs", "150", "--set",
                                                               "training.threads=1", "--set",
                                                               "training.checkpoint_every_steps=100"});
        QVERIFY(!id.isEmpty());
        QStringList copies;
        for (int i = 0; i < 6 && p.state() == QProcess::Running; ++i) {
            p.waitForFinished(250);
            const QString copy = dir.filePath(QString("copy%1/runs.db").arg(i));
            QDir().mkpath(QFileInfo(copy).path());
            QFile::copy(db, copy);
            if (how == "wal" || how == "torn-wal")
                QFile::copy(db + "-wal", copy + "-wal");
            QFile cut(how == "torn-wal" ? copy + "-wal" : copy);
            if (how.startsWith("torn") && cut.size() > 0)
                QVERIFY(cut.resize(cut.size() * (i + 1) / 8));
            copies << copy;
        }
        QCOMPARE(finish(p), 0);
        QVERIFY(copies.size() >= 3);
        int opened = 0;
        for (const QString& copy : copies) {
            const Result list = cli({"runs", "list", "--db", copy});
            QVERIFY2(list.status == 0 || list.status == 1, "nnlab-cli crashed");
            if (list.status == 1) {
                // Refused: the message names the copy and says what is wrong.
                QVERIFY2(list.err.startsWith("nnlab-cli runs list: " + copy + ": "), qPrintable(list.err));
                QVERIFY2(list.err.contains("corrupt") || list.err.contains("not an nnlab run database"), qPrintable(list.err));
                continue;
            }
            ++opened;
            QCOMPARE(integrity(copy), std::string("ok"));
            if (!list.out.contains(id)) {
                QVERIFY2(list.out.contains("No runs"), qPrintable(list.out));   // copied before the run's first commit reached the file
                continue;
            }
            // A snapshot of a run whose process has ended: interrupted (or finished, when the
            // last copy came after the finish's commit), and it shows.
            QVERIFY2(list.out.contains("interrupted") || list.out.contains("finished"), qPrintable(list.out));
            const Result show = cli({"runs", "show", id, "--db", copy});
            QVERIFY2(show.status == 0, qPrintable(show.err));
        }
        if (!how.startsWith("torn"))
            QCOMPARE(opened, copies.size());
        qInfo("%s: %d of %lld copies opened", qPrintable(how), opened, static_cast<long long>(copies.size()));
    }
};

QTEST_GUILESS_MAIN(TestFaultsConcurrent)
#include "test_faults_concurrent.moc"
