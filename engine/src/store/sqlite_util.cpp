#include "sqlite_util.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <utility>

namespace nnlab::store {

Statement::Statement(sqlite3* db, const std::string& sql)
{
    m_prepareRc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()),
                                     SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
    if (m_prepareRc != SQLITE_OK) {
        sqlite3_finalize(m_stmt);
        m_stmt = nullptr;
    }
    m_lastRc = m_prepareRc;
}

Statement::~Statement()
{
    sqlite3_finalize(m_stmt);
}

Statement::Statement(Statement&& other) noexcept
    : m_stmt(std::exchange(other.m_stmt, nullptr)), m_prepareRc(other.m_prepareRc),
      m_lastRc(other.m_lastRc), m_columnNames(std::move(other.m_columnNames)),
      m_missingColumn(other.m_missingColumn)
{
}

Statement& Statement::operator=(Statement&& other) noexcept
{
    if (this != &other) {
        sqlite3_finalize(m_stmt);
        m_stmt = std::exchange(other.m_stmt, nullptr);
        m_prepareRc = other.m_prepareRc;
        m_lastRc = other.m_lastRc;
        m_columnNames = std::move(other.m_columnNames);
        m_missingColumn = other.m_missingColumn;
    }
    return *this;
}

Statement& Statement::bind(int index, int64_t value)
{
    if (m_stmt)
        sqlite3_bind_int64(m_stmt, index, value);
    return *this;
}

Statement& Statement::bind(int index, double value)
{
    if (m_stmt)
        sqlite3_bind_double(m_stmt, index, value);
    return *this;
}

