// RunStore: queries and edits of stored runs.
#include "store_impl.h"

#include "chunks.h"
#include "owner.h"
#include "schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>

namespace nnlab {

using namespace store;

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
        RunRef ref{select->integer("seq"), select->text("id")};
        if (ref.id == idOrPrefix) {
            result.value = ref;
            return result;
        }
        matches.push_back(ref);
    }
    if (select->readResult() != SQLITE_OK) {
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

// In the order readRunSummary reads them (then seq, which listRuns reads last): each
// by-name lookup then matches at its first try (Statement::columnIndex), which showed at
// 10,000 runs when the order differed.
const char* const kRunSummaryColumns =
    "status, id, name, host, pid, owner, parent_id, dataset, parameters, created_at, started_at, ended_at, "
    "updated_at, duration, last_step, notes, message, seq";

// An unset time (NULL, which real() reads as NaN) reads as 0. One lookup: isNull() and then
// real() of the same column made the second scan every other name.
double timeOrZero(const Statement& row, std::string_view column)
{
    const double value = row.real(column);
    return std::isnan(value) ? 0.0 : value;
}

// A row with kRunSummaryColumns.
void readRunSummary(const Statement& row, RunSummary& run)
{
    const std::string storedStatus = row.text("status");
    run.id = row.text("id");
    run.name = row.text("name");
    run.status = effectiveStatus(storedStatus, row.text("host"), row.integer("pid"), row.text("owner"));
    run.parentId = row.text("parent_id");
    run.dataset = row.text("dataset");
    run.parameters = row.integer("parameters");
    run.createdAt = timeOrZero(row, "created_at");
    run.startedAt = timeOrZero(row, "started_at");
    run.endedAt = timeOrZero(row, "ended_at");
    run.updatedAt = timeOrZero(row, "updated_at");
    run.duration = row.real("duration");
    run.lastStep = row.integer("last_step");
    run.notes = row.text("notes");
    run.message = row.text("message");
    // Dead owner, not yet recorded (a read-only store, or it died after this store opened).
    if (run.status == RunStatus::Interrupted && storedStatus == "running" && run.endedAt == 0.0)
        run.endedAt = run.updatedAt;
}

const char* const kRunDetailColumns =
    "experiment, experiment_hash, seed, device, threads, torch_version, nnlab_version, info";

// A row with kRunSummaryColumns and kRunDetailColumns.
void readRunDetails(const Statement& row, RunDetails& run)
{
    readRunSummary(row, run);
    run.host = row.text("host");
    run.pid = row.integer("pid");
    run.experimentJson = row.text("experiment");
    run.experimentHash = row.text("experiment_hash");
    run.seed = static_cast<uint64_t>(row.integer("seed"));
    run.device = row.text("device");
    run.threads = row.integer("threads");
    run.torchVersion = row.text("torch_version");
    run.nnlabVersion = row.text("nnlab_version");
    run.infoJson = row.text("info");
}

RunEvent readEvent(const Statement& row)
{
    RunEvent event;
    event.id = row.integer("id");
    event.time = row.real("time");
    event.step = row.integer("step");
    event.kind = eventKindFromString(row.text("kind")).value_or(EventKind::Note);
    event.detail = row.text("detail");
    return event;
}

RunArtifact readArtifact(const Statement& row)
{
    RunArtifact artifact;
    artifact.id = row.integer("id");
    artifact.time = row.real("time");
    artifact.step = row.integer("step");
    artifact.kind = row.text("kind");
    artifact.path = row.text("path");
    artifact.size = row.integer("size");
    artifact.hash = row.text("hash");
    return artifact;
}

int readRunTags(Connection& db, int64_t seq, std::vector<std::string>& tags)
{
    auto select = db.query("SELECT tag FROM run_tags WHERE run = ? ORDER BY tag");
    select->bind(1, seq);
    while (select->next())
        tags.push_back(select->text("tag"));
    return select->readResult();
}

int readRunMetrics(Connection& db, int64_t seq, std::map<std::string, MetricSummary>& metrics)
{
    auto select = db.query(std::string("SELECT tag, ") + kSummaryColumns
                           + " FROM series WHERE run = ? ORDER BY tag");
    select->bind(1, seq);
    while (select->next())
        metrics[select->text("tag")] = readSummary(*select);
    return select->readResult();
}

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
    const bool byMetric = !key.empty() && key != "created" && key != "name" && key != "duration" && key != "status";
    // At 10,000 runs, looking the metric up at every comparison and moving whole summaries
    // in the merge took longer than reading them: keys are taken once, an index is sorted,
    // and each summary moves once.
    std::vector<std::optional<double>> metricKeys;
    if (byMetric) {
        const int direction = metricDirection(key);
        metricKeys.reserve(runs.size());
        for (const RunSummary& run : runs)
            metricKeys.push_back(metricKey(run, key, direction));
    }
    auto order = [&](size_t ia, size_t ib) {
        const RunSummary& a = runs[ia];
        const RunSummary& b = runs[ib];
        if (key.empty() || key == "created")
            return a.createdAt > b.createdAt;
        if (key == "name")
            return a.name < b.name;
        if (key == "duration")
            return a.duration > b.duration;
        if (key == "status")
            return std::string(toString(a.status)) < toString(b.status);
        const auto& ka = metricKeys[ia];
        const auto& kb = metricKeys[ib];
        if (ka.has_value() != kb.has_value())
            return ka.has_value();
        return ka.has_value() && *ka < *kb;
    };
    std::vector<size_t> index(runs.size());
    std::iota(index.begin(), index.end(), size_t{0});
    std::stable_sort(index.begin(), index.end(),
                     [&](size_t a, size_t b) { return filter.reverse ? order(b, a) : order(a, b); });
    std::vector<RunSummary> sorted;
    sorted.reserve(runs.size());
    for (const size_t i : index)
        sorted.push_back(std::move(runs[i]));
    runs = std::move(sorted);
}

