// RunStore: queries and edits of stored runs.
#include "store_impl.h"

#include "chunks.h"
#include "owner.h"
#include "schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <unordered_map>

namespace nnlab {

using namespace store;

const char* toString(RunStatus status)
{
    switch (status) {
    case RunStatus::Running: return "running";
    case RunStatus::Finished: return "finished";
    case RunStatus::Failed: return "failed";
    case RunStatus::Cancelled: return "cancelled";
    case RunStatus::Interrupted: return "interrupted";
    }
    return "unknown";
}

std::optional<RunStatus> runStatusFromString(const std::string& text)
{
    for (RunStatus status : {RunStatus::Running, RunStatus::Finished, RunStatus::Failed,
                             RunStatus::Cancelled, RunStatus::Interrupted}) {
        if (text == toString(status))
            return status;
    }
    return std::nullopt;
}

int metricDirection(const std::string& tag)
{
    std::string name = tag.substr(tag.rfind('/') == std::string::npos ? 0 : tag.rfind('/') + 1);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto has = [&](const char* word) { return name.find(word) != std::string::npos; };
    for (const char* word : {"loss", "error", "mse", "mae", "nll", "perplexity"}) {
        if (has(word))
            return -1;
    }
    for (const char* word : {"acc", "precision", "recall", "f1", "auc", "iou"}) {
        if (has(word))
            return 1;
    }
    return 0;
}

namespace store {

const char* const kRunSummaryColumns =
    "seq, id, name, status, parent_id, dataset, parameters, created_at, started_at, ended_at, "
    "updated_at, duration, last_step, notes, message, host, pid, owner";

void readRunSummary(const Statement& row, RunSummary& run)
{
    run.id = row.text(1);
    run.name = row.text(2);
    run.status = effectiveStatus(row.text(3), row.text(15), row.integer(16), row.text(17));
    run.parentId = row.text(4);
    run.dataset = row.text(5);
    run.parameters = row.integer(6);
    run.createdAt = row.isNull(7) ? 0.0 : row.real(7);
    run.startedAt = row.isNull(8) ? 0.0 : row.real(8);
    run.endedAt = row.isNull(9) ? 0.0 : row.real(9);
    run.updatedAt = row.isNull(10) ? 0.0 : row.real(10);
    run.duration = row.real(11);
    run.lastStep = row.integer(12);
    run.notes = row.text(13);
    run.message = row.text(14);
    // Dead owner, not yet recorded (a read-only store, or it died after this store opened).
    if (run.status == RunStatus::Interrupted && row.text(3) == "running" && run.endedAt == 0.0)
        run.endedAt = run.updatedAt;
}

int readRunTags(Connection& db, int64_t seq, std::vector<std::string>& tags)
{
    auto select = db.query("SELECT tag FROM run_tags WHERE run = ? ORDER BY tag");
    select->bind(1, seq);
    while (select->next())
        tags.push_back(select->text(0));
    return select->lastResult() == SQLITE_DONE ? SQLITE_OK : select->lastResult();
}

int readRunMetrics(Connection& db, int64_t seq, std::map<std::string, MetricSummary>& metrics)
{
    auto select = db.query(std::string("SELECT tag, ") + kSummaryColumns
                           + " FROM series WHERE run = ? ORDER BY tag");
    select->bind(1, seq);
    while (select->next())
        metrics[select->text(0)] = readSummary(*select, 1);
    return select->lastResult() == SQLITE_DONE ? SQLITE_OK : select->lastResult();
}

StoreResult<RunRef> resolveRun(Connection& db, const std::string& idOrPrefix)
{
    StoreResult<RunRef> result;
    if (idOrPrefix.empty()) {
        result.error = makeError(StoreErrorCode::InvalidArgument, db.path(), "empty run id");
        return result;
    }
    // Ids are ASCII below 0x7f, so [prefix, prefix + 0x7f) holds exactly the ids it starts.
    auto select = db.query("SELECT seq, id FROM runs WHERE id >= ?1 AND id < ?1 || char(127) "
                           "ORDER BY id LIMIT 6");
    select->bind(1, idOrPrefix);
    std::vector<RunRef> matches;
    while (select->next()) {
        RunRef ref{select->integer(0), select->text(1)};
        if (ref.id == idOrPrefix) {
            result.value = ref;
            return result;
        }
        matches.push_back(ref);
    }
    if (select->lastResult() != SQLITE_DONE) {
        result.error = db.error(select->lastResult(), "cannot look up run " + idOrPrefix);
    } else if (matches.empty()) {
        result.error = noSuchRun(db.path(), idOrPrefix);
    } else if (matches.size() > 1) {
        std::string list;
        for (size_t i = 0; i < std::min<size_t>(matches.size(), 5); ++i)
            list += (i ? ", " : "") + matches[i].id;
        result.error = makeError(StoreErrorCode::AmbiguousRun, db.path(),
                                 "\"" + idOrPrefix + "\" matches several runs: " + list
                                     + (matches.size() > 5 ? ", ..." : ""));
    } else {
        result.value = matches.front();
    }
    return result;
}

} // namespace store

namespace {

// Sort key of a run for RunFilter::sortBy; runs without it (nullopt) go last.
std::optional<double> metricKey(const RunSummary& run, const std::string& tag, int direction)
{
    const auto it = run.metrics.find(tag);
    if (it == run.metrics.end() || it->second.count == 0)
        return std::nullopt;
    const double value = direction != 0 ? it->second.bestValue : it->second.finalValue;
    if (std::isnan(value))
        return std::nullopt;
    // Best first: higher-is-better and unknown tags descending, lower-is-better ascending.
    return direction < 0 ? value : -value;
}

void sortRuns(std::vector<RunSummary>& runs, const RunFilter& filter)
{
    const std::string& key = filter.sortBy;
    auto order = [&](const RunSummary& a, const RunSummary& b) {
        if (key.empty() || key == "created")
            return a.createdAt > b.createdAt;
        if (key == "name")
            return a.name < b.name;
        if (key == "duration")
            return a.duration > b.duration;
        if (key == "status")
            return std::string(toString(a.status)) < toString(b.status);
        const int direction = metricDirection(key);
        const auto ka = metricKey(a, key, direction);
        const auto kb = metricKey(b, key, direction);
        if (ka.has_value() != kb.has_value())
            return ka.has_value();
        return ka.has_value() && *ka < *kb;
    };
    std::stable_sort(runs.begin(), runs.end(), [&](const RunSummary& a, const RunSummary& b) {
        return filter.reverse ? order(b, a) : order(a, b);
    });
}

} // namespace

StoreError RunStore::Impl::requireWritable() const
{
    if (db->readOnly())
        return makeError(StoreErrorCode::ReadOnly, db->path(),
                         "opened read-only; cannot change runs");
    return {};
}

RunStore::RunStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

RunStore::~RunStore() = default;

StoreResult<std::unique_ptr<RunStore>> RunStore::open(const std::string& path,
                                                      const StoreOptions& options)
{
    StoreResult<std::unique_ptr<RunStore>> result;
    auto connection = openConnection(path, options.readOnly, options.busyTimeoutMs);
    if (!connection.ok()) {
        result.error = connection.error;
        return result;
    }
    auto impl = std::make_unique<Impl>();
    impl->db = std::move(connection.value);
    result.value.reset(new RunStore(std::move(impl)));
    return result;
}

const std::string& RunStore::path() const
{
    return m_impl->db->path();
}

bool RunStore::isReadOnly() const
{
    return m_impl->db->readOnly();
}

StoreResult<std::string> RunStore::resolveRunId(const std::string& idOrPrefix) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    auto ref = resolveRun(*m_impl->db, idOrPrefix);
    return {ref.value.id, ref.error};
}

