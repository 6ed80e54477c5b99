// The writer's transaction: everything queued since the last flush, all or nothing.
#include "recorder_impl.h"
#include "snapshot_rows.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_map>

namespace nnlab {

using namespace store;

namespace store {

bool Batch::empty() const
{
    return points.empty() && events.empty() && artifacts.empty() && snapshots.empty() && !info && !finish;
}

void Batch::append(Batch&& later)
{
    points.insert(points.end(), std::make_move_iterator(later.points.begin()),
                  std::make_move_iterator(later.points.end()));
    events.insert(events.end(), later.events.begin(), later.events.end());
    artifacts.insert(artifacts.end(), later.artifacts.begin(), later.artifacts.end());
    snapshots.insert(snapshots.end(), std::make_move_iterator(later.snapshots.begin()),
                     std::make_move_iterator(later.snapshots.end()));
    if (later.info)
        info = std::move(later.info);
    if (later.finish)
        finish = std::move(later.finish);
    sequence = std::max(sequence, later.sequence);
}

} // namespace store

namespace {

// Finds the tag's series of the run, or creates it. Resumed runs find theirs here.
int loadSeries(Connection& db, int64_t runSeq, const std::string& tag, SeriesState& state)
{
    state.direction = metricDirection(tag);
    auto select = db.query(std::string("SELECT id, ") + kSummaryColumns
                           + " FROM series WHERE run = ? AND tag = ?");
    select->bind(1, runSeq).bind(2, tag);
    if (select->next()) {
        state.id = select->integer("id");
        state.summary = readSummary(*select);
        return SQLITE_OK;
    }
    if (select->lastResult() != SQLITE_DONE)
        return select->lastResult();
    auto insert = db.query("INSERT INTO series(run, tag) VALUES(?, ?)");
    insert->bind(1, runSeq).bind(2, tag);
    if (insert->run() != SQLITE_DONE)
        return insert->lastResult();
    state.id = sqlite3_last_insert_rowid(db.handle());
    return SQLITE_OK;
}

std::string infoJson(const TrainInfo& info)
{
    nlohmann::json json = {
        {"threadChoice", info.threadChoice},   {"stepsPerEpoch", info.stepsPerEpoch},
        {"totalSteps", info.totalSteps},       {"startStep", info.startStep},
        {"dataDescription", info.dataDescription}, {"workers", info.workers},
    };
    // Kept as an object, so the run can be exported and served without its data.
    const nlohmann::json interface = nlohmann::json::parse(info.interfaceJson, nullptr, false);
    if (interface.is_object())
        json["interface"] = interface;
    return json.dump();
}

} // namespace

StoreError RunRecorder::Impl::commit(const Batch& batch)
{
    std::lock_guard<std::mutex> lock(dbMutex);
    Connection& connection = *db;
    const double time = now();
    Transaction transaction(connection);
    int rc = transaction.begin();

    // Points grouped by tag, in the order tags first appear. Series states are copies until
    // the commit succeeds, so a failed commit leaves nothing half-applied.
    std::vector<std::pair<std::string, std::vector<SeriesPoint>>> groups;
    std::unordered_map<std::string, size_t> groupOf;
    int64_t maxStep = -1;
    for (const MetricPoint& point : batch.points) {
        auto [it, added] = groupOf.try_emplace(point.tag, groups.size());
        if (added)
            groups.emplace_back(point.tag, std::vector<SeriesPoint>());
        groups[it->second].second.push_back({point.step, point.wallTime, point.value});
        maxStep = std::max(maxStep, point.step);
    }
    std::map<std::string, SeriesState> touched;
    auto stateFor = [&](const std::string& tag) -> SeriesState* {
        if (auto it = touched.find(tag); it != touched.end())
            return &it->second;
        SeriesState& state = touched[tag];
        if (auto it = series.find(tag); it != series.end())
            state = it->second;
        else if (rc == SQLITE_OK)
            rc = loadSeries(connection, runSeq, tag, state);
        return &state;
    };
    if (batch.finish) {
        // Final metrics the trainer never logged as points become points at the last step.
        for (const auto& [tag, value] : batch.finish->finalMetrics) {
            SeriesState* state = stateFor(tag);
            if (rc == SQLITE_OK && state->summary.count == 0 && groupOf.count(tag) == 0) {
                groupOf.emplace(tag, groups.size());
                groups.emplace_back(tag, std::vector<SeriesPoint>{{batch.finish->steps, time, value}});
                maxStep = std::max(maxStep, batch.finish->steps);
            }
        }
    }
    for (const auto& [tag, points] : groups) {
        SeriesState* state = stateFor(tag);
        if (rc == SQLITE_OK)
            rc = appendPoints(connection, *state, points);
        if (rc == SQLITE_OK)
            rc = saveSummary(connection, *state);
    }
    for (const RunEvent& event : batch.events) {
        if (rc != SQLITE_OK)
            break;
        auto insert = connection.query(
            "INSERT INTO events(run, time, step, kind, detail) VALUES(?, ?, ?, ?, ?)");
        insert->bind(1, runSeq).bind(2, event.time).bind(3, event.step).bind(4, toString(event.kind))
            .bind(5, event.detail);
        rc = insert->execute();
    }
    for (const RunArtifact& artifact : batch.artifacts) {
        if (rc != SQLITE_OK)
            break;
        auto insert = connection.query("INSERT INTO artifacts(run, time, step, kind, path, size, "
                                       "hash) VALUES(?, ?, ?, ?, ?, ?, ?)");
        insert->bind(1, runSeq).bind(2, artifact.time).bind(3, artifact.step)
            .bind(4, artifact.kind).bind(5, artifact.path).bind(6, artifact.size)
            .bind(7, artifact.hash);
        rc = insert->execute();
    }
    if (!batch.snapshots.empty() && rc == SQLITE_OK)
        rc = insertSnapshots(connection, runSeq, batch.snapshots);
    if (batch.info && rc == SQLITE_OK) {
        const TrainInfo& info = batch.info->info;
        auto update = connection.query(
            "UPDATE runs SET device = ?2, threads = ?3, parameters = ?4, info = ?5, "
            "started_at = coalesce(started_at, ?6) WHERE seq = ?1");
        update->bind(1, runSeq).bind(2, info.device).bind(3, info.threads)
            .bind(4, info.parameters).bind(5, infoJson(info)).bind(6, batch.info->time);
        rc = update->execute();
    }
    const double duration = baseDuration + std::max(0.0, (batch.finish ? batch.finish->time : time)
                                                             - segmentStart);
    if (rc == SQLITE_OK) {
        auto heartbeat = connection.query(
            "UPDATE runs SET updated_at = ?2, duration = ?3, last_step = max(last_step, ?4) "
            "WHERE seq = ?1");
        heartbeat->bind(1, runSeq).bind(2, time).bind(3, duration).bind(4, maxStep);
        rc = heartbeat->execute();
    }
    if (batch.finish && rc == SQLITE_OK) {
        auto update = connection.query(
            "UPDATE runs SET status = ?2, message = ?3, ended_at = ?4 WHERE seq = ?1");
        update->bind(1, runSeq).bind(2, toString(batch.finish->status)).bind(3, batch.finish->message)
            .bind(4, batch.finish->time);
        rc = update->execute();
    }
    if (rc == SQLITE_OK)
        rc = transaction.commit();
    if (rc != SQLITE_OK)
        return connection.error(rc, "cannot record run " + runId);

    for (auto& [tag, state] : touched)
        series[tag] = std::move(state);
    lastCommitTime = time;
    if (maxStep > committedStep.load())
        committedStep.store(maxStep);
    return {};
}

} // namespace nnlab
