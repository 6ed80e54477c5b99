// One metric series of one run as the charts hold it, and what a chart draws of it for a view.
//
// Two kinds, one interface:
// - FullSeries: every point in memory. Live runs, and stored series small enough to load.
// - BucketSeries: a stored series too long to load, read through RunStore::seriesDownsampled:
//   an overview of the whole series plus, once the user zooms in, a finer "detail" read of the
//   range around the view. Buckets carry their real first/last/min/max points, so a spike is
//   always some bucket's min or max and is never averaged away.
//
// Drawing uses M4 decimation: per pixel column, the first, smallest, largest and last point, in
// step order. A line through them covers exactly the pixels the full series would, so no spike
// disappears, and a chart never holds much more than 4 points per pixel column however long
// the series.
#pragma once

#include "charts/smoothing.h"
#include "nnlab/store.h"

#include <QVector>

#include <cstdint>
#include <optional>
#include <vector>

namespace charts {

using nnlab::SeriesBucket;
using nnlab::SeriesPoint;

struct SeriesView {
    QVector<SeriesPoint> raw;        // real points in step order
    QVector<SeriesPoint> smoothed;   // empty when no smoothing was asked for
};

// What view() should draw.
struct ViewRequest {
    int64_t stepMin = 0;          // steps [stepMin, stepMax], plus the nearest point beyond each
    int64_t stepMax = 0;          // end so lines run on to the plot's edges
    int columns = 1;              // pixel columns of the raw curve over that range
    int smoothedColumns = 1;      // and of the smoothed curve
    double smoothing = -1.0;      // debiased EMA weight of the smoothed curve; < 0 = none
    bool raw = true;              // false: only the smoothed curve (the smoothing changed)
    // Per column only the smallest and largest point (M2, half of M4's points): the same
    // envelope, so spikes stay, and half the line segments to draw.
    bool envelope = false;
};

// A finer read of a BucketSeries for the range around the view.
struct DetailRequest {
    int64_t stepMin = 0;
    int64_t stepMax = 0;
    int buckets = 0;
};

class MetricSeries {
public:
    virtual ~MetricSeries() = default;

    virtual bool isEmpty() const = 0;
    virtual SeriesPoint firstPoint() const = 0;   // undefined when empty
    virtual SeriesPoint lastPoint() const = 0;
    // The first step at or after wallTime (for the relative-time axis), clamped to the series.
    virtual int64_t stepAtWallTime(double wallTime) const = 0;
    // The raw and smoothed curves, decimated as asked.
    virtual SeriesView view(const ViewRequest& request) const = 0;
    // Points (or buckets) held in memory.
    virtual int64_t pointsHeld() const = 0;

    // Bumped whenever what view() returns may have changed.
    uint64_t revision() const { return m_revision; }

protected:
    void touch() { ++m_revision; }

private:
    uint64_t m_revision = 0;
};

class FullSeries final : public MetricSeries {
public:
    // Points arrive in step order. A point at or before the last step replaces the points from
    // its step on: a resumed run logs again from its checkpoint, as the store does.
    void append(const SeriesPoint& point);
    void append(const std::vector<SeriesPoint>& points);

    int size() const { return static_cast<int>(m_points.size()); }
    const SeriesPoint& at(int index) const { return m_points[static_cast<size_t>(index)]; }

    bool isEmpty() const override { return m_points.empty(); }
    SeriesPoint firstPoint() const override { return m_points.front(); }
    SeriesPoint lastPoint() const override { return m_points.back(); }
    int64_t stepAtWallTime(double wallTime) const override;
    // The smoothed curve is computed on every point in memory, then decimated like the raw one.
    SeriesView view(const ViewRequest& request) const override;
    int64_t pointsHeld() const override { return static_cast<int64_t>(m_points.size()); }

private:
    void updateSmoothed(double weight) const;

    std::vector<SeriesPoint> m_points;
    // Cache of the smoothed values; extended as points arrive. The first m_smoothedCount are
    // valid (the vector only grows: a new weight overwrites it without clearing).
    mutable std::vector<double> m_smoothed;
    mutable size_t m_smoothedCount = 0;
    mutable double m_smoothedWeight = -1.0;   // -1: the cache is invalid
    mutable DebiasedEma m_ema;                 // its state after the last cached value
};

class BucketSeries final : public MetricSeries {
public:
    // overview: seriesDownsampled over the whole series into `requestedBuckets` buckets.
    BucketSeries(std::vector<SeriesBucket> overview, int requestedBuckets);

    // A finer read wanted for the view [visibleMin, visibleMax] over `columns` pixel columns,
    // or nothing when what is held already resolves it.
    std::optional<DetailRequest> wantedDetail(int64_t visibleMin, int64_t visibleMax, int columns) const;
    void setDetail(const DetailRequest& request, std::vector<SeriesBucket> buckets);

    bool isEmpty() const override { return m_overview.empty(); }
    SeriesPoint firstPoint() const override { return m_overview.front().first; }
    SeriesPoint lastPoint() const override { return m_overview.back().last; }
    int64_t stepAtWallTime(double wallTime) const override;
    // Smoothing runs over the buckets in step order; each bucket counts as `count` points of
    // the mean of its first and last values (unbiased samples of the bucket). With buckets of
    // one point this is the exact EMA, and it barely moves as the user zooms, unlike
    // TensorBoard's smoothing of its sampled points.
    SeriesView view(const ViewRequest& request) const override;
    int64_t pointsHeld() const override { return static_cast<int64_t>(m_spliced.size()); }

    int64_t totalCount() const { return m_totalCount; }
    bool hasDetail() const { return !m_detail.empty(); }

private:
    void splice();
    void spliceBuckets();

    std::vector<SeriesBucket> m_overview;
    double m_overviewWidth = 1.0;          // steps per overview bucket
    int64_t m_totalCount = 0;              // points in the whole series
    DetailRequest m_detailRange;
    std::vector<SeriesBucket> m_detail;
    std::vector<SeriesBucket> m_spliced;   // overview outside the detail range, detail inside
    // What smoothing reads of m_spliced, packed: each bucket's value (bucketValue) and
    // count. Smoothing runs over every bucket before the view; through the 104-byte buckets
    // that was mostly cache misses.
    std::vector<double> m_splicedValue;
    std::vector<int64_t> m_splicedCount;
};

} // namespace charts