StoreResult<std::vector<RunSummary>> RunStore::listRuns(const RunFilter& filter) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    Connection& db = *m_impl->db;
    StoreResult<std::vector<RunSummary>> result;
    std::vector<RunSummary>& runs = result.value;
    std::unordered_map<int64_t, size_t> bySeq;
    {
        auto select = db.query(std::string("SELECT ") + kRunSummaryColumns
                               + " FROM runs WHERE ?1 = '' OR name GLOB ?1");
        select->bind(1, filter.nameGlob);
        while (select->next()) {
            RunSummary run;
            readRunSummary(*select, run);
            if (filter.status && run.status != *filter.status)
                continue;
            bySeq.emplace(select->integer(0), runs.size());
            runs.push_back(std::move(run));
        }
        if (select->lastResult() != SQLITE_DONE) {
            result.error = db.error(select->lastResult(), "cannot list runs");
            return result;
        }
    }
    // Two more queries for all runs at once beat one query per run by far at 1000 runs.
    {
        auto tags = db.query("SELECT run, tag FROM run_tags ORDER BY run, tag");
        while (tags->next()) {
            if (const auto it = bySeq.find(tags->integer(0)); it != bySeq.end())
                runs[it->second].tags.push_back(tags->text(1));
        }
        auto series = db.query(std::string("SELECT run, tag, ") + kSummaryColumns + " FROM series");
        while (series->next()) {
            if (const auto it = bySeq.find(series->integer(0)); it != bySeq.end())
                runs[it->second].metrics[series->text(1)] = readSummary(*series, 2);
        }
        const int rc = tags->lastResult() != SQLITE_DONE ? tags->lastResult() : series->lastResult();
        if (rc != SQLITE_DONE) {
            result.error = db.error(rc, "cannot list runs");
            return result;
        }
    }
    sortRuns(runs, filter);
    if (filter.limit > 0 && runs.size() > static_cast<size_t>(filter.limit))
        runs.resize(static_cast<size_t>(filter.limit));
    return result;
}

