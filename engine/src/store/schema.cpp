#include "schema.h"

#include "owner.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace nnlab::store {
namespace {

// The current schema, created in one transaction. Column order matches what migrating a
// version-1 store gives (parent_id last), so both kinds of store are the same.
// Metric points live in `chunks` (see chunks.h); `series` keeps each tag's summary.
const char* const kCreateSchema = R"sql(
CREATE TABLE runs(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at REAL NOT NULL,
  started_at REAL,
  ended_at REAL,
  updated_at REAL NOT NULL,
  duration REAL NOT NULL DEFAULT 0,
  last_step INTEGER NOT NULL DEFAULT 0,
  experiment TEXT NOT NULL,
  experiment_hash TEXT NOT NULL,
  seed INTEGER NOT NULL DEFAULT 0,
  dataset TEXT NOT NULL DEFAULT '',
  parameters INTEGER NOT NULL DEFAULT 0,
  device TEXT NOT NULL DEFAULT '',
  threads INTEGER NOT NULL DEFAULT 0,
  torch_version TEXT NOT NULL DEFAULT '',
  nnlab_version TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  owner TEXT NOT NULL DEFAULT '',
  info TEXT NOT NULL DEFAULT '{}',
  message TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  parent_id TEXT);
CREATE INDEX runs_created ON runs(created_at);
CREATE TABLE run_tags(
  run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY(run, tag)) WITHOUT ROWID;
CREATE TABLE series(
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  first_step INTEGER NOT NULL DEFAULT 0,
  last_step INTEGER NOT NULL DEFAULT 0,
  final_value REAL,
  best_value REAL,
  best_step INTEGER NOT NULL DEFAULT -1,
  min_value REAL,
  max_value REAL,
  UNIQUE(run, tag));
CREATE TABLE chunks(
  series INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
  first_step INTEGER NOT NULL,
  last_step INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY(series, first_step)) WITHOUT ROWID;
CREATE TABLE events(
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  time REAL NOT NULL,
  step INTEGER NOT NULL DEFAULT -1,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '');
CREATE INDEX events_run ON events(run, id);
CREATE TABLE artifacts(
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  time REAL NOT NULL,
  step INTEGER NOT NULL DEFAULT -1,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  hash TEXT NOT NULL DEFAULT '');
CREATE INDEX artifacts_run ON artifacts(run, id);
CREATE TABLE snapshots(
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  shape TEXT NOT NULL,
  meta TEXT NOT NULL DEFAULT '{}',
  data BLOB NOT NULL);
CREATE INDEX snapshots_run ON snapshots(run, kind, name, step);
)sql";

std::string trim(const std::string& text)
{
    const auto begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos)
        return {};
    const auto end = text.find_last_not_of(" \t");
    return text.substr(begin, end - begin + 1);
}

// Version 1 kept user tags as one comma-separated column and had no parent run.
int migrate1to2(Connection& db)
{
    int rc = db.exec(
        "ALTER TABLE runs ADD COLUMN parent_id TEXT;"
        "CREATE TABLE run_tags("
        "  run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,"
        "  tag TEXT NOT NULL,"
        "  PRIMARY KEY(run, tag)) WITHOUT ROWID;");
    if (rc != SQLITE_OK)
        return rc;
    std::vector<std::pair<int64_t, std::string>> tagged;
    {
        Statement select(db.handle(), "SELECT seq, tags FROM runs WHERE tags <> ''");
        while (select.next())
            tagged.emplace_back(select.integer("seq"), select.text("tags"));
        if (select.lastResult() != SQLITE_DONE)
            return select.lastResult();
    }
    Statement insert(db.handle(), "INSERT OR IGNORE INTO run_tags(run, tag) VALUES(?, ?)");
    for (const auto& [seq, tags] : tagged) {
        size_t start = 0;
        while (start <= tags.size()) {
            const auto comma = tags.find(',', start);
            const std::string tag = trim(tags.substr(start, comma - start));
            if (!tag.empty()) {
                insert.bind(1, seq).bind(2, tag);
                rc = insert.run();
                insert.reset();
                if (rc != SQLITE_DONE)
                    return rc;
            }
            if (comma == std::string::npos)
                break;
            start = comma + 1;
        }
    }
    return db.exec("ALTER TABLE runs DROP COLUMN tags");
}

