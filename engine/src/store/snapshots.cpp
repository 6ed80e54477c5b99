#include "snapshot_rows.h"

#include "store_impl.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <map>
#include <utility>

namespace nnlab {

using namespace store;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the snapshots table stores float32 little-endian; add a byte swap for this host"
#endif

namespace {

constexpr int64_t kMaxElements = int64_t(1) << 28;   // 1 GiB of floats: anything larger is damage

std::string shapeText(const std::vector<int64_t>& shape)
{
    return nlohmann::json(shape).dump();
}

// Shape from its column: a JSON array of sizes >= 0 whose product fits; false when damaged.
bool parseShape(const std::string& text, std::vector<int64_t>& shape, int64_t& elements)
{
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (!json.is_array() || json.size() > 8)
        return false;
    elements = 1;
    for (const auto& d : json) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0)
            return false;
        const int64_t n = d.get<int64_t>();
        if (n > 0 && elements > kMaxElements / n)
            return false;
        elements *= n;
        shape.push_back(n);
    }
    return true;
}

// One row as a Snapshot; an error names the row when its shape and data disagree.
StoreError readSnapshot(Connection& db, Statement& row, SnapshotKind kind, Snapshot& out)
{
    out.kind = kind;
    out.step = row.integer("step");
    out.name = row.text("name");
    out.meta = row.text("meta");
    int64_t elements = 0;
    const int size = row.blobSize("data");
    if (!parseShape(row.text("shape"), out.shape, elements) || size != elements * 4)
        return makeError(StoreErrorCode::Corrupt, db.path(),
                         "snapshot " + std::string(toString(kind)) + " \"" + out.name + "\" at step "
                             + std::to_string(out.step) + ": shape " + row.text("shape") + " does not match its "
                             + std::to_string(size) + " bytes of data");
    out.values.resize(static_cast<size_t>(elements));
    if (elements > 0)
        std::memcpy(out.values.data(), row.blob("data"), static_cast<size_t>(size));
    return {};
}

} // namespace

namespace store {

int insertSnapshots(Connection& db, int64_t runSeq, const std::vector<Snapshot>& snapshots)
{
    std::map<std::pair<SnapshotKind, std::string>, int64_t> firstStep;
    for (const Snapshot& s : snapshots) {
        auto [it, added] = firstStep.try_emplace({s.kind, s.name}, s.step);
        if (!added)
            it->second = std::min(it->second, s.step);
    }
    for (const auto& [key, step] : firstStep) {
        auto remove = db.query("DELETE FROM snapshots WHERE run = ? AND kind = ? AND name = ? AND step >= ?");
        remove->bind(1, runSeq).bind(2, std::string(toString(key.first))).bind(3, key.second).bind(4, step);
        if (const int rc = remove->execute(); rc != SQLITE_OK)
            return rc;
    }
    for (const Snapshot& s : snapshots) {
        if (s.elementCount() != static_cast<int64_t>(s.values.size()))
            return SQLITE_MISUSE;   // a bug in the producer: never store what cannot be read back
        auto insert = db.query("INSERT INTO snapshots(run, step, kind, name, shape, meta, data) VALUES(?, ?, ?, ?, ?, ?, ?)");
        insert->bind(1, runSeq).bind(2, s.step).bind(3, std::string(toString(s.kind))).bind(4, s.name)
            .bind(5, shapeText(s.shape)).bind(6, s.meta.empty() ? std::string("{}") : s.meta)
            .bindBlob(7, s.values.data(), s.values.size() * sizeof(float));
        if (const int rc = insert->execute(); rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

} // namespace store

StoreResult<std::vector<Snapshot>> RunStore::snapshots(const std::string& id, SnapshotKind kind,
                                                       const std::string& name, int64_t stepMin,
                                                       int64_t stepMax) const
{
    return readRun<std::vector<Snapshot>>(*m_impl, id, [&](Connection& db, const RunRef& run, std::vector<Snapshot>& out) {
        auto select = db.query("SELECT step, name, shape, meta, data FROM snapshots "
                               "WHERE run = ?1 AND kind = ?2 AND (?3 = '' OR name = ?3) AND step BETWEEN ?4 AND ?5 "
                               "ORDER BY step, name");
        select->bind(1, run.seq).bind(2, std::string(toString(kind))).bind(3, name).bind(4, stepMin).bind(5, stepMax);
        while (select->next()) {
            Snapshot s;
            if (StoreError error = readSnapshot(db, *select, kind, s); !error.ok())
                return error;
            out.push_back(std::move(s));
        }
        return db.check(select->readResult(), "cannot read snapshots");
    });
}

StoreResult<std::vector<int64_t>> RunStore::snapshotSteps(const std::string& id, SnapshotKind kind,
                                                          const std::string& name) const
{
    return readRun<std::vector<int64_t>>(*m_impl, id, [&](Connection& db, const RunRef& run, std::vector<int64_t>& out) {
        auto select = db.query("SELECT DISTINCT step FROM snapshots WHERE run = ?1 AND kind = ?2 "
                               "AND (?3 = '' OR name = ?3) ORDER BY step");
        select->bind(1, run.seq).bind(2, std::string(toString(kind))).bind(3, name);
        while (select->next())
            out.push_back(select->integer("step"));
        return db.check(select->readResult(), "cannot read snapshot steps");
    });
}

StoreResult<std::vector<std::string>> RunStore::snapshotNames(const std::string& id, SnapshotKind kind) const
{
    return readRun<std::vector<std::string>>(*m_impl, id, [&](Connection& db, const RunRef& run, std::vector<std::string>& out) {
        auto select = db.query("SELECT DISTINCT name FROM snapshots WHERE run = ?1 AND kind = ?2 ORDER BY name");
        select->bind(1, run.seq).bind(2, std::string(toString(kind)));
        while (select->next())
            out.push_back(select->text("name"));
        return db.check(select->readResult(), "cannot read snapshot names");
    });
}

} // namespace nnlab