StoreResult<RunDetails> RunStore::getRun(const std::string& id) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    Connection& db = *m_impl->db;
    StoreResult<RunDetails> result;
    const auto ref = resolveRun(db, id);
    if (!ref.ok()) {
        result.error = ref.error;
        return result;
    }
    RunDetails& run = result.value;
    {
        auto select = db.query(std::string("SELECT ") + kRunSummaryColumns
                               + ", experiment, experiment_hash, seed, device, threads, "
                                 "torch_version, nnlab_version, info FROM runs WHERE seq = ?");
        select->bind(1, ref.value.seq);
        if (!select->next()) {
            result.error = db.error(select->lastResult(), "cannot read run " + ref.value.id);
            return result;
        }
        readRunSummary(*select, run);
        run.host = select->text(15);
        run.pid = select->integer(16);
        run.experimentJson = select->text(18);
        run.experimentHash = select->text(19);
        run.seed = static_cast<uint64_t>(select->integer(20));
        run.device = select->text(21);
        run.threads = select->integer(22);
        run.torchVersion = select->text(23);
        run.nnlabVersion = select->text(24);
        run.infoJson = select->text(25);
    }
    int rc = readRunTags(db, ref.value.seq, run.tags);
    if (rc == SQLITE_OK)
        rc = readRunMetrics(db, ref.value.seq, run.metrics);
    if (rc != SQLITE_OK)
        result.error = db.error(rc, "cannot read run " + ref.value.id);
    return result;
}

StoreResult<std::vector<RunEvent>> RunStore::events(const std::string& id) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    Connection& db = *m_impl->db;
    StoreResult<std::vector<RunEvent>> result;
    const auto ref = resolveRun(db, id);
    if (!ref.ok()) {
        result.error = ref.error;
        return result;
    }
    auto select = db.query("SELECT id, time, step, kind, detail FROM events WHERE run = ? ORDER BY id");
    select->bind(1, ref.value.seq);
    while (select->next())
        result.value.push_back({select->integer(0), select->real(1), select->integer(2),
                                select->text(3), select->text(4)});
    if (select->lastResult() != SQLITE_DONE)
        result.error = db.error(select->lastResult(), "cannot read events");
    return result;
}

