// A run's inputs changing under it: the CSV removed and the experiment file edited mid-run
// (the run loaded both at its start and keeps them; the store records what it trained),
// and the CSV truncated or removed before a resume (refused, naming the file and line).
#include "fault_test_util.h"

#include <QTemporaryDir>

using namespace faults;

namespace {

// 3 features and a two-class label, deterministic.
QByteArray csvRows(int rows)
{
    QByteArray text = "a,b,c,label\n";
    uint32_t state = 12345;
    auto next = [&] {
        state = state * 1664525u + 1013904223u;
        return static_cast<double>(state >> 8) / static_cast<double>(1u << 24) * 2.0 - 1.0;
    };
    for (int i = 0; i < rows; ++i) {
        const double a = next(), b = next(), c = next();
        text += QByteArray::number(a, 'f', 5) + "," + QByteArray::number(b, 'f', 5) + ","
                + QByteArray::number(c, 'f', 5) + (a + b * c > 0 ? ",pos\n" : ",neg\n");
    }
    return text;
}

QString experimentJson(const QString& name, const QString& csv, double lr, int epochs)
{
    return QString(R"({"format": "nnlab.experiment/1", "name": "%1", "seed": 3,
  "data": {"source": "csv", "path": "%2"},
  "model": {"input": [3], "layers": [{"type": "linear", "out_features": 16}, {"type": "relu"},
                                     {"type": "linear", "out_features": 2}]},
  "optimizer": {"type": "adam", "lr": %3},
  "training": {"epochs": %4, "batch_size": 4, "threads": 1, "checkpoint_every_steps": 500}}
)")
        .arg(name, csv)
        .arg(lr)
        .arg(epochs);
}

void writeAll(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(bytes), bytes.size());
}

} // namespace

class TestFaultsData : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_db, m_csv, m_experiment;

    // Starts the experiment file's run and waits until it has recorded a checkpoint.
    QString startAndWait(QProcess& p)
    {
        const QString id = startRecordedRun(p, m_db, {m_experiment, "--quiet"});
        if (id.isEmpty())
            return {};
        const std::string checkpoints = "SELECT count(*) FROM artifacts a JOIN runs r ON r.seq = a.run WHERE "
                                        "a.kind = 'checkpoint' AND r.id = " + quoted(id);
        return waitForStore(p, m_db, checkpoints, 1) >= 1 ? id : QString();
    }

private slots:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db");
        m_csv = m_dir.filePath("data.csv");
        m_experiment = m_dir.filePath("experiment.json");
        writeAll(m_csv, csvRows(40000));
        writeAll(m_experiment, experimentJson("csv-fault", m_csv, 0.01, 4).toUtf8());
    }

    void dataRemovedAndExperimentEditedMidRun()
    {
        QProcess p;
        const QString id = startAndWait(p);
        QVERIFY2(!id.isEmpty(), "no checkpoint recorded");
        QVERIFY(p.state() == QProcess::Running);
        QVERIFY(QFile::remove(m_csv));
        writeAll(m_experiment, experimentJson("edited", m_dir.filePath("other.csv"), 0.5, 1).toUtf8());

        QCOMPARE(finish(p), 0);
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(out.contains("finished 36000 steps"), qPrintable(out));   // 4 epochs of 36000 / 4 rows
        const QString stored = QString::fromStdString(storeText(m_db, "SELECT experiment FROM runs WHERE id = " + quoted(id)));
        QVERIFY2(stored.contains("\"csv-fault\"") && stored.contains(m_csv) && stored.contains("\"lr\": 0.01")
                     && stored.contains("\"epochs\": 4"),
                 qPrintable(stored));
        QCOMPARE(storeText(m_db, "SELECT name || ' ' || status FROM runs WHERE id = " + quoted(id)),
                 std::string("csv-fault finished"));
    }

    void dataChangedBeforeResume_data()
    {
        QTest::addColumn<QString>("change");
        QTest::newRow("truncated mid-line") << "truncated";
        QTest::newRow("removed") << "removed";
    }
    void dataChangedBeforeResume()
    {
        QFETCH(QString, change);
        QProcess p;
        const QString id = startAndWait(p);
        QVERIFY2(!id.isEmpty(), "no checkpoint recorded");
        p.kill();
        p.waitForFinished();
        QString expected;
        if (change == "truncated") {
            // Cut as an interrupted copy would: in the middle of a line.
            QByteArray text = csvRows(40000);
            const int cut = text.indexOf('\n', text.size() / 2) + 4;
            const int line = text.left(cut).count('\n') + 1;
            text.truncate(cut);
            writeAll(m_csv, text);
            expected = m_csv + ":" + QString::number(line) + ": expected 4 columns";
        } else {
            QVERIFY(QFile::remove(m_csv));
            expected = m_csv;
        }

        const Result r = cli({"runs", "resume", id, "--quiet", "--db", m_db});
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.contains(expected), qPrintable(r.err));
        QCOMPARE(storeText(m_db, "SELECT status FROM runs WHERE id = " + quoted(id)), std::string("failed"));
        // With the data back as it was, the same run resumes to its end.
        writeAll(m_csv, csvRows(40000));
        const Result again = cli({"runs", "resume", id, "--quiet", "--db", m_db});
        QVERIFY2(again.status == 0 && again.out.contains("finished 36000 steps"), qPrintable(again.out + again.err));
        QCOMPARE(integrity(m_db), std::string("ok"));
    }
};

QTEST_GUILESS_MAIN(TestFaultsData)
#include "test_faults_data.moc"
