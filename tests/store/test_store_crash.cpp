// Crash safety with real processes: a child records a run at full speed and is killed with
// SIGKILL at several points, some of them mid-commit. Each time the store must reopen
// intact, show the run as interrupted and hold every point up to the child's last commit.
#include "store_test_util.h"

#include <QElapsedTimer>
#include <QTemporaryDir>

#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace nnlab;
using namespace storetest;

namespace {

// The helper process with its stdout on a pipe.
class Child {
public:
    explicit Child(const std::string& database)
    {
        int fds[2];
        if (pipe(fds) != 0)
            return;
        m_pid = fork();
        if (m_pid == 0) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
            execl(STORE_CRASH_HELPER, STORE_CRASH_HELPER, database.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        close(fds[1]);
        m_fd = fds[0];
    }
    ~Child()
    {
        if (m_pid > 0) {
            kill(m_pid, SIGKILL);
            waitpid(m_pid, nullptr, 0);
        }
        if (m_fd >= 0)
            close(m_fd);
    }

    bool started() const { return m_pid > 0 && m_fd >= 0; }

    // Reads what the child printed for up to `ms` milliseconds, or until `until` holds.
    template <typename Until>
    void read(int ms, Until until)
    {
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < ms && !until()) {
            pollfd fd{m_fd, POLLIN, 0};
            if (poll(&fd, 1, 10) <= 0)
                continue;
            char buffer[4096];
            const ssize_t got = ::read(m_fd, buffer, sizeof(buffer));
            if (got <= 0)
                break;
            m_pending.append(buffer, static_cast<size_t>(got));
            size_t newline;
            while ((newline = m_pending.find('\n')) != std::string::npos) {
                const std::string line = m_pending.substr(0, newline);
                m_pending.erase(0, newline + 1);
                if (line.rfind("run ", 0) == 0)
                    m_runId = line.substr(4);
                else if (line.rfind("committed ", 0) == 0)
                    m_committed = std::stoll(line.substr(10));
            }
        }
    }

    // SIGKILL, then everything it printed before dying.
    void kill9()
    {
        ::kill(m_pid, SIGKILL);
        int status = 0;
        waitpid(m_pid, &status, 0);
        m_pid = -1;
        read(200, [] { return false; });
        m_killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }

    const std::string& runId() const { return m_runId; }
    int64_t committed() const { return m_committed; }
    bool killed() const { return m_killed; }

private:
    pid_t m_pid = -1;
    int m_fd = -1;
    std::string m_pending;
    std::string m_runId;
    int64_t m_committed = -1;
    bool m_killed = false;
};

} // namespace

class TestStoreCrash : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void sigkillAtSeveralPoints_data()
    {
        QTest::addColumn<int>("afterMs");
        QTest::addColumn<int>("commits");   // commits seen before the kill
        QTest::newRow("right after begin") << 0 << 0;
        QTest::newRow("before the first commit") << 150 << 0;
        QTest::newRow("after one commit") << 0 << 1;
        QTest::newRow("mid-run 1") << 230 << 2;
        QTest::newRow("mid-run 2") << 370 << 3;
        QTest::newRow("later") << 110 << 5;
    }
    void sigkillAtSeveralPoints()
    {
        QFETCH(int, afterMs);
        QFETCH(int, commits);
        // One store for all rows: earlier killed runs must stay intact too.
        const std::string path = (m_dir.path() + "/runs.db").toStdString();
        std::string id;
        int64_t committed = -1;
        {
            Child child(path);
            QVERIFY(child.started());
            child.read(10000, [&] { return !child.runId().empty(); });
            QVERIFY(!child.runId().empty());
            int seen = 0;
            int64_t last = child.committed();
            child.read(20000, [&] {
                if (child.committed() != last) {
                    last = child.committed();
                    ++seen;
                }
                return seen >= commits;
            });
            QCOMPARE(seen, commits);
            child.read(afterMs, [] { return false; });
            child.kill9();
            QVERIFY(child.killed());
            id = child.runId();
            committed = child.committed();
        }

        auto store = RunStore::open(path);
        QVERIFY2(store.ok(), store.error.message.c_str());
        const auto run = store.value->getRun(id);
        QVERIFY2(run.ok(), run.error.message.c_str());
        QCOMPARE(run.value.status, RunStatus::Interrupted);
        for (const char* tag : {"train/loss", "train/accuracy", "lr"}) {
            const auto series = store.value->series(id, tag);
            if (committed < 0)
                continue;   // maybe nothing committed yet, maybe a little
            QVERIFY2(series.ok(), series.error.message.c_str());
            QVERIFY2(static_cast<int64_t>(series.value.size()) >= committed + 1,
                     qPrintable(QString("%1: %2 points, committed step %3")
                                    .arg(tag).arg(series.value.size()).arg(committed)));
            for (size_t i = 0; i < series.value.size(); ++i) {
                if (series.value[i].step != static_cast<int64_t>(i))
                    QFAIL(qPrintable(QString("%1: step %2 at index %3").arg(tag).arg(series.value[i].step).arg(i)));
            }
            QCOMPARE(run.value.metrics.at(tag).count, static_cast<int64_t>(series.value.size()));
        }
        const auto all = store.value->listRuns();
        for (const RunSummary& other : all.value)
            QCOMPARE(other.status, RunStatus::Interrupted);
        store.value.reset();
        Sql sql(path);
        QCOMPARE(sql.scalar("PRAGMA integrity_check"), std::string("ok"));
        QCOMPARE(sql.scalar("PRAGMA foreign_key_check"), std::string());
        qInfo("run %s: killed %d ms after commit %d, committed step %lld", id.c_str(), afterMs,
              commits, static_cast<long long>(committed));
    }
};

QTEST_APPLESS_MAIN(TestStoreCrash)
#include "test_store_crash.moc"
