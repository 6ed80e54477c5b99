// Metric points, stored in chunks: one row of `chunks` holds up to kChunkPoints consecutive
// points of one series as a blob of 24-byte records (int64 step, float64 wall time,
// float64 value; little-endian). A row per point would cost ~100 ns per point to read back
// through sqlite3_step, too slow for a plot that re-reads a 1M-point series on every zoom;
// chunks read at memory speed and insert at millions of points a second. Chunks of a
// series never overlap and are keyed by their first step.
//
// Small flushes append a small chunk each; once a series has kMaxOpenChunks of them (or
// they add up to a full chunk) they are merged, so a slow logger costs few rows and no
// rewrite of a growing chunk at every flush.
#pragma once

#include "sqlite_util.h"

#include "nnlab/store.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nnlab::store {

constexpr size_t kChunkPoints = 1024;
constexpr size_t kMaxOpenChunks = 16;
constexpr size_t kPointBytes = 24;

struct OpenChunk {
    int64_t firstStep = 0;
    std::vector<SeriesPoint> points;
};

// A series as its writer knows it: summary plus the trailing chunks that are not full.
struct SeriesState {
    int64_t id = 0;
    int direction = 0;
    MetricSummary summary;
    std::vector<OpenChunk> open;
    size_t openPoints = 0;
};

void accumulate(MetricSummary& summary, int direction, const SeriesPoint& point);

// Appends points in order. A point whose step is not above the series' last step first
// removes every stored point from that step on: the newest value for a step wins, and a
// run resumed from a checkpoint replaces what it logs again.
int appendPoints(Connection& db, SeriesState& state, const std::vector<SeriesPoint>& points);
int saveSummary(Connection& db, const SeriesState& state);

// A series row's summary, from a SELECT that includes kSummaryColumns.
MetricSummary readSummary(const Statement& row);
extern const char* const kSummaryColumns;   // "count, first_step, ..., max_value"

int readPoints(Connection& db, int64_t seriesId, int64_t stepMin, int64_t stepMax,
               std::vector<SeriesPoint>& out);
int readBuckets(Connection& db, int64_t seriesId, const MetricSummary& summary,
                int64_t stepMin, int64_t stepMax, int buckets, std::vector<SeriesBucket>& out);

} // namespace nnlab::store