// The tags RunFilter::metrics asks for, sortBy's added when it is a metric; nullopt = all.
std::optional<std::vector<std::string>> wantedSeriesTags(const RunFilter& filter)
{
    if (!filter.metrics)
        return std::nullopt;
    std::vector<std::string> tags = *filter.metrics;
    const std::string& key = filter.sortBy;
    if (!key.empty() && key != "created" && key != "name" && key != "duration" && key != "status")
        tags.push_back(key);
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    return tags;
}

// " WHERE tag IN (?1, ?2, ...)" for the wanted tags (" WHERE 0" for none), "" for all. The
// placeholders depend only on how many tags, so the connection's statement cache keeps a few.
std::string seriesTagCondition(const RunFilter& filter)
{
    const auto tags = wantedSeriesTags(filter);
    if (!tags)
        return {};
    if (tags->empty())
        return " WHERE 0";
    std::string condition = " WHERE tag IN (";
    for (size_t i = 0; i < tags->size(); ++i)
        condition += (i ? ", ?" : "?") + std::to_string(i + 1);
    return condition + ")";
}

void bindSeriesTags(Statement& select, const RunFilter& filter)
{
    if (const auto tags = wantedSeriesTags(filter))
        for (size_t i = 0; i < tags->size(); ++i)
            select.bind(static_cast<int>(i + 1), (*tags)[i]);
}

// Every row of `sql` for the run (its one parameter: the run's seq), each read by readRow.
template <typename T, typename ReadRow>
StoreResult<std::vector<T>> readRunRows(RunStore::Impl& impl, const std::string& id, const char* sql,
                                        const char* what, ReadRow readRow)
{
    return readRun<std::vector<T>>(impl, id, [&](Connection& db, const RunRef& run, std::vector<T>& rows) {
        auto select = db.query(sql);
        select->bind(1, run.seq);
        while (select->next())
            rows.push_back(readRow(*select));
        return db.check(select->readResult(), what);
    });
}

struct SeriesRef {
    int64_t id = 0;
    MetricSummary summary;
};

StoreError findSeries(Connection& db, const RunRef& run, const std::string& tag, SeriesRef& series)
{
    auto select = db.query(std::string("SELECT id, ") + kSummaryColumns
                           + " FROM series WHERE run = ? AND tag = ?");
    select->bind(1, run.seq).bind(2, tag);
    if (select->next()) {
        series.id = select->integer("id");
        series.summary = readSummary(*select);
        return {};
    }
    if (select->lastResult() == SQLITE_DONE)
        return makeError(StoreErrorCode::InvalidArgument, db.path(),
                         "run " + run.id + " has no metric \"" + tag + "\"");
    return db.error(select->lastResult(), "cannot read metric " + tag);
}

