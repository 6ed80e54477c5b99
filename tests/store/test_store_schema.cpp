// Opening stores: creation, the default path, migration from version 1, and every kind of
// bad file, which must get a clear error and stay unchanged byte for byte.
#include "store_test_util.h"

#include "nnlab/store.h"

#include <QDir>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>

using namespace nnlab;
using namespace storetest;

namespace {

constexpr int kApplicationId = 0x6e6e6c62;   // "nnlb", as engine/src/store/schema.h

// The version-1 schema as nnlab 0.1 created it: user tags in one comma-separated column
// and no parent run.
const char* const kVersion1Schema = R"sql(
CREATE TABLE runs(
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, status TEXT NOT NULL,
  created_at REAL NOT NULL, started_at REAL, ended_at REAL, updated_at REAL NOT NULL,
  duration REAL NOT NULL DEFAULT 0, last_step INTEGER NOT NULL DEFAULT 0,
  experiment TEXT NOT NULL, experiment_hash TEXT NOT NULL, seed INTEGER NOT NULL DEFAULT 0,
  dataset TEXT NOT NULL DEFAULT '', parameters INTEGER NOT NULL DEFAULT 0,
  device TEXT NOT NULL DEFAULT '', threads INTEGER NOT NULL DEFAULT 0,
  torch_version TEXT NOT NULL DEFAULT '', nnlab_version TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT '',
  info TEXT NOT NULL DEFAULT '{}', message TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '');
CREATE INDEX runs_created ON runs(created_at);
CREATE TABLE series(
  id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  tag TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, first_step INTEGER NOT NULL DEFAULT 0,
  last_step INTEGER NOT NULL DEFAULT 0, final_value REAL, best_value REAL,
  best_step INTEGER NOT NULL DEFAULT -1, min_value REAL, max_value REAL, UNIQUE(run, tag));
CREATE TABLE chunks(
  series INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
  first_step INTEGER NOT NULL, last_step INTEGER NOT NULL, count INTEGER NOT NULL,
  data BLOB NOT NULL, PRIMARY KEY(series, first_step)) WITHOUT ROWID;
CREATE TABLE events(
  id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  time REAL NOT NULL, step INTEGER NOT NULL DEFAULT -1, kind TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '');
CREATE INDEX events_run ON events(run, id);
CREATE TABLE artifacts(
  id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
  time REAL NOT NULL, step INTEGER NOT NULL DEFAULT -1, kind TEXT NOT NULL, path TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT 0, hash TEXT NOT NULL DEFAULT '');
CREATE INDEX artifacts_run ON artifacts(run, id);
)sql";