// Version 2 had no snapshots (nnlab/snapshot.h): the table as kCreateSchema makes it.
int migrate2to3(Connection& db)
{
    return db.exec(
        "CREATE TABLE snapshots("
        "  id INTEGER PRIMARY KEY,"
        "  run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,"
        "  step INTEGER NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  name TEXT NOT NULL DEFAULT '',"
        "  shape TEXT NOT NULL,"
        "  meta TEXT NOT NULL DEFAULT '{}',"
        "  data BLOB NOT NULL);"
        "CREATE INDEX snapshots_run ON snapshots(run, kind, name, step);");
}

// Each step after the store's version, in order; the caller holds the transaction.
int migrate(Connection& db, int from)
{
    int rc = SQLITE_OK;
    if (from <= 1 && rc == SQLITE_OK)
        rc = migrate1to2(db);
    if (from <= 2 && rc == SQLITE_OK)
        rc = migrate2to3(db);
    return rc;
}

struct Header {
    int applicationId = 0;
    int version = 0;
    int objects = 0;
};

int readHeader(Connection& db, Header& header)
{
    Statement app(db.handle(), "PRAGMA application_id");
    if (!app.valid())
        return app.prepareResult();
    if (!app.next())
        return app.lastResult();
    header.applicationId = static_cast<int>(app.integer("application_id"));
    Statement version(db.handle(), "PRAGMA user_version");
    if (!version.next())
        return version.lastResult();
    header.version = static_cast<int>(version.integer("user_version"));
    Statement objects(db.handle(), "SELECT count(*) AS objects FROM sqlite_schema");
    if (!objects.next())
        return objects.lastResult();
    header.objects = static_cast<int>(objects.integer("objects"));
    return SQLITE_OK;
}

// The user marked it read-only. Root could write anyway; nnlab still won't.
bool markedReadOnly(const std::string& path)
{
    struct stat info {};
    if (stat(path.c_str(), &info) != 0)
        return false;
    return access(path.c_str(), W_OK) != 0 || (info.st_mode & 0222) == 0;
}

StoreError checkWritable(const std::string& path, bool exists)
{
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    if (!exists) {
        std::error_code ec;
        std::filesystem::create_directories(folder, ec);
        if (ec)
            return makeError(StoreErrorCode::Io, path,
                             "cannot create the folder " + folder.string() + ": " + ec.message());
    }
    if (exists && markedReadOnly(path))
        return makeError(StoreErrorCode::ReadOnly, path,
                         "the file is read-only; nnlab will not write to it (browse it "
                         "read-only, or choose another file with --db or NNLAB_DB)");
    if (markedReadOnly(folder.string()))
        return makeError(StoreErrorCode::ReadOnly, path,
                         "the folder " + folder.string() + " is read-only; the database needs "
                         "to create its -wal and -shm files beside it (choose another file "
                         "with --db or NNLAB_DB)");
    return {};
}

int createOrMigrate(Connection& db)
{
    Transaction transaction(db);
    int rc = transaction.begin();
    if (rc != SQLITE_OK)
        return rc;
    // Another process may have created or migrated it while this one waited for the lock.
    Header header;
    rc = readHeader(db, header);
    if (rc != SQLITE_OK)
        return rc;
    rc = header.version == 0 ? db.exec(kCreateSchema) : migrate(db, header.version);
    if (rc != SQLITE_OK)
        return rc;
    rc = db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)
                 + "; PRAGMA user_version = " + std::to_string(kStoreSchemaVersion));
    if (rc != SQLITE_OK)
        return rc;
    return transaction.commit();
}