Statement& Statement::bind(int index, const std::string& value)
{
    if (m_stmt)
        sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bindNull(int index)
{
    if (m_stmt)
        sqlite3_bind_null(m_stmt, index);
    return *this;
}

Statement& Statement::bindBlob(int index, const void* data, size_t size)
{
    if (m_stmt)
        sqlite3_bind_blob64(m_stmt, index, data, size, SQLITE_TRANSIENT);
    return *this;
}

int Statement::step()
{
    if (!m_stmt)
        return m_lastRc = (m_prepareRc == SQLITE_OK ? SQLITE_MISUSE : m_prepareRc);
    if (m_missingColumn)
        return m_lastRc = SQLITE_RANGE;
    m_lastRc = sqlite3_step(m_stmt);
    return m_lastRc;
}

int Statement::run()
{
    int rc = step();
    while (rc == SQLITE_ROW)
        rc = step();
    return rc;
}

void Statement::reset()
{
    if (m_stmt) {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
    m_missingColumn = false;
}

int Statement::columnIndex(std::string_view column) const
{
    if (m_stmt && m_columnNames.empty()) {
        const int count = sqlite3_column_count(m_stmt);
        for (int i = 0; i < count; ++i) {
            const char* name = sqlite3_column_name(m_stmt, i);
            m_columnNames.emplace_back(name ? name : "");
        }
    }
    // Rows are read column after column, so the one after the last match is tried first:
    // listing 10,000 runs reads 250,000 values, and a scan from the start for each showed.
    const size_t count = m_columnNames.size();
    for (size_t k = 0; k < count; ++k) {
        const size_t i = (m_nextColumn + k) % count;
        if (m_columnNames[i] == column) {
            m_nextColumn = i + 1;
            return static_cast<int>(i);
        }
    }
    if (!m_missingColumn)
        std::fprintf(stderr, "nnlab store: no column \"%.*s\" in: %s\n", static_cast<int>(column.size()),
                     column.data(), m_stmt ? sqlite3_sql(m_stmt) : "(invalid statement)");
    m_missingColumn = true;
    return -1;
}

bool Statement::isNull(std::string_view column) const
{
    return sqlite3_column_type(m_stmt, columnIndex(column)) == SQLITE_NULL;
}

int64_t Statement::integer(std::string_view column) const
{
    return sqlite3_column_int64(m_stmt, columnIndex(column));
}

double Statement::real(std::string_view column) const
{
    const int index = columnIndex(column);
    // SQLite stores a bound NaN as NULL.
    if (sqlite3_column_type(m_stmt, index) == SQLITE_NULL)
        return std::numeric_limits<double>::quiet_NaN();
    return sqlite3_column_double(m_stmt, index);
}

std::string Statement::text(std::string_view column) const
{
    const int index = columnIndex(column);
    const unsigned char* data = sqlite3_column_text(m_stmt, index);
    if (!data)
        return {};
    return std::string(reinterpret_cast<const char*>(data),
                       static_cast<size_t>(sqlite3_column_bytes(m_stmt, index)));
}

const void* Statement::blob(std::string_view column) const
{
    return sqlite3_column_blob(m_stmt, columnIndex(column));
}

int Statement::blobSize(std::string_view column) const
{
    return sqlite3_column_bytes(m_stmt, columnIndex(column));
}

Connection::Connection(sqlite3* db, std::string path, int busyTimeoutMs, bool readOnly)
    : m_db(db), m_path(std::move(path)), m_busyTimeoutMs(busyTimeoutMs), m_readOnly(readOnly)
{
}

Connection::~Connection()
{
    m_cache.clear();   // statements must be finalized before the connection closes
    sqlite3_close_v2(m_db);
}

Query Connection::query(const std::string& sql)
{
    auto it = m_cache.find(sql);
    if (it == m_cache.end() || !it->second->valid()) {
        auto statement = std::make_unique<Statement>(m_db, sql);
        it = m_cache.insert_or_assign(sql, std::move(statement)).first;
    }
    return Query(*it->second);
}

int Connection::exec(const std::string& sql)
{
    return sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, nullptr);
}

static std::string secondsText(int milliseconds)
{
    std::ostringstream out;
    out << milliseconds / 1000.0;
    return out.str();
}

StoreError Connection::error(int rc, const std::string& what) const
{
    const std::string prefix = what.empty() ? std::string() : what + ": ";
    const std::string detail = sqlite3_errmsg(m_db);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return makeError(StoreErrorCode::Locked, m_path,
                         prefix + "database is locked by another process (waited "
                             + secondsText(m_busyTimeoutMs) + " s)");
    case SQLITE_NOTADB:
        return makeError(StoreErrorCode::NotRunDatabase, m_path,
                         "not an nnlab run database (file is not a database)");
    case SQLITE_READONLY:
        return makeError(StoreErrorCode::ReadOnly, m_path,
                         prefix + "the database is read-only (" + detail + ")");
    case SQLITE_FULL:
        return makeError(StoreErrorCode::Io, m_path, prefix + "disk is full");
    case SQLITE_CORRUPT:
        return makeError(StoreErrorCode::Corrupt, m_path,
                         prefix + "database file is corrupt (" + detail + ")");
    case SQLITE_RANGE:
        return makeError(StoreErrorCode::Io, m_path,
                         prefix + "a query reads a column or parameter it does not have (a bug in nnlab)");
    case SQLITE_CANTOPEN:
        return makeError(StoreErrorCode::Io, m_path, prefix + "cannot open (" + detail + ")");
    default:
        return makeError(StoreErrorCode::Io, m_path, prefix + detail);
    }
}

Transaction::~Transaction()
{
    if (m_open)
        m_db.exec("ROLLBACK");
}

int Transaction::begin()
{
    const int rc = m_db.exec("BEGIN IMMEDIATE");
    m_open = rc == SQLITE_OK;
    return rc;
}

int Transaction::commit()
{
    const int rc = m_db.exec("COMMIT");
    // A failed COMMIT leaves the transaction open; the destructor rolls it back.
    if (rc == SQLITE_OK)
        m_open = false;
    return rc;
}

StoreError makeError(StoreErrorCode code, const std::string& path, const std::string& message)
{
    return StoreError{code, path.empty() ? message : path + ": " + message};
}

StoreError noSuchRun(const std::string& path, const std::string& id)
{
    return makeError(StoreErrorCode::NoSuchRun, path, "no run matches \"" + id + "\"");
}

double now()
{
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

} // namespace nnlab::store
