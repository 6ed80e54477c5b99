// RunRecorder: the trainer-facing API, the queue and the writer thread.
#include "recorder_impl.h"

#include "owner.h"
#include "schema.h"
#include "store_impl.h"

#include "nnlab/store_hash.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

namespace nnlab {

using namespace store;

namespace {

// Enough points to wake the writer before its interval ends, so memory stays bounded
// under a fast logger.
constexpr size_t kEarlyFlushPoints = 200000;
// Seconds between commits of an idle run: the heartbeat that dates an interruption.
constexpr double kHeartbeatInterval = 10.0;

// Hash of the canonical form (keys sorted, no spaces), so formatting does not change it.
std::string experimentHash(const std::string& json)
{
    const auto parsed = nlohmann::json::parse(json, nullptr, false);
    return hashText(parsed.is_discarded() ? json : parsed.dump());
}

StoreError wrongState(const Connection& db, const std::string& message)
{
    return makeError(StoreErrorCode::WrongState, db.path(), message);
}

} // namespace

template <typename Fill>
void RunRecorder::Impl::enqueue(Fill fill)
{
    {
        std::lock_guard<std::mutex> lock(queueMutex);
        if (!begun || finishQueued)
            return;
        fill(pending);
        pending.sequence = ++enqueued;
        if (pending.points.size() < kEarlyFlushPoints)
            return;
    }
    wake.notify_one();
}

void RunRecorder::Impl::startWriter()
{
    {
        std::lock_guard<std::mutex> lock(queueMutex);
        begun = true;
    }
    writer = std::thread([this] { writerLoop(); });
}

void RunRecorder::Impl::writerLoop()
{
    const auto interval = std::chrono::duration<double>(options.flushInterval);
    std::unique_lock<std::mutex> lock(queueMutex);
    for (;;) {
        wake.wait_for(lock, interval, [this] {
            return stop || flushRequested || pending.points.size() >= kEarlyFlushPoints;
        });
        const bool stopping = stop;
        flushRequested = false;
        Batch batch = std::move(pending);
        pending = Batch();
        lock.unlock();

        StoreError error;
        if (!batch.empty() || now() - lastCommitTime >= kHeartbeatInterval)
            error = commit(batch);

        lock.lock();
        attempted = std::max(attempted, batch.sequence);
        if (error.ok()) {
            committed = std::max(committed, batch.sequence);
        } else {
            // Keep the data for the next try (a lock held elsewhere, a full disk freed later).
            batch.append(std::move(pending));
            pending = std::move(batch);
        }
        lastError = error;
        committedCv.notify_all();
        if (stopping)
            return;
    }
}

StoreError RunRecorder::Impl::waitForCommit()
{
    std::unique_lock<std::mutex> lock(queueMutex);
    if (!writer.joinable())
        return lastError;
    const uint64_t target = enqueued;
    flushRequested = true;
    wake.notify_one();
    committedCv.wait(lock, [&] { return committed >= target || attempted >= target; });
    return committed >= target ? StoreError() : lastError;
}

RunRecorder::RunRecorder(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

RunRecorder::~RunRecorder()
{
    Impl& impl = *m_impl;
    bool unfinished = false;
    {
        std::lock_guard<std::mutex> lock(impl.queueMutex);
        unfinished = impl.begun && !impl.finishQueued;
    }
    if (unfinished) {
        const double time = now();
        const int64_t step = impl.lastStep.load();
        impl.enqueue([&](Batch& batch) {
            const std::string message = "the recorder closed before the run finished";
            batch.events.push_back({0, time, step, EventKind::Interrupted, message});
            batch.finish = Batch::Finish{RunStatus::Interrupted, message, {}, 0, time};
        });
    }
    {
        std::lock_guard<std::mutex> lock(impl.queueMutex);
        impl.stop = true;
    }
    impl.wake.notify_one();
    if (impl.writer.joinable())
        impl.writer.join();
}

StoreResult<std::unique_ptr<RunRecorder>> RunRecorder::open(const std::string& path,
                                                            const RecorderOptions& options)
{
    StoreResult<std::unique_ptr<RunRecorder>> result;
    if (!(options.flushInterval > 0.0)) {
        result.error = makeError(StoreErrorCode::InvalidArgument, path,
                                 "flush interval must be > 0 s");
        return result;
    }
    auto connection = openConnection(path, false, options.busyTimeoutMs);
    if (!connection.ok()) {
        result.error = connection.error;
        return result;
    }
    auto impl = std::make_unique<Impl>();
    impl->db = std::move(connection.value);
    impl->options = options;
    result.value.reset(new RunRecorder(std::move(impl)));
    return result;
}

StoreResult<std::string> RunRecorder::begin(const ExperimentSpec& spec,
                                            const std::string& experimentJson,
                                            const RunStartInfo& info)
{
    Impl& impl = *m_impl;
    std::lock_guard<std::mutex> lock(impl.dbMutex);
    Connection& db = *impl.db;
    StoreResult<std::string> result;
    if (!impl.runId.empty()) {
        result.error = wrongState(db, "this recorder already records run " + impl.runId);
        return result;
    }
    const double time = now();
    const ProcessIdentity& self = currentProcess();
    const std::string hash = experimentHash(experimentJson);
    Transaction transaction(db);
    int rc = transaction.begin();
    std::string id;
    // A clash of 48 random bits within one second is next to impossible; retry anyway.
    for (int attempt = 0; attempt < 3 && rc == SQLITE_OK; ++attempt) {
        id = newRunId(time);
        auto insert = db.query(
            "INSERT OR IGNORE INTO runs(id, name, status, created_at, updated_at, experiment, "
            "experiment_hash, seed, dataset, parameters, device, threads, torch_version, "
            "nnlab_version, host, pid, owner, notes, parent_id) "
            "VALUES(?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        insert->bind(1, id).bind(2, info.name.empty() ? spec.name : info.name).bind(3, time)
            .bind(4, time).bind(5, experimentJson).bind(6, hash)
            .bind(7, static_cast<int64_t>(spec.seed)).bind(8, spec.data.source)
            .bind(9, info.parameters).bind(10, info.device).bind(11, info.threads)
            .bind(12, info.torchVersion).bind(13, std::string(NNLAB_VERSION)).bind(14, self.host)
            .bind(15, self.pid).bind(16, self.token).bind(17, info.notes);
        if (info.parentId.empty())
            insert->bindNull(18);
        else
            insert->bind(18, info.parentId);
        if (insert->run() != SQLITE_DONE)
            rc = insert->lastResult();
        else if (sqlite3_changes(db.handle()) == 1)
            break;
        id.clear();
    }
    const int64_t seq = sqlite3_last_insert_rowid(db.handle());
    for (const std::string& tag : info.tags) {
        if (rc != SQLITE_OK || tag.empty())
            continue;
        auto insert = db.query("INSERT OR IGNORE INTO run_tags(run, tag) VALUES(?, ?)");
        insert->bind(1, seq).bind(2, tag);
        rc = insert->execute();
    }
    if (rc == SQLITE_OK && id.empty())
        rc = SQLITE_CONSTRAINT;
    if (rc == SQLITE_OK)
        rc = transaction.commit();
    if (rc != SQLITE_OK) {
        result.error = db.error(rc, "cannot record a new run");
        return result;
    }
    impl.runId = id;
    impl.runSeq = seq;
    impl.segmentStart = time;
    impl.lastCommitTime = time;
    impl.startWriter();
    result.value = id;
    return result;
}

StoreResult<ResumePoint> RunRecorder::resume(const std::string& runId)
{
    Impl& impl = *m_impl;
    std::lock_guard<std::mutex> lock(impl.dbMutex);
    Connection& db = *impl.db;
    StoreResult<ResumePoint> result;
    if (!impl.runId.empty()) {
        result.error = wrongState(db, "this recorder already records run " + impl.runId);
        return result;
    }
    const auto ref = resolveRun(db, runId);
    if (!ref.ok()) {
        result.error = ref.error;
        return result;
    }
    const std::string& id = ref.value.id;
    ResumePoint& point = result.value;
    point.runId = id;
    std::string storedStatus;
    int64_t storedPid = 0;
    double duration = 0.0;
    {
        auto select = db.query("SELECT status, host, pid, owner, experiment, duration "
                               "FROM runs WHERE seq = ?");
        select->bind(1, ref.value.seq);
        if (!select->next()) {
            result.error = db.error(select->lastResult(), "cannot read run " + id);
            return result;
        }
        storedStatus = select->text("status");
        storedPid = select->integer("pid");
        point.experimentJson = select->text("experiment");
        duration = select->real("duration");
        const std::string host = select->text("host");
        const RunStatus status = effectiveStatus(storedStatus, host, storedPid, select->text("owner"));
        if (status == RunStatus::Running) {
            result.error = wrongState(db, "run " + id + " is still running (process "
                                              + std::to_string(storedPid) + " on " + host + ")");
            return result;
        }
        if (status == RunStatus::Finished) {
            result.error = wrongState(db, "run " + id + " already finished; start a new run");
            return result;
        }
    }
    std::string recordedHash;
    {
        auto select = db.query("SELECT path, step, hash FROM artifacts WHERE run = ? AND "
                               "kind = 'checkpoint' ORDER BY id DESC LIMIT 1");
        select->bind(1, ref.value.seq);
        if (select->next()) {
            point.checkpointPath = select->text("path");
            point.checkpointStep = select->integer("step");
            recordedHash = select->text("hash");
        } else {
            // Killed between writing its first checkpoint and committing the record: the
            // file beside the store is this run's all the same (the loader checks it).
            point.checkpointPath = checkpointPathFor(db.path(), id, CheckpointKind::Latest);
            if (!std::filesystem::is_regular_file(point.checkpointPath)) {
                result.error = wrongState(db, "run " + id + " has no checkpoint to resume from");
                return result;
            }
        }
    }
    const auto file = hashFile(point.checkpointPath);
    if (!file.ok()) {
        result.error = wrongState(db, "run " + id + ": its last checkpoint is gone: "
                                          + file.error.message);
        return result;
    }
    point.checkpointChanged = file.value.hash != recordedHash;

    const double time = now();
    const ProcessIdentity& self = currentProcess();
    Transaction transaction(db);
    int rc = transaction.begin();
    if (rc == SQLITE_OK) {
        // The status and pid guard against another process resuming it meanwhile.
        auto update = db.query("UPDATE runs SET status = 'running', ended_at = NULL, message = '', "
                               "host = ?4, pid = ?5, owner = ?6, updated_at = ?7 "
                               "WHERE seq = ?1 AND status = ?2 AND pid = ?3");
        update->bind(1, ref.value.seq).bind(2, storedStatus).bind(3, storedPid)
            .bind(4, self.host).bind(5, self.pid).bind(6, self.token).bind(7, time);
        rc = update->execute();
    }
    if (rc == SQLITE_OK && sqlite3_changes(db.handle()) != 1) {
        result.error = wrongState(db, "run " + id + " changed while resuming; try again");
        return result;
    }
    if (rc == SQLITE_OK) {
        auto event = db.query("INSERT INTO events(run, time, step, kind, detail) "
                              "VALUES(?, ?, ?, 'resumed', ?)");
        event->bind(1, ref.value.seq).bind(2, time).bind(3, point.checkpointStep)
            .bind(4, "from " + point.checkpointPath);
        rc = event->execute();
    }
    if (rc == SQLITE_OK)
        rc = transaction.commit();
    if (rc != SQLITE_OK) {
        result.error = db.error(rc, "cannot resume run " + id);
        return result;
    }
    impl.runId = id;
    impl.runSeq = ref.value.seq;
    impl.baseDuration = std::isnan(duration) ? 0.0 : duration;
    impl.segmentStart = time;
    impl.lastCommitTime = time;
    impl.startWriter();
    return result;
}

void RunRecorder::updateInfo(const TrainInfo& info)
{
    const double time = now();
    {
        std::lock_guard<std::mutex> lock(m_impl->dbMutex);
        // Training time starts now, after data loading, once per segment.
        if (!m_impl->segmentStarted) {
            m_impl->segmentStart = time;
            m_impl->segmentStarted = true;
        }
    }
    m_impl->enqueue([&](Batch& batch) { batch.info = Batch::Info{info, time}; });
}

void RunRecorder::addMetrics(const std::vector<MetricPoint>& points)
{
    int64_t maxStep = -1;
    for (const MetricPoint& point : points)
        maxStep = std::max(maxStep, point.step);
    int64_t seen = m_impl->lastStep.load();
    while (maxStep > seen && !m_impl->lastStep.compare_exchange_weak(seen, maxStep)) {
    }
    m_impl->enqueue([&](Batch& batch) {
        batch.points.insert(batch.points.end(), points.begin(), points.end());
    });
}

void RunRecorder::addSnapshots(const std::vector<Snapshot>& snapshots)
{
    if (snapshots.empty())
        return;
    m_impl->enqueue([&](Batch& batch) {
        batch.snapshots.insert(batch.snapshots.end(), snapshots.begin(), snapshots.end());
    });
}

void RunRecorder::addEvent(EventKind kind, const std::string& detail, int64_t step)
{
    RunEvent event;
    event.time = now();
    event.step = step >= 0 ? step : m_impl->lastStep.load();
    event.kind = kind;
    event.detail = detail;
    m_impl->enqueue([&](Batch& batch) { batch.events.push_back(event); });
}

StoreError RunRecorder::addArtifact(const std::string& path, const std::string& kind, int64_t step)
{
    const std::string absolute = absolutePath(path);
    const auto file = hashFile(absolute);
    if (!file.ok())
        return file.error;
    const RunArtifact artifact{0,          now(), step >= 0 ? step : m_impl->lastStep.load(),
                               kind,       absolute, file.value.size, file.value.hash};
    m_impl->enqueue([&](Batch& batch) { batch.artifacts.push_back(artifact); });
    // Commit now, not at the end of the interval: a checkpoint on disk whose record and
    // metrics are not is what a crash in between would leave.
    {
        std::lock_guard<std::mutex> lock(m_impl->queueMutex);
        m_impl->flushRequested = true;
    }
    m_impl->wake.notify_one();
    return {};
}

StoreError RunRecorder::finish(const TrainResult& result)
{
    Impl& impl = *m_impl;
    {
        std::lock_guard<std::mutex> lock(impl.queueMutex);
        if (!impl.begun)
            return wrongState(*impl.db, "no run to finish: begin or resume one first");
    }
    const double time = now();
    impl.enqueue([&](Batch& batch) {
        batch.finish = Batch::Finish{result.workerLost ? RunStatus::Interrupted : runStatusOf(result.status), result.message,
                                     result.finalMetrics, result.steps, time};
    });
    {
        std::lock_guard<std::mutex> lock(impl.queueMutex);
        impl.finishQueued = true;
    }
    return impl.waitForCommit();
}

StoreError RunRecorder::flush()
{
    return m_impl->waitForCommit();
}

const std::string& RunRecorder::runId() const
{
    return m_impl->runId;
}

const std::string& RunRecorder::path() const
{
    return m_impl->db->path();
}

int64_t RunRecorder::committedStep() const
{
    return m_impl->committedStep.load();
}

StoreError RunRecorder::lastError() const
{
    std::lock_guard<std::mutex> lock(m_impl->queueMutex);
    return m_impl->lastError;
}

} // namespace nnlab
