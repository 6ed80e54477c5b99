// Thin RAII over the SQLite C API for the store: a connection with a prepared-statement
// cache, statements that reset themselves, transactions that roll back unless committed,
// and SQLite result codes turned into StoreErrors that name the file.
#pragma once

#include "nnlab/store.h"

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nnlab::store {

class Statement {
public:
    Statement() = default;
    Statement(sqlite3* db, const std::string& sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    bool valid() const { return m_stmt != nullptr; }
    int prepareResult() const { return m_prepareRc; }

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, const std::string& value);
    Statement& bindNull(int index);
    Statement& bindBlob(int index, const void* data, size_t size);

    int step();                              // SQLITE_ROW, SQLITE_DONE or an error code
    bool next() { return step() == SQLITE_ROW; }
    int lastResult() const { return m_lastRc; }
    // Runs to completion; returns SQLITE_DONE on success.
    int run();
    // Runs to completion; SQLITE_OK on success, so it chains with other result codes.
    int execute() { return run() == SQLITE_DONE ? SQLITE_OK : m_lastRc; }
    // After a loop over next(): SQLITE_OK when the rows ran out, else what stopped it.
    int readResult() const { return m_lastRc == SQLITE_DONE ? SQLITE_OK : m_lastRc; }
    void reset();

    // The current row's columns, by the name the SELECT gives them (the column's own name,
    // or its AS alias; give every expression an alias). Reading by name keeps a reader right
    // when a SELECT's column list changes. A name the statement does not have is a bug: it
    // reads as NULL, is reported on stderr, and the next step() fails with SQLITE_RANGE so
    // a reading loop reports an error.
    bool isNull(std::string_view column) const;
    int64_t integer(std::string_view column) const;
    double real(std::string_view column) const;       // NULL (SQLite's NaN) reads as NaN
    std::string text(std::string_view column) const;
    const void* blob(std::string_view column) const;
    int blobSize(std::string_view column) const;
    // The column's index, -1 (with the report above) when there is none.
    int columnIndex(std::string_view column) const;

private:
    sqlite3_stmt* m_stmt = nullptr;
    int m_prepareRc = SQLITE_OK;
    int m_lastRc = SQLITE_OK;
    // Column names, read from the prepared statement at the first lookup: a statement is
    // prepared once and read many times, so each lookup is a short scan of a few names.
    mutable std::vector<std::string> m_columnNames;
    mutable size_t m_nextColumn = 0;   // where columnIndex looks first
    mutable bool m_missingColumn = false;
};

class Connection;

// A cached statement borrowed for one use; reset (ending its read snapshot) when it goes.
class Query {
public:
    explicit Query(Statement& statement) : m_statement(&statement) {}
    ~Query() { m_statement->reset(); }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    Statement* operator->() { return m_statement; }
    Statement& operator*() { return *m_statement; }

private:
    Statement* m_statement;
};

class Connection {
public:
    Connection(sqlite3* db, std::string path, int busyTimeoutMs, bool readOnly);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* handle() const { return m_db; }
    const std::string& path() const { return m_path; }
    bool readOnly() const { return m_readOnly; }
    int busyTimeoutMs() const { return m_busyTimeoutMs; }

    // A prepared statement kept for the connection's life; invalid (and recorded as the
    // last error) when the SQL does not compile.
    Query query(const std::string& sql);
    int exec(const std::string& sql);

    // "PATH: what: reason", the reason from the result code and SQLite's message.
    StoreError error(int rc, const std::string& what = {}) const;
    // No error for SQLITE_OK, else error(rc, what).
    StoreError check(int rc, const std::string& what) const
    {
        return rc == SQLITE_OK ? StoreError() : error(rc, what);
    }

private:
    sqlite3* m_db;
    std::string m_path;
    int m_busyTimeoutMs;
    bool m_readOnly;
    std::map<std::string, std::unique_ptr<Statement>> m_cache;
};

// BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a
// transaction never fails halfway on a lock upgrade.
class Transaction {
public:
    explicit Transaction(Connection& db) : m_db(db) {}
    ~Transaction();
    int begin();
    int commit();

private:
    Connection& m_db;
    bool m_open = false;
};

StoreError makeError(StoreErrorCode code, const std::string& path, const std::string& message);
StoreError noSuchRun(const std::string& path, const std::string& id);

// Seconds since the Unix epoch, with sub-second resolution.
double now();

} // namespace nnlab::store