// A version-1 store with one finished run: tags "baseline, cnn", 3 loss points, one event.
void writeVersion1(const std::string& path)
{
    Sql sql(path);
    QVERIFY(sql.exec(kVersion1Schema));
    QVERIFY(sql.exec("INSERT INTO runs(id, name, status, created_at, started_at, ended_at, "
                     "updated_at, duration, last_step, experiment, experiment_hash, tags) VALUES("
                     "'20240101-000000-aaaaaaaaaaaa', 'old', 'finished', 1.7e9, 1.7e9, 1.7e9 + 60, "
                     "1.7e9 + 60, 60, 2, '{\"name\": \"old\"}', 'xxh64:0', 'baseline, cnn')"));
    QVERIFY(sql.exec("INSERT INTO series(run, tag, count, first_step, last_step, final_value, "
                     "best_value, best_step, min_value, max_value) "
                     "VALUES(1, 'train/loss', 3, 0, 2, 0.5, 0.5, 2, 0.5, 2.0)"));
    std::string blob;
    const double values[] = {2.0, 1.0, 0.5};
    for (int64_t step = 0; step < 3; ++step) {
        const double wall = 1.7e9 + static_cast<double>(step);
        char record[24];
        std::memcpy(record, &step, 8);
        std::memcpy(record + 8, &wall, 8);
        std::memcpy(record + 16, &values[step], 8);
        blob.append(record, 24);
    }
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(sql.handle(), "INSERT INTO chunks VALUES(1, 0, 2, 3, ?)", -1, &insert, nullptr);
    sqlite3_bind_blob(insert, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    QCOMPARE(sqlite3_step(insert), SQLITE_DONE);
    sqlite3_finalize(insert);
    QVERIFY(sql.exec("INSERT INTO events(run, time, step, kind, detail) "
                     "VALUES(1, 1.7e9 + 30, 1, 'checkpoint', '/tmp/old.pt')"));
    QVERIFY(sql.exec("PRAGMA application_id = " + std::to_string(kApplicationId)
                     + "; PRAGMA user_version = 1"));
}

std::vector<std::string> folderEntries(const std::string& folder)
{
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Restores an environment variable when it goes.
class EnvGuard {
public:
    explicit EnvGuard(const char* name) : m_name(name)
    {
        if (const char* value = std::getenv(name)) {
            m_had = true;
            m_value = value;
        }
    }
    ~EnvGuard()
    {
        if (m_had)
            setenv(m_name, m_value.c_str(), 1);
        else
            unsetenv(m_name);
    }

private:
    const char* m_name;
    bool m_had = false;
    std::string m_value;
};

} // namespace

class TestStoreSchema : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    int m_counter = 0;

    // A fresh folder for each case.
    std::string folder()
    {
        const QString path = m_dir.path() + "/case" + QString::number(++m_counter);
        QDir().mkpath(path);
        return path.toStdString();
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void createsSchemaAndFolders()
    {
        const std::string path = folder() + "/a/b/runs.db";
        auto store = RunStore::open(path);
        QVERIFY2(store.ok(), store.error.message.c_str());
        QCOMPARE(store.value->path(), path);
        store.value.reset();
        Sql sql(path);
        QCOMPARE(sql.number("PRAGMA user_version"), static_cast<long long>(kStoreSchemaVersion));
        QCOMPARE(sql.number("PRAGMA application_id"), static_cast<long long>(kApplicationId));
        QCOMPARE(sql.scalar("PRAGMA journal_mode"), std::string("wal"));
        for (const char* table : {"runs", "run_tags", "series", "chunks", "events", "artifacts"})
            QCOMPARE(sql.number(std::string("SELECT count(*) FROM sqlite_schema WHERE name = '")
                                + table + "'"),
                     1LL);
        QCOMPARE(sql.scalar("PRAGMA integrity_check"), std::string("ok"));
    }

    void reopeningKeepsRuns()
    {
        const std::string path = folder() + "/runs.db";
        const std::string id = logRun(path, "first", 10);
        QVERIFY(!id.empty());
        auto store = RunStore::open(path);
        QVERIFY2(store.ok(), store.error.message.c_str());
        const auto runs = store.value->listRuns();
        QVERIFY(runs.ok());
        QCOMPARE(runs.value.size(), size_t(1));
        QCOMPARE(runs.value[0].id, id);
    }

    void defaultPath()
    {
        EnvGuard db("NNLAB_DB");
        EnvGuard xdg("XDG_DATA_HOME");
        EnvGuard home("HOME");
        setenv("NNLAB_DB", "/x/custom.db", 1);
        QCOMPARE(defaultDatabasePath(), std::string("/x/custom.db"));
        unsetenv("NNLAB_DB");
        setenv("XDG_DATA_HOME", "/data", 1);
        QCOMPARE(defaultDatabasePath(), std::string("/data/nnlab/runs.db"));
        setenv("XDG_DATA_HOME", "relative", 1);   // the XDG spec says to ignore it
        setenv("HOME", "/home/u", 1);
        QCOMPARE(defaultDatabasePath(), std::string("/home/u/.local/share/nnlab/runs.db"));
        unsetenv("XDG_DATA_HOME");
        QCOMPARE(defaultDatabasePath(), std::string("/home/u/.local/share/nnlab/runs.db"));
    }

    void migratesFromVersion1()
    {
        const std::string path = folder() + "/v1.db";
        writeVersion1(path);
        {
            auto readOnly = RunStore::open(path, {true, 1000});
            QVERIFY(!readOnly.ok());
            QCOMPARE(readOnly.error.code, StoreErrorCode::TooOld);
        }
        auto store = RunStore::open(path);
        QVERIFY2(store.ok(), store.error.message.c_str());
        const auto run = store.value->getRun("20240101");
        QVERIFY2(run.ok(), run.error.message.c_str());
        QCOMPARE(run.value.name, std::string("old"));
        QCOMPARE(run.value.status, RunStatus::Finished);
        QCOMPARE(run.value.tags, (std::vector<std::string>{"baseline", "cnn"}));
        QVERIFY(run.value.parentId.empty());
        QCOMPARE(run.value.metrics.at("train/loss").bestValue, 0.5);
        const auto loss = store.value->series(run.value.id, "train/loss");
        QVERIFY(loss.ok());
        QCOMPARE(loss.value.size(), size_t(3));
        QCOMPARE(loss.value[1].value, 1.0);
        const auto events = store.value->events(run.value.id);
        QVERIFY(events.ok());
        QCOMPARE(events.value.size(), size_t(1));
        QCOMPARE(events.value[0].kind, EventKind::Checkpoint);
        QVERIFY(store.value->setTags(run.value.id, {"migrated"}).ok());
        store.value.reset();

        // The migrated store is the same as a new one: same columns, integrity intact.
        Sql sql(path);
        QCOMPARE(sql.number("PRAGMA user_version"), static_cast<long long>(kStoreSchemaVersion));
        QCOMPARE(sql.scalar("PRAGMA integrity_check"), std::string("ok"));
        QCOMPARE(sql.scalar("PRAGMA foreign_key_check"), std::string());
        QCOMPARE(sql.number("SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'tags'"), 0LL);
        const std::string freshPath = folder() + "/fresh.db";
        RunStore::open(freshPath);
        Sql fresh(freshPath);
        const std::string columns = "SELECT group_concat(name || ' ' || type, ', ') FROM "
                                    "pragma_table_info('runs')";
        QCOMPARE(sql.scalar(columns), fresh.scalar(columns));
    }

    void badFiles_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("message");
        const int notNnlab = static_cast<int>(StoreErrorCode::NotRunDatabase);
        QTest::newRow("text file") << "text" << notNnlab
                                   << "not an nnlab run database (file is not a database)";
        QTest::newRow("binary file") << "binary" << notNnlab
                                     << "not an nnlab run database (file is not a database)";
        QTest::newRow("another app's SQLite") << "foreign" << notNnlab
                                              << "not an nnlab run database (SQLite file with "
                                                 "application id 0x00000000 and 1 schema objects)";
        QTest::newRow("another application id") << "appid" << notNnlab
                                                << "not an nnlab run database (SQLite file with "
                                                   "application id 0x12345678 and 0 schema objects)";
        QTest::newRow("newer schema") << "newer" << static_cast<int>(StoreErrorCode::TooNew)
                                      << "schema version 7 is newer than this nnlab supports (3); "
                                         "upgrade nnlab";
        QTest::newRow("folder") << "folder" << notNnlab
                                << "not an nnlab run database (not a regular file)";
    }
    void badFiles()
    {
        QFETCH(QString, kind);
        QFETCH(int, code);
        QFETCH(QString, message);
        const std::string dir = folder();
        const std::string path = dir + "/bad.db";
        if (kind == "text") {
            std::string text;
            for (int i = 0; i < 200; ++i)
                text += "epoch,loss\n1,0.5\n";
            writeBytes(path, text);
        } else if (kind == "binary") {
            std::string bytes(8192, '\0');
            for (size_t i = 0; i < bytes.size(); ++i)
                bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
            writeBytes(path, bytes);
        } else if (kind == "foreign") {
            Sql(path).exec("CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('mine')");
        } else if (kind == "appid") {
            Sql(path).exec("PRAGMA application_id = 305419896");
        } else if (kind == "newer") {
            Sql(path).exec("CREATE TABLE runs(seq INTEGER PRIMARY KEY); PRAGMA application_id = "
                           + std::to_string(kApplicationId) + "; PRAGMA user_version = 7");
        } else if (kind == "folder") {
            QDir().mkpath(QString::fromStdString(path));
        }
        const std::string before = readBytes(path);
        const auto entriesBefore = folderEntries(dir);

        for (bool readOnly : {false, true}) {
            auto store = RunStore::open(path, {readOnly, 1000});
            QVERIFY(!store.ok());
            QCOMPARE(static_cast<int>(store.error.code), code);
            QCOMPARE(QString::fromStdString(store.error.message),
                     QString::fromStdString(path) + ": " + message);
            auto recorder = RunRecorder::open(path);
            QVERIFY(!recorder.ok());
            QCOMPARE(static_cast<int>(recorder.error.code), code);
        }
        QVERIFY(readBytes(path) == before);
        QCOMPARE(folderEntries(dir), entriesBefore);
    }

    void readOnlyFile()
    {
        const std::string path = folder() + "/runs.db";
        const std::string id = logRun(path, "kept", 20);
        QVERIFY(!id.empty());
        QVERIFY(chmod(path.c_str(), 0444) == 0);
        const std::string before = readBytes(path);

        auto writable = RunStore::open(path);
        QVERIFY(!writable.ok());
        QCOMPARE(writable.error.code, StoreErrorCode::ReadOnly);
        QVERIFY2(writable.error.message.find(path + ": the file is read-only") == 0,
                 writable.error.message.c_str());
        QVERIFY(!RunRecorder::open(path).ok());

        auto store = RunStore::open(path, {true, 1000});
        QVERIFY2(store.ok(), store.error.message.c_str());
        QVERIFY(store.value->isReadOnly());
        const auto runs = store.value->listRuns();
        QVERIFY(runs.ok());
        QCOMPARE(runs.value.size(), size_t(1));
        QCOMPARE(store.value->series(id, "train/loss").value.size(), size_t(20));
        const StoreError renamed = store.value->rename(id, "other");
        QCOMPARE(renamed.code, StoreErrorCode::ReadOnly);
        QVERIFY(renamed.message.find("read-only") != std::string::npos);
        store.value.reset();
        QVERIFY(readBytes(path) == before);
        chmod(path.c_str(), 0644);
    }

    void readOnlyFolder()
    {
        const std::string dir = folder();
        const std::string path = dir + "/runs.db";
        QVERIFY(!logRun(path, "kept", 5).empty());
        QVERIFY(chmod(dir.c_str(), 0555) == 0);
        auto writable = RunStore::open(path);
        auto created = RunStore::open(dir + "/new.db");
        auto store = RunStore::open(path, {true, 1000});
        chmod(dir.c_str(), 0755);
        QVERIFY(!writable.ok());
        QCOMPARE(writable.error.code, StoreErrorCode::ReadOnly);
        QVERIFY2(writable.error.message.find("the folder " + dir + " is read-only") != std::string::npos,
                 writable.error.message.c_str());
        QVERIFY(!created.ok());
        QCOMPARE(created.error.code, StoreErrorCode::ReadOnly);
        QVERIFY2(store.ok(), store.error.message.c_str());
        QCOMPARE(store.value->listRuns().value.size(), size_t(1));
    }

    void missingFileReadOnly()
    {
        auto store = RunStore::open(folder() + "/none.db", {true, 1000});
        QVERIFY(!store.ok());
        QCOMPARE(store.error.code, StoreErrorCode::NotFound);
    }

    // Another connection holds the write lock: writers wait for the busy timeout, then say so.
    void lockedByAnotherProcess()
    {
        const std::string path = folder() + "/runs.db";
        QVERIFY(!logRun(path, "before", 5).empty());
        Sql other(path);
        QVERIFY(other.exec("BEGIN EXCLUSIVE; UPDATE runs SET notes = 'busy'"));

        auto recorder = RunRecorder::open(path, {0.5, 300});
        QVERIFY2(recorder.ok(), recorder.error.message.c_str());   // WAL: reading is not blocked
        QElapsedTimer timer;
        timer.start();
        const auto id = recorder.value->begin(spec("blocked"), experimentJson("blocked", 0.1));
        QVERIFY(!id.ok());
        QVERIFY(timer.elapsed() >= 250);
        QCOMPARE(id.error.code, StoreErrorCode::Locked);
        QVERIFY2(id.error.message.find(path + ": ") == 0, id.error.message.c_str());
        QVERIFY2(id.error.message.find("database is locked by another process (waited 0.3 s)")
                     != std::string::npos,
                 id.error.message.c_str());

        auto store = RunStore::open(path, {false, 300});
        QVERIFY(store.ok());
        QCOMPARE(store.value->rename(store.value->listRuns().value[0].id, "x").code,
                 StoreErrorCode::Locked);
        QVERIFY(other.exec("ROLLBACK"));
        QVERIFY(store.value->rename(store.value->listRuns().value[0].id, "x").ok());
    }

    // A version-1 store still in rollback-journal mode, locked: even reading waits, then fails.
    void lockedDuringOpen()
    {
        const std::string path = folder() + "/v1.db";
        writeVersion1(path);
        Sql other(path);
        QVERIFY(other.exec("BEGIN EXCLUSIVE; UPDATE runs SET notes = 'busy'"));
        const std::string before = readBytes(path);
        auto store = RunStore::open(path, {false, 200});
        QVERIFY(!store.ok());
        QCOMPARE(store.error.code, StoreErrorCode::Locked);
        QVERIFY2(store.error.message.find("locked by another process (waited 0.2 s)") != std::string::npos,
                 store.error.message.c_str());
        QVERIFY(other.exec("ROLLBACK"));
        QVERIFY(readBytes(path) == before);
        QVERIFY(RunStore::open(path).ok());
    }
};

QTEST_APPLESS_MAIN(TestStoreSchema)
#include "test_store_schema.moc"