StoreResult<std::vector<RunArtifact>> RunStore::artifacts(const std::string& id) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    Connection& db = *m_impl->db;
    StoreResult<std::vector<RunArtifact>> result;
    const auto ref = resolveRun(db, id);
    if (!ref.ok()) {
        result.error = ref.error;
        return result;
    }
    auto select = db.query("SELECT id, time, step, kind, path, size, hash FROM artifacts "
                           "WHERE run = ? ORDER BY id");
    select->bind(1, ref.value.seq);
    while (select->next())
        result.value.push_back({select->integer(0), select->real(1), select->integer(2),
                                select->text(3), select->text(4), select->integer(5),
                                select->text(6)});
    if (select->lastResult() != SQLITE_DONE)
        result.error = db.error(select->lastResult(), "cannot read artifacts");
    return result;
}

StoreResult<std::vector<std::string>> RunStore::metricTags(const std::string& id) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    Connection& db = *m_impl->db;
    StoreResult<std::vector<std::string>> result;
    const auto ref = resolveRun(db, id);
    if (!ref.ok()) {
        result.error = ref.error;
        return result;
    }
    auto select = db.query("SELECT tag FROM series WHERE run = ? ORDER BY tag");
    select->bind(1, ref.value.seq);
    while (select->next())
        result.value.push_back(select->text(0));
    if (select->lastResult() != SQLITE_DONE)
        result.error = db.error(select->lastResult(), "cannot read metric tags");
    return result;
}

namespace {

struct SeriesRef {
    int64_t id = 0;
    MetricSummary summary;
};

StoreResult<SeriesRef> findSeries(Connection& db, const std::string& runId, const std::string& tag)
{
    StoreResult<SeriesRef> result;
    const auto ref = resolveRun(db, runId);
    if (!ref.ok()) {
        result.error = ref.error;
        return result;
    }
    auto select = db.query(std::string("SELECT id, ") + kSummaryColumns
                           + " FROM series WHERE run = ? AND tag = ?");
    select->bind(1, ref.value.seq).bind(2, tag);
    if (select->next()) {
        result.value.id = select->integer(0);
        result.value.summary = readSummary(*select, 1);
    } else if (select->lastResult() == SQLITE_DONE) {
        result.error = makeError(StoreErrorCode::InvalidArgument, db.path(),
                                 "run " + ref.value.id + " has no metric \"" + tag + "\"");
    } else {
        result.error = db.error(select->lastResult(), "cannot read metric " + tag);
    }
    return result;
}

} // namespace

StoreResult<std::vector<SeriesPoint>> RunStore::series(const std::string& id,
                                                       const std::string& tag, int64_t stepMin,
                                                       int64_t stepMax) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    Connection& db = *m_impl->db;
    StoreResult<std::vector<SeriesPoint>> result;
    const auto series = findSeries(db, id, tag);
    if (!series.ok()) {
        result.error = series.error;
        return result;
    }
    const MetricSummary& summary = series.value.summary;
    if (stepMin <= summary.firstStep && stepMax >= summary.lastStep)
        result.value.reserve(static_cast<size_t>(summary.count));
    const int rc = readPoints(db, series.value.id, stepMin, stepMax, result.value);
    if (rc != SQLITE_OK)
        result.error = db.error(rc, "cannot read metric " + tag);
    return result;
}

StoreResult<std::vector<SeriesBucket>> RunStore::seriesDownsampled(
    const std::string& id, const std::string& tag, int64_t stepMin, int64_t stepMax,
    int buckets) const
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    Connection& db = *m_impl->db;
    StoreResult<std::vector<SeriesBucket>> result;
    if (buckets < 1) {
        result.error = makeError(StoreErrorCode::InvalidArgument, db.path(),
                                 "buckets must be >= 1, got " + std::to_string(buckets));
        return result;
    }
    const auto series = findSeries(db, id, tag);
    if (!series.ok()) {
        result.error = series.error;
        return result;
    }
    result.value.reserve(static_cast<size_t>(buckets));
    const int rc = readBuckets(db, series.value.id, series.value.summary, stepMin, stepMax,
                               buckets, result.value);
    if (rc != SQLITE_OK)
        result.error = db.error(rc, "cannot read metric " + tag);
    return result;
}

