// Checkpoint writes that fail mid-run (the folder replaced by a file, the temporary file
// pointing at /dev/full) and checkpoints damaged on disk (truncated, garbled, not one at
// all): a failed write fails the run with the reason and leaves the previous checkpoint and
// no temporary file; a damaged checkpoint is never loaded, and `runs resume` says why.
#include "fault_test_util.h"

#include <QTemporaryDir>

#include <sys/stat.h>

using namespace faults;

namespace {

std::string checkpointsOf(const QString& id)
{
    return "SELECT count(*) FROM artifacts a JOIN runs r ON r.seq = a.run WHERE a.kind = 'checkpoint' AND r.id = "
           + quoted(id);
}

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeAll(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(bytes), bytes.size());
}

} // namespace

class TestFaultsCheckpoint : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_db;
    QString m_id;           // an interrupted run with a checkpoint (tornCheckpoint)
    QByteArray m_good;      // its checkpoint as written

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db");
    }

    // The checkpoints folder moved away and a file put in its place mid-run.
    void folderReplacedByAFile()
    {
        QProcess p;
        const QString id = startRecordedRun(p, m_db, longRun(500, 200000));
        QVERIFY(!id.isEmpty());
        QVERIFY2(waitForStore(p, m_db, checkpointsOf(id), 2) >= 2, "no checkpoint recorded");
        const QString folder = m_dir.filePath("checkpoints");
        QVERIFY(QDir().rename(folder, folder + ".away"));
        writeAll(folder, "not a folder");

        QCOMPARE(finish(p), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        const QString path = folder + "/" + id + ".pt";
        QVERIFY2(err.contains(path + ": cannot write the checkpoint (Not a directory)"), qPrintable(err));
        QCOMPARE(storeText(m_db, "SELECT status FROM runs WHERE id = " + quoted(id)), std::string("failed"));
        QVERIFY(QFile::remove(folder));
        QVERIFY(QDir().rename(folder + ".away", folder));
        QCOMPARE(leftoverTemps(folder), QStringList());
        // What the store recorded last is what is on disk, and it resumes.
        QCOMPARE(nnlab::hashFile(path.toStdString()).value.hash,
                 storeText(m_db, "SELECT a.hash FROM artifacts a JOIN runs r ON r.seq = a.run WHERE a.kind = "
                                 "'checkpoint' AND r.id = " + quoted(id) + " ORDER BY a.id DESC"));
        const Result resumed = cli({"runs", "resume", id, "--quiet", "--db", m_db});
        QVERIFY2(resumed.status == 0 && resumed.out.contains(finishedLine(m_db, id)), qPrintable(resumed.out + resumed.err));
        QCOMPARE(integrity(m_db), std::string("ok"));
    }

    // The temporary file is a link to /dev/full (always "no space"): the first checkpoint
    // fails, the link is removed and /dev/full itself is left alone.
    void temporaryFileOnDevFull()
    {
        QProcess p;
        const QString id = startRecordedRun(p, m_db, longRun(5000, 200000));
        QVERIFY(!id.isEmpty());
        const QString folder = m_dir.filePath("checkpoints");
        QDir().mkpath(folder);
        const QString temp = folder + "/" + id + ".pt.tmp";
        QVERIFY(QFile::link("/dev/full", temp));
        QVERIFY2(storeNumber(m_db, "SELECT last_step FROM runs WHERE id = " + quoted(id)) < 5000, "too late");

        QCOMPARE(finish(p), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(folder + "/" + id + ".pt: cannot write the checkpoint (No space left on device)"),
                 qPrintable(err));
        QVERIFY(!QFileInfo(temp).isSymLink() && !QFile::exists(temp));
        struct stat info {};
        QVERIFY(::stat("/dev/full", &info) == 0 && S_ISCHR(info.st_mode));
        QVERIFY(!QFile::exists(folder + "/" + id + ".pt"));
        const Result resumed = cli({"runs", "resume", id, "--db", m_db});
        QCOMPARE(resumed.status, 1);
        QVERIFY2(resumed.err.contains("run " + id + " has no checkpoint to resume from"), qPrintable(resumed.err));
    }

    void tornCheckpoint_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("cut in half") << "half" << "damaged checkpoint (no zip directory: cut short, or not a checkpoint); it is not loaded";
        QTest::newRow("empty") << "empty" << "not a readable nnlab checkpoint (missing or corrupt)";
        QTest::newRow("weights garbled") << "weights" << "damaged checkpoint (entry archive/data/";
        QTest::newRow("directory garbled") << "directory" << "damaged checkpoint (";
        QTest::newRow("another file") << "text" << "damaged checkpoint (no zip directory: cut short, or not a checkpoint); it is not loaded";
    }
    // An interrupted run's checkpoint damaged on disk: never loaded, the run stays resumable.
    void tornCheckpoint()
    {
        QFETCH(QString, damage);
        QFETCH(QString, expected);
        if (m_id.isEmpty()) {
            QProcess p;
            m_id = startRecordedRun(p, m_db, longRun(500, 200000));
            QVERIFY(!m_id.isEmpty());
            QVERIFY2(waitForStore(p, m_db, checkpointsOf(m_id), 2) >= 2, "no checkpoint recorded");
            p.kill();
            p.waitForFinished();
            m_good = readAll(m_dir.filePath("checkpoints/" + m_id + ".pt"));
            QVERIFY(m_good.size() > 1000);
        }
        const QString path = m_dir.filePath("checkpoints/" + m_id + ".pt");
        QByteArray bad = m_good;
        if (damage == "half")
            bad.truncate(bad.size() / 2);
        else if (damage == "empty")
            bad.clear();
        else if (damage == "weights")   // inside the first layer's weights, the biggest entry
            bad.replace(bad.size() / 3, 8, "GARBAGE!");
        else if (damage == "directory")
            bad.replace(bad.size() - 200, 8, "GARBAGE!");
        else
            bad = "{\"name\": \"a JSON file saved over the checkpoint\"}\n";
        writeAll(path, bad);

        const Result r = cli({"runs", "resume", m_id, "--quiet", "--db", m_db});
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.contains(path + ": " + expected), qPrintable(r.err));
        if (damage == "weights")
            QVERIFY2(r.err.contains("fails its checksum); it is not loaded"), qPrintable(r.err));
        QVERIFY(!r.out.contains("finished"));
        QCOMPARE(storeText(m_db, "SELECT status FROM runs WHERE id = " + quoted(m_id)), std::string("failed"));
        QCOMPARE(readAll(path), bad);   // a failed resume writes no checkpoint over it
    }

    // Put back as written, the same checkpoint resumes the run to its end.
    void intactCheckpointResumes()
    {
        QVERIFY(!m_id.isEmpty());
        writeAll(m_dir.filePath("checkpoints/" + m_id + ".pt"), m_good);
        const Result r = cli({"runs", "resume", m_id, "--quiet", "--db", m_db});
        QVERIFY2(r.status == 0 && r.out.contains(finishedLine(m_db, m_id)), qPrintable(r.out + r.err));
        QCOMPARE(integrity(m_db), std::string("ok"));
    }

    // Killed after writing its first checkpoint and before committing the record of it (the
    // kill soak hits this): the file beside the store is the run's, and it resumes from it.
    void unrecordedFirstCheckpointResumes()
    {
        QProcess p;
        const QString id = startRecordedRun(p, m_db, longRun(500, 200000));
        QVERIFY(!id.isEmpty());
        QVERIFY2(waitForStore(p, m_db, checkpointsOf(id), 1) >= 1, "no checkpoint recorded");
        p.kill();
        p.waitForFinished();
        {
            storetest::Sql store(m_db.toStdString());
            QVERIFY(store.exec("DELETE FROM artifacts WHERE run = (SELECT seq FROM runs WHERE id = " + quoted(id) + ")"));
        }
        const Result r = cli({"runs", "resume", id, "--quiet", "--db", m_db});
        QVERIFY2(r.status == 0 && r.out.contains(finishedLine(m_db, id)), qPrintable(r.out + r.err));
    }
};

QTEST_GUILESS_MAIN(TestFaultsCheckpoint)
#include "test_faults_checkpoint.moc"
