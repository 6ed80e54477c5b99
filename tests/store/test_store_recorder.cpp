// The recorder: commits reach other connections within a second, runs of dead processes
// read as interrupted, resumed runs continue as the same run, concurrent writers wait.
#include "store_test_util.h"

#include "nnlab/run_recorder.h"

#include <QElapsedTimer>
#include <QTemporaryDir>

#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace nnlab;
using namespace storetest;

namespace {

std::string hostName()
{
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

// The pid of a process that existed and is gone now.
int64_t deadPid()
{
    const pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, nullptr, 0);
    return child;
}

// This process's owner token as the store writes it: "<boot id>/<start ticks>".
std::string ownTokenWithStart(const std::string& start)
{
    std::string boot;
    std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
    return boot + "/" + start;
}

void insertRunning(Sql& sql, const std::string& id, const std::string& host, int64_t pid,
                   const std::string& owner)
{
    QVERIFY(sql.exec("INSERT INTO runs(id, name, status, created_at, updated_at, last_step, "
                     "experiment, experiment_hash, host, pid, owner) VALUES('" + id + "', '" + id
                     + "', 'running', 1.7e9, 1.7e9 + 42, 17, '{}', '', '" + host + "', "
                     + std::to_string(pid) + ", '" + owner + "')"));
}

} // namespace