namespace {

// One UPDATE of one run's column, for the small edits.
StoreError updateRun(RunStore::Impl& impl, const std::string& id, const char* sql,
                     const std::string& value)
{
    std::lock_guard<std::mutex> lock(impl.mutex);
    if (auto error = impl.requireWritable(); !error.ok())
        return error;
    Connection& db = *impl.db;
    const auto ref = resolveRun(db, id);
    if (!ref.ok())
        return ref.error;
    auto update = db.query(sql);
    update->bind(1, ref.value.seq).bind(2, value);
    if (update->run() != SQLITE_DONE)
        return db.error(update->lastResult(), "cannot change run " + ref.value.id);
    return {};
}

} // namespace

StoreError RunStore::rename(const std::string& id, const std::string& name)
{
    return updateRun(*m_impl, id, "UPDATE runs SET name = ?2 WHERE seq = ?1", name);
}

StoreError RunStore::setNotes(const std::string& id, const std::string& notes)
{
    return updateRun(*m_impl, id, "UPDATE runs SET notes = ?2 WHERE seq = ?1", notes);
}

StoreError RunStore::setTags(const std::string& id, const std::vector<std::string>& tags)
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    if (auto error = m_impl->requireWritable(); !error.ok())
        return error;
    Connection& db = *m_impl->db;
    const auto ref = resolveRun(db, id);
    if (!ref.ok())
        return ref.error;
    Transaction transaction(db);
    int rc = transaction.begin();
    if (rc == SQLITE_OK) {
        auto clear = db.query("DELETE FROM run_tags WHERE run = ?");
        clear->bind(1, ref.value.seq);
        rc = clear->run() == SQLITE_DONE ? SQLITE_OK : clear->lastResult();
    }
    for (const std::string& tag : std::set<std::string>(tags.begin(), tags.end())) {
        if (rc != SQLITE_OK || tag.empty())
            continue;
        auto insert = db.query("INSERT INTO run_tags(run, tag) VALUES(?, ?)");
        insert->bind(1, ref.value.seq).bind(2, tag);
        rc = insert->run() == SQLITE_DONE ? SQLITE_OK : insert->lastResult();
    }
    if (rc == SQLITE_OK)
        rc = transaction.commit();
    if (rc != SQLITE_OK)
        return db.error(rc, "cannot set the tags of run " + ref.value.id);
    return {};
}

StoreError RunStore::deleteRun(const std::string& id)
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    if (auto error = m_impl->requireWritable(); !error.ok())
        return error;
    Connection& db = *m_impl->db;
    const auto ref = resolveRun(db, id);
    if (!ref.ok())
        return ref.error;
    {
        auto owner = db.query("SELECT host, pid, owner FROM runs WHERE seq = ? AND status = 'running'");
        owner->bind(1, ref.value.seq);
        if (owner->next()
            && ownerLiveness(owner->text(0), owner->integer(1), owner->text(2)) != Liveness::Dead)
            return makeError(StoreErrorCode::WrongState, db.path(),
                             "run " + ref.value.id + " is still running (process "
                                 + std::to_string(owner->integer(1)) + " on " + owner->text(0)
                                 + "); cancel it first");
    }
    // Foreign keys cascade to tags, series, chunks, events and artifacts, in one statement.
    auto remove = db.query("DELETE FROM runs WHERE seq = ?");
    remove->bind(1, ref.value.seq);
    if (remove->run() != SQLITE_DONE)
        return db.error(remove->lastResult(), "cannot delete run " + ref.value.id);
    return {};
}

} // namespace nnlab