// One UPDATE of one run's column, for the small edits.
StoreError updateRun(RunStore::Impl& impl, const std::string& id, const char* sql,
                     const std::string& value)
{
    return editRun(impl, id, [&](Connection& db, const RunRef& run) {
        auto update = db.query(sql);
        update->bind(1, run.seq).bind(2, value);
        return db.check(update->execute(), "cannot change run " + run.id);
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
        // Reserved up front: growing a vector of 10,000 summaries moved them 14 times.
        auto count = db.query("SELECT count(*) AS n FROM runs");
        if (count->next()) {
            const auto n = static_cast<size_t>(std::clamp<int64_t>(count->integer("n"), 0, 1 << 20));
            runs.reserve(n);
            bySeq.reserve(n);
        }
    }
    {
        auto select = db.query(std::string("SELECT ") + kRunSummaryColumns
                               + " FROM runs WHERE ?1 = '' OR name GLOB ?1");
        select->bind(1, filter.nameGlob);
        while (select->next()) {
            RunSummary run;
            readRunSummary(*select, run);
            if (filter.status && run.status != *filter.status)
                continue;
            bySeq.emplace(select->integer("seq"), runs.size());
            runs.push_back(std::move(run));
        }
        if (select->readResult() != SQLITE_OK) {
            result.error = db.error(select->lastResult(), "cannot list runs");
            return result;
        }
    }
    // Two more queries for all runs at once beat one query per run by far at 1000 runs.
    {
        auto tags = db.query("SELECT run, tag FROM run_tags ORDER BY run, tag");
        while (tags->next()) {
            if (const auto it = bySeq.find(tags->integer("run")); it != bySeq.end())
                runs[it->second].tags.push_back(tags->text("tag"));
        }
        auto series = db.query(std::string("SELECT run, tag, ") + kSummaryColumns + " FROM series"
                               + seriesTagCondition(filter));
        bindSeriesTags(*series, filter);
        while (series->next()) {
            if (const auto it = bySeq.find(series->integer("run")); it != bySeq.end())
                runs[it->second].metrics[series->text("tag")] = readSummary(*series);
        }
        const int rc = tags->readResult() != SQLITE_OK ? tags->readResult() : series->readResult();
        if (rc != SQLITE_OK) {
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
    return readRun<RunDetails>(*m_impl, id, [](Connection& db, const RunRef& ref, RunDetails& run) {
        {
            auto select = db.query(std::string("SELECT ") + kRunSummaryColumns + ", "
                                   + kRunDetailColumns + " FROM runs WHERE seq = ?");
            select->bind(1, ref.seq);
            if (!select->next())
                return db.error(select->lastResult(), "cannot read run " + ref.id);
            readRunDetails(*select, run);
        }
        int rc = readRunTags(db, ref.seq, run.tags);
        if (rc == SQLITE_OK)
            rc = readRunMetrics(db, ref.seq, run.metrics);
        return db.check(rc, "cannot read run " + ref.id);
    });
}

StoreResult<std::vector<RunEvent>> RunStore::events(const std::string& id) const
{
    return readRunRows<RunEvent>(*m_impl, id,
                                 "SELECT id, time, step, kind, detail FROM events WHERE run = ? ORDER BY id",
                                 "cannot read events", readEvent);
}

StoreResult<std::vector<RunArtifact>> RunStore::artifacts(const std::string& id) const
{
    return readRunRows<RunArtifact>(*m_impl, id,
                                    "SELECT id, time, step, kind, path, size, hash FROM artifacts "
                                    "WHERE run = ? ORDER BY id",
                                    "cannot read artifacts", readArtifact);
}

StoreResult<std::vector<std::string>> RunStore::metricTags(const std::string& id) const
{
    return readRunRows<std::string>(*m_impl, id, "SELECT tag FROM series WHERE run = ? ORDER BY tag",
                                    "cannot read metric tags",
                                    [](const Statement& row) { return row.text("tag"); });
}

StoreResult<std::vector<SeriesPoint>> RunStore::series(const std::string& id,
                                                       const std::string& tag, int64_t stepMin,
                                                       int64_t stepMax) const
{
    return readRun<std::vector<SeriesPoint>>(
        *m_impl, id, [&](Connection& db, const RunRef& ref, std::vector<SeriesPoint>& points) {
            SeriesRef series;
            if (StoreError error = findSeries(db, ref, tag, series); !error.ok())
                return error;
            const MetricSummary& summary = series.summary;
            // The stored count is only a hint (a damaged or hostile file may hold -1 or 2^60):
            // reserve at most 1 M points, more arrive as they are read.
            if (stepMin <= summary.firstStep && stepMax >= summary.lastStep && summary.count > 0)
                points.reserve(static_cast<size_t>(std::min<int64_t>(summary.count, int64_t(1) << 20)));
            return db.check(readPoints(db, series.id, stepMin, stepMax, points),
                            "cannot read metric " + tag);
        });
}

StoreResult<std::vector<SeriesBucket>> RunStore::seriesDownsampled(
    const std::string& id, const std::string& tag, int64_t stepMin, int64_t stepMax,
    int buckets) const
{
    if (buckets < 1) {
        StoreResult<std::vector<SeriesBucket>> result;
        result.error = makeError(StoreErrorCode::InvalidArgument, path(),
                                 "buckets must be >= 1, got " + std::to_string(buckets));
        return result;
    }
    return readRun<std::vector<SeriesBucket>>(
        *m_impl, id, [&](Connection& db, const RunRef& ref, std::vector<SeriesBucket>& out) {
            SeriesRef series;
            if (StoreError error = findSeries(db, ref, tag, series); !error.ok())
                return error;
            out.reserve(static_cast<size_t>(buckets));
            return db.check(readBuckets(db, series.id, series.summary, stepMin, stepMax, buckets, out),
                            "cannot read metric " + tag);
        });
}

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
    return editRun(*m_impl, id, [&](Connection& db, const RunRef& run) {
        Transaction transaction(db);
        int rc = transaction.begin();
        if (rc == SQLITE_OK) {
            auto clear = db.query("DELETE FROM run_tags WHERE run = ?");
            clear->bind(1, run.seq);
            rc = clear->execute();
        }
        for (const std::string& tag : std::set<std::string>(tags.begin(), tags.end())) {
            if (rc != SQLITE_OK || tag.empty())
                continue;
            auto insert = db.query("INSERT INTO run_tags(run, tag) VALUES(?, ?)");
            insert->bind(1, run.seq).bind(2, tag);
            rc = insert->execute();
        }
        if (rc == SQLITE_OK)
            rc = transaction.commit();
        return db.check(rc, "cannot set the tags of run " + run.id);
    });
}

} // namespace nnlab
