// A run's files beside the store (checkpoints), and deleting a run with them. Only files in
// the store's own checkpoints folder are ever removed: an artifact path recorded elsewhere
// (an imported run's, a model the user exported) is the user's.
#include "store_impl.h"

#include "owner.h"

#include <filesystem>
#include <set>
#include <system_error>

namespace nnlab {

using namespace store;
namespace fs = std::filesystem;

namespace {

fs::path checkpointFolder(const std::string& databasePath)
{
    return fs::path(databasePath).parent_path() / "checkpoints";
}

fs::path checkpointFile(const std::string& databasePath, const std::string& runId, CheckpointKind kind)
{
    return checkpointFolder(databasePath) / (runId + (kind == CheckpointKind::Best ? ".best.pt" : ".pt"));
}

StoreError refuseIfRunning(Connection& db, const RunRef& run)
{
    auto owner = db.query("SELECT host, pid, owner FROM runs WHERE seq = ? AND status = 'running'");
    owner->bind(1, run.seq);
    if (!owner->next())
        return db.check(owner->readResult(), "cannot read run " + run.id);
    const std::string host = owner->text("host");
    const int64_t pid = owner->integer("pid");
    if (ownerLiveness(host, pid, owner->text("owner")) == Liveness::Dead)
        return {};
    return makeError(StoreErrorCode::WrongState, db.path(),
                     "run " + run.id + " is still running (process " + std::to_string(pid) + " on "
                         + host + "); cancel it first");
}

// The run's checkpoint files that deleting it may remove: its latest and best checkpoints
// and its checkpoint artifacts, each only when it lies directly in the store's checkpoints
// folder (after resolving "..", links and the like) and no other run records it.
StoreError checkpointFiles(Connection& db, const RunRef& run, std::vector<std::string>& files)
{
    std::set<std::string> candidates{checkpointFile(db.path(), run.id, CheckpointKind::Latest).string(),
                                     checkpointFile(db.path(), run.id, CheckpointKind::Best).string()};
    {
        auto select = db.query("SELECT path FROM artifacts WHERE run = ? "
                               "AND kind IN ('checkpoint', 'best_checkpoint')");
        select->bind(1, run.seq);
        while (select->next())
            candidates.insert(select->text("path"));
        if (select->readResult() != SQLITE_OK)
            return db.error(select->lastResult(), "cannot read the artifacts of run " + run.id);
    }
    std::error_code ec;
    const fs::path folder = fs::weakly_canonical(checkpointFolder(db.path()), ec);
    if (ec)
        return {};   // no checkpoints folder: nothing to remove
    for (const std::string& path : candidates) {
        const fs::path file(path);
        if (!file.has_filename() || fs::weakly_canonical(file.parent_path(), ec) != folder || ec)
            continue;
        const fs::file_status status = fs::symlink_status(file, ec);
        if (ec || !(fs::is_regular_file(status) || fs::is_symlink(status)))
            continue;
        auto shared = db.query("SELECT 1 AS shared FROM artifacts WHERE path = ? AND run <> ? LIMIT 1");
        shared->bind(1, path).bind(2, run.seq);
        if (shared->next())
            continue;
        if (shared->readResult() != SQLITE_OK)
            return db.error(shared->lastResult(), "cannot read artifacts");
        files.push_back(path);
    }
    return {};
}

} // namespace

std::string checkpointPathFor(const std::string& databasePath, const std::string& runId, CheckpointKind kind)
{
    std::error_code ec;
    fs::create_directories(checkpointFolder(databasePath), ec);
    return checkpointFile(databasePath, runId, kind).string();
}

StoreResult<DeleteReport> RunStore::deleteRun(const std::string& id, DeleteFiles files)
{
    StoreResult<DeleteReport> result;
    std::vector<std::string> doomed;
    result.error = editRun(*m_impl, id, [&](Connection& db, const RunRef& run) {
        if (StoreError error = refuseIfRunning(db, run); !error.ok())
            return error;
        if (files == DeleteFiles::Checkpoints) {
            if (StoreError error = checkpointFiles(db, run, doomed); !error.ok())
                return error;
        }
        // Foreign keys cascade to tags, series, chunks, events and artifacts, in one statement.
        auto remove = db.query("DELETE FROM runs WHERE seq = ?");
        remove->bind(1, run.seq);
        const int rc = remove->execute();
        if (rc == SQLITE_OK)
            result.value.id = run.id;
        return db.check(rc, "cannot delete run " + run.id);
    });
    if (!result.ok())
        return result;
    for (const std::string& path : doomed) {
        std::error_code ec;
        if (fs::remove(path, ec))
            result.value.removedFiles.push_back(path);
        else if (ec && result.ok())
            result.error = makeError(StoreErrorCode::Io, path,
                                     "run " + result.value.id + " was deleted, but not this checkpoint: "
                                         + ec.message());
    }
    return result;
}

} // namespace nnlab