int markInterruptedRuns(Connection& db)
{
    std::vector<std::pair<int64_t, std::string>> dead;
    {
        Statement running(db.handle(),
                          "SELECT seq, host, pid, owner FROM runs WHERE status = 'running'");
        while (running.next()) {
            const std::string host = running.text("host");
            const int64_t pid = running.integer("pid");
            if (ownerLiveness(host, pid, running.text("owner")) == Liveness::Dead)
                dead.emplace_back(running.integer("seq"),
                                  "process " + std::to_string(pid) + " on " + host
                                      + " ended without finishing the run (killed, crashed "
                                        "or power lost)");
        }
        if (running.lastResult() != SQLITE_DONE)
            return running.lastResult();
    }
    if (dead.empty())
        return SQLITE_OK;
    Transaction transaction(db);
    int rc = transaction.begin();
    if (rc != SQLITE_OK)
        return rc;
    Statement update(db.handle(),
                     "UPDATE runs SET status = 'interrupted', ended_at = updated_at, message = ?2 "
                     "WHERE seq = ?1 AND status = 'running'");
    Statement event(db.handle(),
                    "INSERT INTO events(run, time, step, kind, detail) "
                    "SELECT seq, updated_at, last_step, 'interrupted', ?2 FROM runs WHERE seq = ?1");
    for (const auto& [seq, message] : dead) {
        update.bind(1, seq).bind(2, message);
        rc = update.run();
        update.reset();
        if (rc != SQLITE_DONE)
            return rc;
        if (sqlite3_changes(db.handle()) == 0)
            continue;
        event.bind(1, seq).bind(2, message);
        rc = event.run();
        event.reset();
        if (rc != SQLITE_DONE)
            return rc;
    }
    return transaction.commit();
}

sqlite3* openHandle(const std::string& name, int flags, int busyTimeoutMs, int& rc)
{
    sqlite3* handle = nullptr;
    rc = sqlite3_open_v2(name.c_str(), &handle, flags, nullptr);
    if (handle)
        sqlite3_busy_timeout(handle, busyTimeoutMs);
    return handle;
}

} // namespace

std::string absolutePath(const std::string& path)
{
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(path, ec);
    return ec ? path : absolute.lexically_normal().string();
}

std::string fileUri(const std::string& path, const std::string& parameters)
{
    std::string uri = "file:";
    for (const unsigned char c : absolutePath(path)) {
        if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
            uri += static_cast<char>(c);
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof(escaped), "%%%02X", c);
            uri += escaped;
        }
    }
    return parameters.empty() ? uri : uri + "?" + parameters;
}

