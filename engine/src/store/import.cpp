// RunStore::importFrom: merge runs from another store. The other file is verified with a
// read-only open, then attached read-only; each run is copied by SQL in its own transaction,
// so an import cut short leaves whole runs only and simply continues when run again.
#include "store_impl.h"

#include "owner.h"
#include "schema.h"

#include <sys/stat.h>

#include <vector>

namespace nnlab {

using namespace store;

namespace {

struct SourceRun {
    int64_t seq = 0;
    std::string id;
    std::string status;
    std::string host;
    int64_t pid = 0;
    std::string owner;
};

bool sameFile(const std::string& a, const std::string& b)
{
    struct stat sa {};
    struct stat sb {};
    return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev
           && sa.st_ino == sb.st_ino;
}

// Copies one run; the caller holds the transaction. A run whose owner died while it ran
// arrives as interrupted, like the source store would show it.
int copyRun(Connection& db, const SourceRun& run)
{
    auto insert = db.query(
        "INSERT INTO main.runs(id, name, status, created_at, started_at, ended_at, updated_at, "
        "duration, last_step, experiment, experiment_hash, seed, dataset, parameters, device, "
        "threads, torch_version, nnlab_version, host, pid, owner, info, message, notes, parent_id) "
        "SELECT id, name, CASE status WHEN 'running' THEN 'interrupted' ELSE status END, "
        "created_at, started_at, CASE status WHEN 'running' THEN updated_at ELSE ended_at END, "
        "updated_at, duration, last_step, experiment, experiment_hash, seed, dataset, parameters, "
        "device, threads, torch_version, nnlab_version, host, pid, owner, info, message, notes, "
        "parent_id FROM src.runs WHERE seq = ?");
    insert->bind(1, run.seq);
    if (insert->run() != SQLITE_DONE)
        return insert->lastResult();
    // A source whose runs.seq is not the rowid (a damaged schema) can hold NULL seqs, which
    // select nothing: reporting such a run imported would import it again every time.
    if (sqlite3_changes(db.handle()) != 1)
        return SQLITE_CORRUPT;
    const int64_t seq = sqlite3_last_insert_rowid(db.handle());

    const char* const copies[] = {
        "INSERT INTO main.run_tags(run, tag) SELECT ?2, tag FROM src.run_tags WHERE run = ?1",
        "INSERT INTO main.series(run, tag, count, first_step, last_step, final_value, best_value, "
        "best_step, min_value, max_value) SELECT ?2, tag, count, first_step, last_step, "
        "final_value, best_value, best_step, min_value, max_value FROM src.series WHERE run = ?1",
        "INSERT INTO main.chunks(series, first_step, last_step, count, data) "
        "SELECT m.id, c.first_step, c.last_step, c.count, c.data FROM src.chunks c "
        "JOIN src.series s ON s.id = c.series JOIN main.series m ON m.run = ?2 AND m.tag = s.tag "
        "WHERE s.run = ?1",
        "INSERT INTO main.events(run, time, step, kind, detail) "
        "SELECT ?2, time, step, kind, detail FROM src.events WHERE run = ?1 ORDER BY id",
        "INSERT INTO main.artifacts(run, time, step, kind, path, size, hash) "
        "SELECT ?2, time, step, kind, path, size, hash FROM src.artifacts WHERE run = ?1 ORDER BY id",
        "INSERT INTO main.snapshots(run, step, kind, name, shape, meta, data) "
        "SELECT ?2, step, kind, name, shape, meta, data FROM src.snapshots WHERE run = ?1 ORDER BY id",
    };
    for (const char* sql : copies) {
        auto copy = db.query(sql);
        copy->bind(1, run.seq).bind(2, seq);
        if (copy->run() != SQLITE_DONE)
            return copy->lastResult();
    }
    if (run.status == "running") {
        auto event = db.query("INSERT INTO main.events(run, time, step, kind, detail) "
                              "SELECT seq, updated_at, last_step, 'interrupted', "
                              "'imported: its process ended without finishing the run' "
                              "FROM main.runs WHERE seq = ?");
        event->bind(1, seq);
        if (event->run() != SQLITE_DONE)
            return event->lastResult();
    }
    return SQLITE_OK;
}

} // namespace

StoreResult<ImportReport> RunStore::importFrom(const std::string& otherPath)
{
    std::lock_guard<std::mutex> lock(m_impl->mutex);
    StoreResult<ImportReport> result;
    if (result.error = m_impl->requireWritable(); !result.ok())
        return result;
    Connection& db = *m_impl->db;
    const std::string source = absolutePath(otherPath);
    if (sameFile(source, db.path())) {
        result.error = makeError(StoreErrorCode::InvalidArgument, source,
                                 "cannot import a run database into itself");
        return result;
    }
    if (result.error = verifyReadable(source, db.busyTimeoutMs()); !result.ok())
        return result;

    auto attach = db.query("ATTACH DATABASE ? AS src");
    attach->bind(1, fileUri(source, "mode=ro"));
    if (attach->run() != SQLITE_DONE) {
        result.error = makeError(StoreErrorCode::Io, source,
                                 std::string("cannot attach: ") + sqlite3_errmsg(db.handle()));
        return result;
    }

    std::vector<SourceRun> runs;
    {
        auto select = db.query("SELECT s.seq AS seq, s.id AS id, s.status AS status, s.host AS host, "
                               "s.pid AS pid, s.owner AS owner, "
                               "EXISTS(SELECT 1 FROM main.runs m WHERE m.id = s.id) AS present "
                               "FROM src.runs s ORDER BY s.created_at");
        ImportReport& report = result.value;
        while (select->next()) {
            SourceRun run;
            run.seq = select->integer("seq");
            run.id = select->text("id");
            run.status = select->text("status");
            run.host = select->text("host");
            run.pid = select->integer("pid");
            run.owner = select->text("owner");
            if (select->integer("present") != 0)
                report.alreadyPresent.push_back(run.id);
            else if (run.status == "running"
                     && ownerLiveness(run.host, run.pid, run.owner) != Liveness::Dead)
                report.stillRunning.push_back(run.id);
            else
                runs.push_back(run);
        }
        if (select->lastResult() != SQLITE_DONE)
            result.error = makeError(StoreErrorCode::Io, source,
                                     std::string("cannot read runs: ") + sqlite3_errmsg(db.handle()));
    }
    for (const SourceRun& run : runs) {
        if (!result.ok())
            break;
        Transaction transaction(db);
        int rc = transaction.begin();
        if (rc == SQLITE_OK)
            rc = copyRun(db, run);
        if (rc == SQLITE_OK)
            rc = transaction.commit();
        if (rc == SQLITE_OK)
            result.value.imported.push_back(run.id);
        else if (rc == SQLITE_CORRUPT && sqlite3_errcode(db.handle()) == SQLITE_OK)   // copyRun's check
            result.error = makeError(StoreErrorCode::Corrupt, source, "cannot import run " + run.id
                                     + ": its row could not be copied (a damaged runs table)");
        else
            result.error = db.error(rc, "cannot import run " + run.id + " from " + source);
    }
    db.exec("DETACH DATABASE src");
    return result;
}

} // namespace nnlab
