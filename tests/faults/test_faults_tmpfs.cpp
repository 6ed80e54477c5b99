// Faults from the file system itself, on small tmpfs mounts (root): the disk fills up under
// the run store, or fills up or is remounted read-only under the checkpoints folder, mid-run.
// The run must stop with a message naming what failed, keep everything committed before,
// leave an intact store and previous checkpoint, and resume once the disk is back.
#include "fault_test_util.h"

#include <QTemporaryDir>

using namespace faults;

namespace {

enum class Fault { Full, ReadOnly };

void inject(Tmpfs& fs, Fault fault)
{
    if (fault == Fault::Full)
        QVERIFY(fs.fill() > 0);
    else
        QVERIFY(fs.remount(true));
}

void repair(Tmpfs& fs, Fault fault)
{
    if (fault == Fault::Full)
        fs.freeSpace();
    else
        QVERIFY(fs.remount(false));
}

} // namespace

class TestFaultsTmpfs : public QObject {
    Q_OBJECT
private slots:
    // The store's disk fills up while metrics stream in; no checkpoint is due before the
    // end, so the store is the first to notice. (A read-only remount is refused while the
    // store is open for writing, EBUSY; test_faults_concurrent holds its lock instead.)
    void storeDiskFullMidRun()
    {
        const Fault fault = Fault::Full;
        const QString expected = "disk is full";
        QTemporaryDir dir;
        Tmpfs fs(dir.filePath("disk"), "2m");
        QVERIFY2(fs.mounted(), fs.error().c_str());
        const QString db = dir.filePath("disk/runs.db");
        QProcess p;
        const QString id = startRecordedRun(p, db, longRun(0));
        QVERIFY(!id.isEmpty());
        const std::string lastStep = "SELECT last_step FROM runs WHERE id = " + quoted(id);
        const long long committed = waitForStore(p, db, lastStep, 1000);
        QVERIFY2(committed >= 1000, "the run never committed 1000 steps");
        inject(fs, fault);

        QCOMPARE(finish(p), 1);   // failed, not crashed
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(db) && err.contains(expected), qPrintable(err));
        QVERIFY2(!err.contains("terminate") && !err.contains("Aborted"), qPrintable(err));
        // The store reads while the fault lasts, and after it.
        for (int repaired = 0; repaired < 2; ++repaired) {
            QCOMPARE(integrity(db), std::string("ok"));
            QVERIFY(storeNumber(db, lastStep) >= committed);
            QVERIFY(storeNumber(db, "SELECT s.last_step FROM series s JOIN runs r ON r.seq = s.run WHERE r.id = "
                                        + quoted(id) + " AND s.tag = 'train/loss'")
                    >= committed);
            const Result list = cli({"runs", "list", "--status", "interrupted", "--db", db});
            QVERIFY2(list.status == 0 && list.out.contains(id), qPrintable(list.out + list.err));
            if (!repaired)
                repair(fs, fault);
        }
    }

    void checkpointFailsMidRun_data()
    {
        QTest::addColumn<Fault>("fault");
        QTest::addColumn<QString>("expected");
        QTest::newRow("disk full") << Fault::Full << "(No space left on device)";
        QTest::newRow("remounted read-only") << Fault::ReadOnly << "(Read-only file system)";
    }
    // The checkpoints folder is its own small file system; the store stays healthy and
    // records the failure.
    void checkpointFailsMidRun()
    {
        QFETCH(Fault, fault);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const QString folder = dir.filePath("checkpoints");
        Tmpfs fs(folder, "1m");
        QVERIFY2(fs.mounted(), fs.error().c_str());
        QProcess p;
        const QString id = startRecordedRun(p, db, longRun(500, 200000));
        QVERIFY(!id.isEmpty());
        const std::string checkpoints =
            "SELECT count(*) FROM artifacts a JOIN runs r ON r.seq = a.run WHERE a.kind = 'checkpoint' AND r.id = "
            + quoted(id);
        QVERIFY2(waitForStore(p, db, checkpoints, 2) >= 2, "no checkpoint recorded");
        inject(fs, fault);

        QCOMPARE(finish(p), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        const QString path = folder + "/" + id + ".pt";
        QVERIFY2(err.contains(path + ": cannot write the checkpoint " + expected), qPrintable(err));
        QCOMPARE(integrity(db), std::string("ok"));
        QCOMPARE(storeText(db, "SELECT status FROM runs WHERE id = " + quoted(id)), std::string("failed"));
        QVERIFY(QString::fromStdString(storeText(db, "SELECT message FROM runs WHERE id = " + quoted(id))).contains(expected));
        QCOMPARE(leftoverTemps(folder), QStringList());
        // The previous checkpoint is the last one recorded, byte for byte.
        const auto file = nnlab::hashFile(path.toStdString());
        QVERIFY2(file.ok(), file.error.message.c_str());
        const std::string recorded = storeText(db, "SELECT a.hash FROM artifacts a JOIN runs r ON r.seq = a.run WHERE "
                                                   "a.kind = 'checkpoint' AND r.id = " + quoted(id) + " ORDER BY a.id DESC");
        QCOMPARE(file.value.hash, recorded);

        repair(fs, fault);
        const Result resumed = cli({"runs", "resume", id, "--quiet", "--db", db});
        QVERIFY2(resumed.status == 0, qPrintable(resumed.err));
        QVERIFY2(resumed.out.contains(finishedLine(db, id)), qPrintable(resumed.out));
        QCOMPARE(integrity(db), std::string("ok"));
    }
};

int main(int argc, char** argv)
{
    if (const int skip = skipUnlessCanMount())
        return skip;
    TestFaultsTmpfs test;
    return QTest::qExec(&test, argc, argv);
}

#include "test_faults_tmpfs.moc"