StoreResult<std::unique_ptr<Connection>> openConnection(const std::string& requestedPath,
                                                        bool readOnly, int busyTimeoutMs)
{
    StoreResult<std::unique_ptr<Connection>> result;
    const std::string path = absolutePath(requestedPath.empty() ? defaultDatabasePath()
                                                                : requestedPath);
    struct stat info {};
    const bool exists = stat(path.c_str(), &info) == 0;
    if (exists && !S_ISREG(info.st_mode)) {
        result.error = makeError(StoreErrorCode::NotRunDatabase, path,
                                 "not an nnlab run database (not a regular file)");
        return result;
    }
    if (readOnly && !exists) {
        result.error = makeError(StoreErrorCode::NotFound, path, "no run database here");
        return result;
    }
    if (!readOnly) {
        result.error = checkWritable(path, exists);
        if (!result.ok())
            return result;
    }

    // Absolute paths never start with "file:", so SQLITE_OPEN_URI only enables the URIs
    // that ATTACH (import) and the immutable fallback use.
    const int flags = SQLITE_OPEN_URI
                      | (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = SQLITE_OK;
    auto db = std::make_unique<Connection>(openHandle(path, flags, busyTimeoutMs, rc), path,
                                           busyTimeoutMs, readOnly);
    Header header;
    if (rc == SQLITE_OK)
        rc = readHeader(*db, header);
    if (readOnly && ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY)) {
        // A WAL store in a read-only folder without its -shm file (which a reader must be
        // able to create): nobody can be writing it, so read it as immutable.
        db = std::make_unique<Connection>(
            openHandle(fileUri(path, "immutable=1"), flags, busyTimeoutMs, rc), path,
            busyTimeoutMs, readOnly);
        if (rc == SQLITE_OK)
            rc = readHeader(*db, header);
    }
    if (rc != SQLITE_OK) {
        result.error = db->error(rc, "cannot read");
        return result;
    }

    const bool empty = header.applicationId == 0 && header.version == 0 && header.objects == 0;
    if (!empty && header.applicationId != kApplicationId) {
        char id[16];
        std::snprintf(id, sizeof(id), "0x%08x", static_cast<unsigned>(header.applicationId));
        result.error = makeError(StoreErrorCode::NotRunDatabase, path,
                                 "not an nnlab run database (SQLite file with application id "
                                     + std::string(id) + " and " + std::to_string(header.objects)
                                     + " schema objects)");
        return result;
    }
    if (header.version > kStoreSchemaVersion) {
        result.error = makeError(StoreErrorCode::TooNew, path,
                                 "schema version " + std::to_string(header.version)
                                     + " is newer than this nnlab supports ("
                                     + std::to_string(kStoreSchemaVersion) + "); upgrade nnlab");
        return result;
    }
    if (readOnly) {
        if (empty) {
            result.error = makeError(StoreErrorCode::NotRunDatabase, path,
                                     "not an nnlab run database (empty file)");
        } else if (header.version < kStoreSchemaVersion) {
            result.error = makeError(StoreErrorCode::TooOld, path,
                                     "schema version " + std::to_string(header.version)
                                         + " must be upgraded to "
                                         + std::to_string(kStoreSchemaVersion)
                                         + ", which needs write access");
        } else {
            db->exec("PRAGMA query_only = 1");
            result.value = std::move(db);
        }
        return result;
    }

    // Verified: from here on the file is an nnlab store (or empty) and may be written.
    Statement wal(db->handle(), "PRAGMA journal_mode = WAL");
    rc = wal.step();
    if (rc != SQLITE_ROW || wal.text("journal_mode") != "wal") {
        result.error = db->error(rc == SQLITE_ROW ? SQLITE_BUSY : rc, "cannot switch to WAL");
        return result;
    }
    wal.reset();
    db->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
             "PRAGMA journal_size_limit = 67108864");
    if (empty || header.version < kStoreSchemaVersion) {
        rc = createOrMigrate(*db);
        if (rc != SQLITE_OK) {
            result.error = db->error(rc, empty ? "cannot create the schema"
                                               : "cannot upgrade the schema");
            return result;
        }
    }
    rc = markInterruptedRuns(*db);
    // Bookkeeping only (readers derive the same status from the owner's liveness), so a
    // store on a full disk still opens and lists its runs.
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_FULL) {
        result.error = db->error(rc, "cannot mark interrupted runs");
        return result;
    }
    result.value = std::move(db);
    return result;
}

StoreError verifyReadable(const std::string& path, int busyTimeoutMs)
{
    return openConnection(path, true, busyTimeoutMs).error;
}

RunStatus effectiveStatus(const std::string& status, const std::string& host, int64_t pid,
                          const std::string& owner)
{
    const RunStatus parsed = runStatusFromString(status).value_or(RunStatus::Interrupted);
    if (parsed == RunStatus::Running && ownerLiveness(host, pid, owner) == Liveness::Dead)
        return RunStatus::Interrupted;
    return parsed;
}

} // namespace nnlab::store

namespace nnlab {

std::string defaultDatabasePath()
{
    if (const char* env = std::getenv("NNLAB_DB"); env && *env)
        return env;
    // The XDG spec says to ignore a relative XDG_DATA_HOME.
    if (const char* data = std::getenv("XDG_DATA_HOME"); data && data[0] == '/')
        return std::string(data) + "/nnlab/runs.db";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.local/share/nnlab/runs.db";
}

} // namespace nnlab