class TestStoreRecorder : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    int m_counter = 0;

    std::string newPath()
    {
        return (m_dir.path() + "/runs" + QString::number(++m_counter) + ".db").toStdString();
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // Without any flush() call, a point shows in another connection within ~1 s.
    void commitsWithinASecond()
    {
        const std::string path = newPath();
        auto recorder = RunRecorder::open(path);
        QVERIFY(recorder.ok());
        const std::string id = recorder.value->begin(spec("live"), experimentJson("live", 0.1)).value;
        auto reader = RunStore::open(path, {true, 1000});
        QVERIFY2(reader.ok(), reader.error.message.c_str());
        for (int round = 0; round < 3; ++round) {
            QElapsedTimer timer;
            timer.start();
            recorder.value->addMetrics(points("train/loss", round, 1));
            size_t seen = 0;
            while (timer.elapsed() < 3000) {
                const auto series = reader.value->series(id, "train/loss");
                seen = series.ok() ? series.value.size() : 0;
                if (seen == static_cast<size_t>(round + 1))
                    break;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            QCOMPARE(seen, static_cast<size_t>(round + 1));
            QVERIFY2(timer.elapsed() < 1500, qPrintable(QString::number(timer.elapsed())));
        }
        QCOMPARE(reader.value->getRun(id).value.status, RunStatus::Running);
        QVERIFY(recorder.value->lastError().ok());
    }

    void interruptedDetection()
    {
        const std::string path = newPath();
        QVERIFY(RunStore::open(path).ok());
        std::string start;
        {
            std::ifstream stat("/proc/self/stat");
            std::string line;
            std::getline(stat, line);
            std::istringstream fields(line.substr(line.rfind(')') + 1));
            for (int index = 3; fields >> start && index < 22; ++index) {
            }
        }
        {
            Sql sql(path);
            insertRunning(sql, "dead", hostName(), deadPid(), "");
            insertRunning(sql, "alive", hostName(), getpid(), ownTokenWithStart(start));
            insertRunning(sql, "reused", hostName(), getpid(), ownTokenWithStart("1"));
            insertRunning(sql, "rebooted", hostName(), getpid(), "another-boot/" + start);
            insertRunning(sql, "elsewhere", "some-other-host", 1, "");
        }
        auto status = [](RunStore& store, const std::string& id) {
            return store.getRun(id).value.status;
        };
        {
            // Read-only: reported interrupted, the file left as it is.
            auto store = RunStore::open(path, {true, 1000});
            QVERIFY(store.ok());
            QCOMPARE(status(*store.value, "dead"), RunStatus::Interrupted);
            QCOMPARE(store.value->getRun("dead").value.endedAt, 1.7e9 + 42);
            RunFilter filter;
            filter.status = RunStatus::Interrupted;
            QCOMPARE(store.value->listRuns(filter).value.size(), size_t(3));
            Sql sql(path);
            QCOMPARE(sql.scalar("SELECT status FROM runs WHERE id = 'dead'"), std::string("running"));
        }
        auto store = RunStore::open(path);
        QVERIFY(store.ok());
        QCOMPARE(status(*store.value, "dead"), RunStatus::Interrupted);
        QCOMPARE(status(*store.value, "alive"), RunStatus::Running);
        QCOMPARE(status(*store.value, "reused"), RunStatus::Interrupted);
        QCOMPARE(status(*store.value, "rebooted"), RunStatus::Interrupted);
        QCOMPARE(status(*store.value, "elsewhere"), RunStatus::Running);
        const auto dead = store.value->getRun("dead");
        QCOMPARE(dead.value.endedAt, 1.7e9 + 42);   // the last heartbeat, not the time of the check
        QVERIFY(dead.value.message.find("ended without finishing") != std::string::npos);
        const auto events = store.value->events("dead");
        QCOMPARE(events.value.size(), size_t(1));
        QCOMPARE(events.value[0].kind, EventKind::Interrupted);
        QCOMPARE(events.value[0].step, int64_t(17));
        Sql sql(path);
        QCOMPARE(sql.scalar("SELECT status FROM runs WHERE id = 'dead'"), std::string("interrupted"));
        QCOMPARE(sql.scalar("SELECT status FROM runs WHERE id = 'alive'"), std::string("running"));
    }

    void closingUnfinishedMarksInterrupted()
    {
        const std::string path = newPath();
        std::string id;
        {
            auto recorder = RunRecorder::open(path);
            id = recorder.value->begin(spec("dropped"), experimentJson("dropped", 0.1)).value;
            recorder.value->addMetrics(points("train/loss", 0, 10));
        }
        auto store = RunStore::open(path);
        const auto run = store.value->getRun(id);
        QCOMPARE(run.value.status, RunStatus::Interrupted);
        QCOMPARE(run.value.metrics.at("train/loss").count, int64_t(10));
        QVERIFY(run.value.endedAt > 0);
    }

    void finishStatuses_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<int>("expected");
        QTest::newRow("finished") << static_cast<int>(TrainStatus::Finished)
                                  << static_cast<int>(RunStatus::Finished);
        QTest::newRow("failed") << static_cast<int>(TrainStatus::Failed)
                                << static_cast<int>(RunStatus::Failed);
        QTest::newRow("cancelled") << static_cast<int>(TrainStatus::Cancelled)
                                   << static_cast<int>(RunStatus::Cancelled);
    }
    void finishStatuses()
    {
        QFETCH(int, status);
        QFETCH(int, expected);
        const std::string path = newPath();
        const std::string id = logRun(path, "run", 10, static_cast<TrainStatus>(status));
        auto store = RunStore::open(path);
        const auto run = store.value->getRun(id);
        QCOMPARE(static_cast<int>(run.value.status), expected);
        QCOMPARE(run.value.message,
                 std::string(status == static_cast<int>(TrainStatus::Failed) ? "loss is NaN" : ""));
    }

    void misuse()
    {
        const std::string path = newPath();
        auto recorder = RunRecorder::open(path);
        TrainResult result;
        QCOMPARE(recorder.value->finish(result).code, StoreErrorCode::WrongState);
        recorder.value->addMetrics(points("train/loss", 0, 5));   // ignored before begin
        QVERIFY(recorder.value->begin(spec("one"), "{}").ok());
        QCOMPARE(recorder.value->begin(spec("two"), "{}").error.code, StoreErrorCode::WrongState);
        QCOMPARE(recorder.value->resume("x").error.code, StoreErrorCode::WrongState);
        QVERIFY(recorder.value->flush().ok());
        QCOMPARE(recorder.value->committedStep(), int64_t(-1));
        QCOMPARE(RunRecorder::open(path, {0.0, 100}).error.code, StoreErrorCode::InvalidArgument);
    }

    void resumeContinuesTheRun()
    {
        const std::string path = newPath();
        const std::string checkpoint = (m_dir.path() + "/resume.pt").toStdString();
        writeBytes(checkpoint, "weights at step 150");
        std::string id;
        {
            auto recorder = RunRecorder::open(path);
            id = recorder.value->begin(spec("long"), experimentJson("long", 0.1)).value;
            recorder.value->addMetrics(points("train/loss", 0, 150));
            QVERIFY(recorder.value->addArtifact(checkpoint, "checkpoint").ok());
            recorder.value->addMetrics(points("train/loss", 150, 50));   // logged after it
            QVERIFY(recorder.value->flush().ok());
        }   // closed unfinished: interrupted
        writeBytes(checkpoint, "weights at step 190");   // a later checkpoint it never recorded
        {
            auto recorder = RunRecorder::open(path);
            const auto point = recorder.value->resume(id.substr(0, 24));
            QVERIFY2(point.ok(), point.error.message.c_str());
            QCOMPARE(point.value.runId, id);
            QCOMPARE(point.value.checkpointPath, checkpoint);
            QCOMPARE(point.value.checkpointStep, int64_t(149));
            QVERIFY(point.value.checkpointChanged);
            QCOMPARE(point.value.experimentJson, experimentJson("long", 0.1));
            QCOMPARE(recorder.value->runId(), id);
            {
                auto store = RunStore::open(path);
                QCOMPARE(store.value->getRun(id).value.status, RunStatus::Running);
                auto other = RunRecorder::open(path);
                const auto twice = other.value->resume(id);
                QCOMPARE(twice.error.code, StoreErrorCode::WrongState);
                QVERIFY(twice.error.message.find("still running") != std::string::npos);
            }
            recorder.value->addMetrics(points("train/loss", 190, 60, 2.0));
            TrainResult result;
            result.status = TrainStatus::Finished;
            result.steps = 250;
            QVERIFY(recorder.value->finish(result).ok());
        }
        auto store = RunStore::open(path);
        const auto run = store.value->getRun(id);
        QCOMPARE(run.value.status, RunStatus::Finished);
        QCOMPARE(run.value.metrics.at("train/loss").count, int64_t(250));
        const auto series = store.value->series(id, "train/loss");
        QCOMPARE(series.value[189].value, points("train/loss", 189, 1)[0].value);
        QCOMPARE(series.value[190].value, points("train/loss", 190, 1, 2.0)[0].value);
        std::vector<EventKind> kinds;
        for (const RunEvent& event : store.value->events(id).value)
            kinds.push_back(event.kind);
        QCOMPARE(kinds, (std::vector<EventKind>{EventKind::Interrupted, EventKind::Resumed}));

        auto recorder = RunRecorder::open(path);
        const auto finished = recorder.value->resume(id);
        QCOMPARE(finished.error.code, StoreErrorCode::WrongState);
        QVERIFY(finished.error.message.find("already finished") != std::string::npos);
    }

    void resumeNeedsACheckpoint()
    {
        const std::string path = newPath();
        const std::string checkpoint = (m_dir.path() + "/gone.pt").toStdString();
        std::string withCheckpoint;
        std::string without;
        {
            writeBytes(checkpoint, "x");
            auto recorder = RunRecorder::open(path);
            withCheckpoint = recorder.value->begin(spec("a"), "{}").value;
            QVERIFY(recorder.value->addArtifact(checkpoint, "checkpoint").ok());
        }
        without = logRun(path, "b", 5, TrainStatus::Cancelled);
        std::remove(checkpoint.c_str());
        auto recorder = RunRecorder::open(path);
        const auto missing = recorder.value->resume(withCheckpoint);
        QCOMPARE(missing.error.code, StoreErrorCode::WrongState);
        QVERIFY2(missing.error.message.find("checkpoint is gone") != std::string::npos,
                 missing.error.message.c_str());
        const auto none = recorder.value->resume(without);
        QCOMPARE(none.error.code, StoreErrorCode::WrongState);
        QVERIFY(none.error.message.find("no checkpoint") != std::string::npos);
        QCOMPARE(recorder.value->resume("nope").error.code, StoreErrorCode::NoSuchRun);
    }

    // Two recorders in two threads on one file: each waits its turn, nothing is lost.
    void concurrentRecorders()
    {
        const std::string path = newPath();
        QVERIFY(RunStore::open(path).ok());
        std::string ids[2];
        auto work = [&](int index) {
            auto recorder = RunRecorder::open(path, {0.05, 5000});
            ids[index] = recorder.value->begin(spec("c" + std::to_string(index)), "{}").value;
            for (int64_t step = 0; step < 20000; step += 100) {
                recorder.value->addMetrics(points("train/loss", step, 100));
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
            TrainResult result;
            result.status = TrainStatus::Finished;
            recorder.value->finish(result);
        };
        std::thread a(work, 0);
        std::thread b(work, 1);
        a.join();
        b.join();
        auto store = RunStore::open(path);
        for (const std::string& id : ids) {
            const auto run = store.value->getRun(id);
            QVERIFY2(run.ok(), run.error.message.c_str());
            QCOMPARE(run.value.status, RunStatus::Finished);
            QCOMPARE(run.value.metrics.at("train/loss").count, int64_t(20000));
        }
    }
};

QTEST_APPLESS_MAIN(TestStoreRecorder)
#include "test_store_recorder.moc"
