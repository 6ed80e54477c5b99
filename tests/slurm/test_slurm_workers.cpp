// Data-parallel training under Slurm: `srun -n 2 nnlab-cli train fashion-cnn.json` on a one-node
// Slurm (started here by tests/slurm/start_local_slurm.sh in a temporary folder). The two tasks
// find each other through the step's environment (SLURM_PROCID, SLURM_NTASKS, the first host of
// SLURM_STEP_NODELIST), rank 0 records the one run, which finishes, shows "x 2 workers", has the
// second worker's throughput and reaches the accuracy of one process training the same settings.
#include "nnlab/store.h"

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace nnlab;

namespace {

const QString kScript = QStringLiteral(NNLAB_SOURCE_DIR "/tests/slurm/start_local_slurm.sh");
const QString kExperiment = QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
// Small enough for a test (86 steps of the default CNN), one thread a task on a 2-core node.
const QStringList kSettings{"--set", "data.train_limit=3000", "--set", "training.threads=1"};

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

// A loopback port free now, for rank 0's TCPStore: the port derived from the job id (29500 +
// id % 10000) is the same in every fresh test cluster, so parallel runs of this test would meet.
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        ::close(fd);
    return port;
}

std::vector<RunSummary> runsIn(const QString& db)
{
    auto store = RunStore::open(db.toStdString(), StoreOptions{/*readOnly*/ true});
    if (!store.ok())
        qFatal("%s: %s", qPrintable(db), store.error.message.c_str());
    return store.value->listRuns().value;
}

double finalValue(const RunSummary& run, const std::string& tag)
{
    const auto it = run.metrics.find(tag);
    return it == run.metrics.end() ? std::numeric_limits<double>::quiet_NaN() : it->second.finalValue;
}

} // namespace

class TestSlurmWorkers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        const QStringList paths{"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
        QStringList missing;
        for (const char* tool : {"srun", "sinfo", "slurmctld", "slurmd", "munged"})
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
        // A test started inside a Slurm job or a data-parallel worker must not pass that on.
        for (const QString& key : m_env.keys())
            if (key.startsWith("SLURM_") || key.startsWith("NNLAB_RANK") || key.startsWith("NNLAB_WORLD_SIZE")
                || key.startsWith("NNLAB_MASTER_"))
                m_env.remove(key);
        m_env.insert("NNLAB_SLURM_DIR", m_dir.filePath("slurm"));
        // Ports of its own, so a developer's cluster or a parallel run does not answer.
        m_env.insert("NNLAB_SLURM_PORT", QString::number(19000 + 2 * (getpid() % 1000)));
        const Result started = run("bash", {kScript, "start"}, m_env, 120000);
        m_started = true;
        QVERIFY2(started.status == 0, qPrintable(started.out + started.err));
        m_env.insert("SLURM_CONF", m_dir.filePath("slurm/slurm.conf"));
    }

    void cleanupTestCase()
    {
        if (m_started)
            run("bash", {kScript, "stop"}, m_env, 60000);
    }

    void twoTaskStepTrainsOneRecordedRun()
    {
        const QString db = m_dir.filePath("slurm.db");
        QProcessEnvironment env = m_env;
        const int port = freePort();
        QVERIFY(port > 0);
        env.insert("NNLAB_MASTER_PORT", QString::number(port));
        // --overcommit: two tasks also on a one-CPU node (slurmd -C reports what the host has).
        const Result step = run("srun", QStringList{"-n", "2", "--overcommit", "--kill-on-bad-exit=1", NNLAB_CLI,
                                                    "train", kExperiment, "--db", db} + kSettings,
                                env, 480000);
        QVERIFY2(step.status == 0, qPrintable(step.out + step.err));

        const auto runs = runsIn(db);
        QCOMPARE(int(runs.size()), 1);
        const RunSummary& slurm = runs.front();
        QCOMPARE(int(slurm.status), int(RunStatus::Finished));
        QVERIFY2(slurm.metrics.count("workers/1/samples_per_sec"), "no throughput of worker 1");
        QVERIFY(finalValue(slurm, "workers/1/samples_per_sec") > 0);
        QVERIFY(slurm.metrics.count("workers/allreduce_time"));

        const Result show = run(NNLAB_CLI, {"runs", "show", QString::fromStdString(slurm.id), "--db", db}, env, 60000);
        QVERIFY2(show.status == 0, qPrintable(show.out + show.err));
        QVERIFY2(show.out.contains("x 2 workers"), qPrintable(show.out));
        QVERIFY2(show.out.contains("workers/1/samples_per_sec"), qPrintable(show.out));

        // One process with the same settings, outside Slurm. BatchNorm normalizes over each
        // worker's half of a batch (as PyTorch's DDP does), so the curves differ a little.
        const QString single = m_dir.filePath("single.db");
        const Result one = run(NNLAB_CLI, QStringList{"train", kExperiment, "--quiet", "--db", single} + kSettings,
                               m_env, 480000);
        QVERIFY2(one.status == 0, qPrintable(one.out + one.err));
        const double two = finalValue(slurm, "val/accuracy");
        const auto singleRuns = runsIn(single);
        QCOMPARE(int(singleRuns.size()), 1);
        const double reference = finalValue(singleRuns.front(), "val/accuracy");
        qInfo("val/accuracy: srun -n 2 %.4f, one process %.4f", two, reference);
        QVERIFY2(reference > 0.5, "the one-process reference did not learn");
        QVERIFY2(std::abs(two - reference) <= 0.03,
                 qPrintable(QString("2 workers %1 vs 1 worker %2").arg(two).arg(reference)));
    }

private:
    QTemporaryDir m_dir;
    QProcessEnvironment m_env;
    bool m_started = false;
};

QTEST_APPLESS_MAIN(TestSlurmWorkers)
#include "test_slurm_workers.moc"
