// `nnlab-cli sweep --slurm --wait` on a one-node Slurm (slurmctld + slurmd + munged on
// localhost, started here by tests/slurm/start_local_slurm.sh in a temporary folder): a 4-trial
// job array runs to completion, its store files are imported, and importing them again adds
// nothing.
#include "nnlab/store.h"
#include "nnlab/sweep.h"

#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <set>
#include <unistd.h>

using namespace nnlab;

namespace {

const QString kScript = QStringLiteral(NNLAB_SOURCE_DIR "/tests/slurm/start_local_slurm.sh");

struct Result {
    int status = -1;
    QString out;
    QString err;
};

Result run(const QString& program, const QStringList& args, const QProcessEnvironment& env, int timeoutMs)
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(program, args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

} // namespace

class TestSlurmSweep : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        const QStringList paths{"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
        QStringList missing;
        for (const char* tool : {"sbatch", "sinfo", "slurmctld", "slurmd", "munged"})
            if (QStandardPaths::findExecutable(tool).isEmpty()
                && QStandardPaths::findExecutable(tool, paths).isEmpty())
                missing << tool;
        if (!missing.isEmpty())
            QSKIP(qPrintable("Slurm is not installed (no " + missing.join(", ")
                             + "); Debian: apt-get install slurm-wlm munge"));
        if (geteuid() != 0)
            QSKIP("the local Slurm's slurmd and munged need root; run the test as root (CI does)");
        QVERIFY(m_dir.isValid());
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.insert("NNLAB_SLURM_DIR", m_dir.filePath("slurm"));
        // A port of its own, so a developer's cluster or a parallel run does not answer.
        m_env.insert("NNLAB_SLURM_PORT", QString::number(17000 + 2 * (getpid() % 1000)));
        const Result started = run("bash", {kScript, "start"}, m_env, 120000);
        m_started = true;
        QVERIFY2(started.status == 0, qPrintable(started.out + started.err));
        m_env.insert("SLURM_CONF", m_dir.filePath("slurm/slurm.conf"));
        m_env.insert("NNLAB_DB", m_dir.filePath("runs.db"));
    }

    void cleanupTestCase()
    {
        if (m_started)
            run("bash", {kScript, "stop"}, m_env, 60000);
    }

    void arrayRunsImportsAndReimportsNothing()
    {
        const QString db = m_dir.filePath("runs.db");
        const QString arrayDir = m_dir.filePath("array");
        const Result sweep
            = run(NNLAB_CLI,
                  {"sweep", NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json", "--set",
                   "optimizer.lr=0.003,0.01,0.03,0.1", "--set", "training.epochs=2", "--slurm", "--slurm-dir", arrayDir,
                   "--wait", "--db", db},
                  m_env, 480000);
        QVERIFY2(sweep.status == 0, qPrintable(sweep.out + sweep.err));
        const auto match = QRegularExpression("^sweep (\\S+): Slurm job", QRegularExpression::MultilineOption)
                               .match(sweep.out);
        QVERIFY2(match.hasMatch(), qPrintable(sweep.out));
        const std::string tag = sweepTag(match.captured(1).toStdString());

        auto countTrials = [&] {
            auto store = RunStore::open(db.toStdString(), StoreOptions{/*readOnly*/ true});
            if (!store.ok())
                qFatal("%s", store.error.message.c_str());
            const auto runs = store.value->listRuns();
            std::set<int64_t> trials;
            int finished = 0;
            for (const auto& run : runs.value) {
                if (std::find(run.tags.begin(), run.tags.end(), tag) == run.tags.end())
                    continue;
                finished += run.status == RunStatus::Finished;
                if (const auto note = parseSweepNote(run.notes))
                    trials.insert(note->trial);
            }
            return std::make_pair(finished, trials.size());
        };
        QCOMPARE(countTrials(), std::make_pair(4, size_t(4)));

        QStringList files;
        for (const QString& name : QDir(arrayDir).entryList({"trial-*.db"}, QDir::Files))
            files << QDir(arrayDir).filePath(name);
        QCOMPARE(files.size(), 4);
        const Result again = run(NNLAB_CLI, QStringList{"runs", "import"} + files + QStringList{"--db", db}, m_env, 60000);
        QVERIFY2(again.status == 0, qPrintable(again.out + again.err));
        QCOMPARE(again.out.count("Imported 0 runs"), 4);
        QCOMPARE(countTrials(), std::make_pair(4, size_t(4)));
    }

private:
    QTemporaryDir m_dir;
    QProcessEnvironment m_env;
    bool m_started = false;
};

QTEST_APPLESS_MAIN(TestSlurmSweep)
#include "test_slurm_sweep.moc"
