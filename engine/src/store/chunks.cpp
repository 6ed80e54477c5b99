#include "chunks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the chunk format is little-endian; add byte swapping for this platform"
#endif

namespace nnlab::store {
namespace {

void encode(const SeriesPoint* points, size_t count, std::vector<unsigned char>& blob)
{
    blob.resize(count * kPointBytes);
    unsigned char* out = blob.data();
    for (size_t i = 0; i < count; ++i, out += kPointBytes) {
        std::memcpy(out, &points[i].step, 8);
        std::memcpy(out + 8, &points[i].wallTime, 8);
        std::memcpy(out + 16, &points[i].value, 8);
    }
}

inline SeriesPoint decodeAt(const unsigned char* data, size_t index)
{
    SeriesPoint point;
    const unsigned char* in = data + index * kPointBytes;
    std::memcpy(&point.step, in, 8);
    std::memcpy(&point.wallTime, in + 8, 8);
    std::memcpy(&point.value, in + 16, 8);
    return point;
}

int insertChunk(Connection& db, int64_t seriesId, const SeriesPoint* points, size_t count)
{
    std::vector<unsigned char> blob;
    encode(points, count, blob);
    auto insert = db.query("INSERT INTO chunks(series, first_step, last_step, count, data) "
                           "VALUES(?, ?, ?, ?, ?)");
    insert->bind(1, seriesId).bind(2, points[0].step).bind(3, points[count - 1].step)
        .bind(4, static_cast<int64_t>(count)).bindBlob(5, blob.data(), blob.size());
    return insert->execute();
}

// Calls visit(point) for every stored point with stepMin <= step <= stepMax, in order.
template <typename Visit>
int forEachPoint(Connection& db, int64_t seriesId, int64_t stepMin, int64_t stepMax, Visit visit)
{
    // The chunk holding stepMin starts at or before it; the subquery finds it through the
    // primary key instead of testing every earlier chunk's last step.
    auto chunks = db.query(
        "SELECT data FROM chunks WHERE series = ?1 AND first_step <= ?3 AND first_step >= "
        "coalesce((SELECT max(first_step) FROM chunks WHERE series = ?1 AND first_step <= ?2), ?2) "
        "ORDER BY first_step");
    chunks->bind(1, seriesId).bind(2, stepMin).bind(3, stepMax);
    while (chunks->next()) {
        const auto* data = static_cast<const unsigned char*>(chunks->blob("data"));
        const size_t count = static_cast<size_t>(chunks->blobSize("data")) / kPointBytes;
        for (size_t i = 0; i < count; ++i) {
            const SeriesPoint point = decodeAt(data, i);
            if (point.step > stepMax)
                break;
            if (point.step >= stepMin)
                visit(point);
        }
    }
    return chunks->readResult();
}

// Writes points that all come after the stored ones.
int writeNew(Connection& db, SeriesState& state, const std::vector<SeriesPoint>& points)
{
    if (points.empty())
        return SQLITE_OK;
    if (state.open.size() < kMaxOpenChunks && state.openPoints + points.size() < kChunkPoints) {
        const int rc = insertChunk(db, state.id, points.data(), points.size());
        if (rc == SQLITE_OK) {
            state.open.push_back({points.front().step, points});
            state.openPoints += points.size();
        }
        return rc;
    }
    std::vector<SeriesPoint> all;
    all.reserve(state.openPoints + points.size());
    for (const OpenChunk& chunk : state.open)
        all.insert(all.end(), chunk.points.begin(), chunk.points.end());
    all.insert(all.end(), points.begin(), points.end());
    if (!state.open.empty()) {
        auto remove = db.query("DELETE FROM chunks WHERE series = ? AND first_step >= ?");
        remove->bind(1, state.id).bind(2, state.open.front().firstStep);
        if (remove->run() != SQLITE_DONE)
            return remove->lastResult();
    }
    state.open.clear();
    state.openPoints = 0;
    size_t start = 0;
    for (; all.size() - start >= kChunkPoints; start += kChunkPoints) {
        const int rc = insertChunk(db, state.id, all.data() + start, kChunkPoints);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (start < all.size()) {
        const int rc = insertChunk(db, state.id, all.data() + start, all.size() - start);
        if (rc != SQLITE_OK)
            return rc;
        state.open.push_back({all[start].step, std::vector<SeriesPoint>(all.begin() + start, all.end())});
        state.openPoints = all.size() - start;
    }
    return SQLITE_OK;
}

// Removes every stored point with step >= fromStep and recomputes the summary.
int truncateFrom(Connection& db, SeriesState& state, int64_t fromStep)
{
    std::vector<SeriesPoint> kept;
    int64_t splitKey = 0;
    {
        auto split = db.query("SELECT first_step, data FROM chunks "
                              "WHERE series = ? AND first_step < ?2 AND last_step >= ?2");
        split->bind(1, state.id).bind(2, fromStep);
        if (split->next()) {
            splitKey = split->integer("first_step");
            const auto* data = static_cast<const unsigned char*>(split->blob("data"));
            const size_t count = static_cast<size_t>(split->blobSize("data")) / kPointBytes;
            for (size_t i = 0; i < count; ++i) {
                const SeriesPoint point = decodeAt(data, i);
                if (point.step >= fromStep)
                    break;
                kept.push_back(point);
            }
        } else if (split->lastResult() != SQLITE_DONE) {
            return split->lastResult();
        }
    }
    auto remove = db.query("DELETE FROM chunks WHERE series = ? AND first_step >= ?");
    remove->bind(1, state.id).bind(2, kept.empty() ? fromStep : splitKey);
    if (remove->run() != SQLITE_DONE)
        return remove->lastResult();
    if (!kept.empty()) {
        const int rc = insertChunk(db, state.id, kept.data(), kept.size());
        if (rc != SQLITE_OK)
            return rc;
    }

    // Open chunks mirror the stored tail: cut them the same way.
    std::vector<OpenChunk> open;
    state.openPoints = 0;
    for (OpenChunk& chunk : state.open) {
        if (chunk.firstStep >= fromStep)
            break;
        while (!chunk.points.empty() && chunk.points.back().step >= fromStep)
            chunk.points.pop_back();
        state.openPoints += chunk.points.size();
        open.push_back(std::move(chunk));
    }
    state.open = std::move(open);

    state.summary = MetricSummary();
    return forEachPoint(db, state.id, std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max(), [&](const SeriesPoint& point) {
                            accumulate(state.summary, state.direction, point);
                        });
}

} // namespace

const char* const kSummaryColumns =
    "count, first_step, last_step, final_value, best_value, best_step, min_value, max_value";

void accumulate(MetricSummary& summary, int direction, const SeriesPoint& point)
{
    if (summary.count == 0)
        summary.firstStep = point.step;
    ++summary.count;
    summary.lastStep = point.step;
    summary.finalValue = point.value;
    const double value = point.value;
    if (std::isnan(value))
        return;
    if (std::isnan(summary.minValue) || value < summary.minValue)
        summary.minValue = value;
    if (std::isnan(summary.maxValue) || value > summary.maxValue)
        summary.maxValue = value;
    if (direction != 0
        && (std::isnan(summary.bestValue)
            || (direction > 0 ? value > summary.bestValue : value < summary.bestValue))) {
        summary.bestValue = value;
        summary.bestStep = point.step;
    }
}

int appendPoints(Connection& db, SeriesState& state, const std::vector<SeriesPoint>& points)
{
    std::vector<SeriesPoint> batch;
    batch.reserve(points.size());
    for (const SeriesPoint& point : points) {
        if (state.summary.count > 0 && point.step <= state.summary.lastStep) {
            int rc = writeNew(db, state, batch);
            if (rc == SQLITE_OK)
                rc = truncateFrom(db, state, point.step);
            if (rc != SQLITE_OK)
                return rc;
            batch.clear();
        }
        batch.push_back(point);
        accumulate(state.summary, state.direction, point);
    }
    return writeNew(db, state, batch);
}

int saveSummary(Connection& db, const SeriesState& state)
{
    const MetricSummary& s = state.summary;
    auto update = db.query("UPDATE series SET count = ?2, first_step = ?3, last_step = ?4, "
                           "final_value = ?5, best_value = ?6, best_step = ?7, min_value = ?8, "
                           "max_value = ?9 WHERE id = ?1");
    // A NaN bound as a double is stored as NULL, and read back as NaN.
    update->bind(1, state.id).bind(2, s.count).bind(3, s.firstStep).bind(4, s.lastStep)
        .bind(5, s.finalValue).bind(6, s.bestValue).bind(7, s.bestStep).bind(8, s.minValue)
        .bind(9, s.maxValue);
    return update->execute();
}

MetricSummary readSummary(const Statement& row)
{
    MetricSummary summary;
    summary.count = row.integer("count");
    summary.firstStep = row.integer("first_step");
    summary.lastStep = row.integer("last_step");
    summary.finalValue = row.real("final_value");
    summary.bestValue = row.real("best_value");
    summary.bestStep = row.integer("best_step");
    summary.minValue = row.real("min_value");
    summary.maxValue = row.real("max_value");
    return summary;
}

int readPoints(Connection& db, int64_t seriesId, int64_t stepMin, int64_t stepMax,
               std::vector<SeriesPoint>& out)
{
    return forEachPoint(db, seriesId, stepMin, stepMax,
                        [&](const SeriesPoint& point) { out.push_back(point); });
}

int readBuckets(Connection& db, int64_t seriesId, const MetricSummary& summary,
                int64_t stepMin, int64_t stepMax, int buckets, std::vector<SeriesBucket>& out)
{
    const int64_t lo = std::max(stepMin, summary.firstStep);
    const int64_t hi = std::min(stepMax, summary.lastStep);
    if (summary.count == 0 || lo > hi || buckets <= 0)
        return SQLITE_OK;
    // Unsigned arithmetic: the span of any two int64 steps fits; only the full range wraps.
    uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0)
        span = std::numeric_limits<uint64_t>::max();
    const uint64_t n = static_cast<uint64_t>(buckets);
    const uint64_t width = span / n + (span % n != 0 ? 1 : 0);

    uint64_t current = 0;
    SeriesBucket bucket;
    bool minSet = false;
    bool maxSet = false;
    auto close = [&] {
        if (bucket.count == 0)
            return;
        if (!minSet)
            bucket.min = bucket.first;
        if (!maxSet)
            bucket.max = bucket.first;
        out.push_back(bucket);
        bucket = SeriesBucket();
        minSet = maxSet = false;
    };
    const int rc = forEachPoint(db, seriesId, lo, hi, [&](const SeriesPoint& point) {
        const uint64_t index = (static_cast<uint64_t>(point.step) - static_cast<uint64_t>(lo)) / width;
        if (index != current) {
            close();
            current = index;
        }
        if (bucket.count++ == 0)
            bucket.first = point;
        bucket.last = point;
        if (!std::isnan(point.value)) {
            if (!minSet || point.value < bucket.min.value) {
                bucket.min = point;
                minSet = true;
            }
            if (!maxSet || point.value > bucket.max.value) {
                bucket.max = point;
                maxSet = true;
            }
        }
    });
    if (rc == SQLITE_OK)
        close();
    return rc;
}

} // namespace nnlab::store
