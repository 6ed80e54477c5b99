#include "charts/metric_series.h"

#include "charts/smoothing.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace charts {

namespace {

bool byStep(const SeriesPoint& a, const SeriesPoint& b) { return a.step < b.step; }

// Collects points, or whole buckets, into pixel columns of equal step width and emits each
// column's first, smallest, largest and last point in step order (M4 decimation), or with
// `envelope` only the smallest and largest (M2).
class M4Builder {
public:
    M4Builder(int64_t stepMin, int64_t stepMax, int columns, bool envelope, QVector<SeriesPoint>& out)
        : m_origin(stepMin)
        , m_width(std::max(1.0, static_cast<double>(stepMax - stepMin + 1) / std::max(1, columns)))
        , m_envelope(envelope)
        , m_out(out)
    {
    }

    void add(const SeriesPoint& point) { add(point, point, point, point, std::isfinite(point.value)); }

    // hasExtremes: min and max are real points (false when the bucket held only NaN).
    void add(const SeriesPoint& first, const SeriesPoint& min, const SeriesPoint& max,
             const SeriesPoint& last, bool hasExtremes)
    {
        // Most points fall in the open column: compare with its bounds, divide only on leaving.
        if (!m_open || first.step < m_columnBegin || first.step >= m_columnEnd) {
            flush();
            const double column = std::floor(static_cast<double>(first.step - m_origin) / m_width);
            m_columnBegin = m_origin + static_cast<int64_t>(std::ceil(column * m_width));
            m_columnEnd = m_origin + static_cast<int64_t>(std::ceil((column + 1) * m_width));
            if (first.step < m_columnBegin || first.step >= m_columnEnd) {
                // Rounding at the edge of a column: a column of this one step.
                m_columnBegin = first.step;
                m_columnEnd = first.step + 1;
            }
            m_open = true;
            m_first = first;
            m_hasExtremes = false;
        }
        m_last = last;
        if (hasExtremes) {
            if (!m_hasExtremes || min.value < m_min.value)
                m_min = min;
            if (!m_hasExtremes || max.value > m_max.value)
                m_max = max;
            m_hasExtremes = true;
        }
    }

    void finish() { flush(); }

private:
    void flush()
    {
        if (!m_open)
            return;
        SeriesPoint points[4] = {m_first, m_first, m_last, m_last};
        int count = 4;
        if (m_hasExtremes) {
            points[1] = m_min;
            points[2] = m_max;
            if (m_envelope) {
                points[0] = m_min;
                points[1] = m_max;
                count = 2;
            }
        }
        // Insertion sort of at most four (std::sort here trips GCC 12's -Warray-bounds).
        for (int i = 1; i < count; ++i)
            for (int j = i; j > 0 && points[j].step < points[j - 1].step; --j)
                std::swap(points[j], points[j - 1]);
        for (int i = 0; i < count; ++i) {
            if (m_out.isEmpty() || points[i].step > m_out.back().step)
                m_out.push_back(points[i]);
        }
        m_open = false;
    }

    int64_t m_origin;
    double m_width;
    bool m_envelope;
    QVector<SeriesPoint>& m_out;
    bool m_open = false;
    int64_t m_columnBegin = 0;   // steps [begin, end) of the open column
    int64_t m_columnEnd = 0;
    bool m_hasExtremes = false;
    SeriesPoint m_first, m_min, m_max, m_last;
};

// M4Builder's decimation of points [first, end) of a series held in memory (steps strictly
// increasing), the value of point i being valueAt(i): the same points out, several times
// faster. A column's end is found by binary search on the steps, and the column's smallest and
// largest values by a tight loop over the values alone.
template <class ValueAt>
void decimateIndexed(const std::vector<SeriesPoint>& points, size_t first, size_t end, int64_t stepMin,
                     int64_t stepMax, int columns, bool envelope, ValueAt valueAt, QVector<SeriesPoint>& out)
{
    constexpr size_t kNone = static_cast<size_t>(-1);
    const int64_t origin = stepMin;
    const double width = std::max(1.0, static_cast<double>(stepMax - stepMin + 1) / std::max(1, columns));
    size_t lastOut = kNone;   // index of the last point emitted; `out` starts empty
    auto push = [&](size_t index) {
        if (lastOut == kNone || index > lastOut) {
            SeriesPoint p = points[index];
            p.value = valueAt(index);
            out.push_back(p);
            lastOut = index;
        }
    };
    size_t i = first;
    while (i < end) {
        const int64_t step = points[i].step;
        const double column = std::floor(static_cast<double>(step - origin) / width);
        int64_t columnBegin = origin + static_cast<int64_t>(std::ceil(column * width));
        int64_t columnEnd = origin + static_cast<int64_t>(std::ceil((column + 1) * width));
        if (step < columnBegin || step >= columnEnd)
            columnEnd = step + 1;   // rounding at the edge of a column: a column of this one step
        // The first point at or after columnEnd: a short look, then binary search. Steps rise
        // by at least one a point, so it is at most (columnEnd - step) points on: the search
        // stays within the column (a search over the rest of the series misses the cache).
        size_t j = i + 1;
        const size_t probeEnd = std::min(end, i + 8);
        while (j < probeEnd && points[j].step < columnEnd)
            ++j;
        if (j == probeEnd && j < end && points[j].step < columnEnd) {
            const uint64_t span = static_cast<uint64_t>(columnEnd) - static_cast<uint64_t>(step);
            const size_t bound = span < end - i ? i + static_cast<size_t>(span) : end;
            // Steps one apart (a point every step, the usual case): the column's last point is
            // `span - 1` on. One probe; each probe of a binary search over a column of a few
            // hundred points missed the cache, and cost more than the scan of the values.
            if (bound == i + span && points[bound - 1].step == columnEnd - 1)
                j = bound;
            else
                j = static_cast<size_t>(std::lower_bound(points.begin() + static_cast<std::ptrdiff_t>(j),
                                                         points.begin() + static_cast<std::ptrdiff_t>(bound), columnEnd,
                                                         [](const SeriesPoint& p, int64_t s) { return p.step < s; })
                                        - points.begin());
        }
        // Smallest and largest finite value, the first of equals. NaN never compares; an
        // infinity would pass the compares, so such a column is done again with checks.
        double lo = std::numeric_limits<double>::infinity();
        double hi = -std::numeric_limits<double>::infinity();
        size_t minAt = kNone;
        size_t maxAt = kNone;
        {
            // Four interleaved lanes: one lane's compare-and-select chain is ~5 cycles a
            // point; four independent ones overlap. Selects, not branches: noisy values would
            // make branches unpredictable. Merged below, the first of equals winning.
            constexpr size_t kLanes = 4;
            double laneLo[kLanes], laneHi[kLanes];
            size_t laneMin[kLanes], laneMax[kLanes];
            for (size_t l = 0; l < kLanes; ++l) {
                laneLo[l] = lo;
                laneHi[l] = hi;
                laneMin[l] = laneMax[l] = kNone;
            }
            size_t k = i;
            for (; k + kLanes <= j; k += kLanes) {
                for (size_t l = 0; l < kLanes; ++l) {
                    const double v = valueAt(k + l);
                    const bool below = v < laneLo[l];
                    const bool above = v > laneHi[l];
                    laneLo[l] = below ? v : laneLo[l];
                    laneMin[l] = below ? k + l : laneMin[l];
                    laneHi[l] = above ? v : laneHi[l];
                    laneMax[l] = above ? k + l : laneMax[l];
                }
            }
            for (; k < j; ++k) {   // the tail, into lane 0 (its indices are the largest)
                const double v = valueAt(k);
                const bool below = v < laneLo[0];
                const bool above = v > laneHi[0];
                laneLo[0] = below ? v : laneLo[0];
                laneMin[0] = below ? k : laneMin[0];
                laneHi[0] = above ? v : laneHi[0];
                laneMax[0] = above ? k : laneMax[0];
            }
            for (size_t l = 0; l < kLanes; ++l) {
                if (laneMin[l] != kNone && (minAt == kNone || laneLo[l] < lo || (laneLo[l] == lo && laneMin[l] < minAt))) {
                    lo = laneLo[l];
                    minAt = laneMin[l];
                }
                if (laneMax[l] != kNone && (maxAt == kNone || laneHi[l] > hi || (laneHi[l] == hi && laneMax[l] < maxAt))) {
                    hi = laneHi[l];
                    maxAt = laneMax[l];
                }
            }
        }
        if ((std::isinf(lo) || std::isinf(hi)) && lo != std::numeric_limits<double>::infinity()) {
            // An infinity, which the compares let in: the careful way. (lo still +inf: nothing
            // finite, and minAt is unset.)
            minAt = maxAt = kNone;
            for (size_t k = i; k < j; ++k) {
                const double v = valueAt(k);
                if (!std::isfinite(v))
                    continue;
                if (minAt == kNone || v < lo) {
                    lo = v;
                    minAt = k;
                }
                if (maxAt == kNone || v > hi) {
                    hi = v;
                    maxAt = k;
                }
            }
        }
        if (minAt == kNone) {   // nothing finite: the column's first and last points
            push(i);
            push(j - 1);
        } else if (envelope) {
            push(std::min(minAt, maxAt));
            push(std::max(minAt, maxAt));
        } else {
            size_t at[4] = {i, minAt, maxAt, j - 1};
            std::sort(at, at + 4);
            for (size_t index : at)
                push(index);
        }
        i = j;
    }
}

// The mean of a bucket's first and last values, skipping NaN; NaN when both are.
double bucketValue(const SeriesBucket& bucket)
{
    const bool a = std::isfinite(bucket.first.value);
    const bool b = std::isfinite(bucket.last.value);
    if (a && b)
        return 0.5 * (bucket.first.value + bucket.last.value);
    return a ? bucket.first.value : bucket.last.value;
}

bool hasExtremes(const SeriesBucket& bucket)
{
    auto inside = [&](const SeriesPoint& p) {
        return std::isfinite(p.value) && p.step >= bucket.first.step && p.step <= bucket.last.step;
    };
    return inside(bucket.min) && inside(bucket.max);
}

} // namespace

// ---- FullSeries ----

void FullSeries::append(const SeriesPoint& point)
{
    if (!m_points.empty() && point.step <= m_points.back().step) {
        const auto from = std::lower_bound(m_points.begin(), m_points.end(), point, byStep);
        m_points.erase(from, m_points.end());
        m_smoothedWeight = -1.0;   // the EMA state is past the cut: smoothed again from the start
    }
    m_points.push_back(point);
    touch();
}

void FullSeries::append(const std::vector<SeriesPoint>& points)
{
    m_points.reserve(m_points.size() + points.size());
    for (const SeriesPoint& p : points)
        append(p);
}

int64_t FullSeries::stepAtWallTime(double wallTime) const
{
    if (m_points.empty())
        return 0;
    const auto it = std::lower_bound(m_points.begin(), m_points.end(), wallTime,
                                     [](const SeriesPoint& p, double t) { return p.wallTime < t; });
    return it == m_points.end() ? m_points.back().step : it->step;
}

void FullSeries::updateSmoothed(double weight) const
{
    if (weight != m_smoothedWeight || m_smoothedCount > m_points.size()) {
        m_smoothedCount = 0;   // the values are overwritten: no clearing, no zero-filling
        m_smoothedWeight = weight;
        m_ema = DebiasedEma(weight);
    }
    // Only the points that arrived since the last view are added.
    const size_t from = m_smoothedCount;
    if (from == m_points.size())
        return;
    if (m_smoothed.size() < m_points.size())
        m_smoothed.resize(std::max(m_points.size(), m_smoothed.size() + m_smoothed.size() / 2));
    m_smoothedCount = m_points.size();
    static_assert(sizeof(SeriesPoint) == 3 * sizeof(double), "SeriesPoint read as doubles");
    m_ema.addMany(&m_points[from].value, 3, m_points.size() - from, m_smoothed.data() + from);
}

SeriesView FullSeries::view(const ViewRequest& request) const
{
    SeriesView out;
    if (m_points.empty() || request.stepMax < request.stepMin)
        return out;
    SeriesPoint probe;
    probe.step = request.stepMin;
    size_t first = static_cast<size_t>(
        std::lower_bound(m_points.begin(), m_points.end(), probe, byStep) - m_points.begin());
    probe.step = request.stepMax;
    size_t end = static_cast<size_t>(
        std::upper_bound(m_points.begin(), m_points.end(), probe, byStep) - m_points.begin());
    first = first > 0 ? first - 1 : 0;
    end = std::min(m_points.size(), end + 1);
    if (end <= first)
        return out;
    const size_t count = end - first;
    // While there are no more points than decimation would give, the points themselves.
    const size_t perColumn = request.envelope ? 2 : 4;
    auto decimate = [&](int columns, QVector<SeriesPoint>& into, auto valueAt) {
        if (count <= perColumn * static_cast<size_t>(std::max(1, columns))) {
            into.reserve(static_cast<int>(count));
            for (size_t i = first; i < end; ++i) {
                SeriesPoint p = m_points[i];
                p.value = valueAt(i);
                into.push_back(p);
            }
            return;
        }
        into.reserve(static_cast<int>(perColumn) * (columns + 2));
        decimateIndexed(m_points, first, end, request.stepMin, request.stepMax, columns, request.envelope,
                        valueAt, into);
    };
    if (request.raw)
        decimate(request.columns, out.raw, [&](size_t i) { return m_points[i].value; });
    if (request.smoothing < 0.0)
        return out;
    updateSmoothed(request.smoothing);
    const double* smoothed = m_smoothed.data();
    decimate(request.smoothedColumns, out.smoothed, [smoothed](size_t i) { return smoothed[i]; });
    return out;
}

// ---- BucketSeries ----

BucketSeries::BucketSeries(std::vector<SeriesBucket> overview, int requestedBuckets)
    : m_overview(std::move(overview))
{
    for (const SeriesBucket& b : m_overview)
        m_totalCount += b.count;
    if (!m_overview.empty()) {
        const double span =
            static_cast<double>(m_overview.back().last.step - m_overview.front().first.step + 1);
        m_overviewWidth = std::max(1.0, span / std::max(1, requestedBuckets));
    }
    splice();
}

std::optional<DetailRequest> BucketSeries::wantedDetail(int64_t visibleMin, int64_t visibleMax,
                                                        int columns) const
{
    if (m_overview.empty() || m_totalCount <= static_cast<int64_t>(m_overview.size()))
        return std::nullopt;   // the overview already holds every point
    const int64_t seriesMin = m_overview.front().first.step;
    const int64_t seriesMax = m_overview.back().last.step;
    visibleMin = std::max(visibleMin, seriesMin);
    visibleMax = std::min(visibleMax, seriesMax);
    if (visibleMax < visibleMin)
        return std::nullopt;
    // Two buckets a pixel column, with some slack so small zooms do not re-read.
    const double needed =
        std::max(1.0, static_cast<double>(visibleMax - visibleMin + 1) / (2.0 * std::max(1, columns)));
    if (m_overviewWidth <= 1.5 * needed)
        return std::nullopt;
    if (!m_detail.empty() && m_detailRange.stepMin <= visibleMin && m_detailRange.stepMax >= visibleMax) {
        const double detailWidth =
            static_cast<double>(m_detailRange.stepMax - m_detailRange.stepMin + 1) / m_detailRange.buckets;
        if (detailWidth <= 1.5 * needed)
            return std::nullopt;
        int64_t detailPoints = 0;
        for (const SeriesBucket& b : m_detail)
            detailPoints += b.count;
        if (detailPoints <= static_cast<int64_t>(m_detail.size()))
            return std::nullopt;   // every point of the range is already held
    }
    const int64_t width = visibleMax - visibleMin + 1;
    DetailRequest request;
    request.stepMin = std::max(seriesMin, visibleMin - width);
    request.stepMax = std::min(seriesMax, visibleMax + width);
    const double buckets = std::ceil(static_cast<double>(request.stepMax - request.stepMin + 1) / needed);
    request.buckets = static_cast<int>(std::clamp(buckets, 1.0, 50000.0));
    return request;
}

void BucketSeries::setDetail(const DetailRequest& request, std::vector<SeriesBucket> buckets)
{
    m_detailRange = request;
    m_detail = std::move(buckets);
    splice();
    touch();
}

void BucketSeries::splice()
{
    spliceBuckets();
    m_splicedValue.resize(m_spliced.size());
    m_splicedCount.resize(m_spliced.size());
    for (size_t i = 0; i < m_spliced.size(); ++i) {
        m_splicedValue[i] = bucketValue(m_spliced[i]);
        m_splicedCount[i] = std::max<int64_t>(1, m_spliced[i].count);
    }
}

void BucketSeries::spliceBuckets()
{
    m_spliced.clear();
    if (m_detail.empty()) {
        m_spliced = m_overview;
        return;
    }
    // Overview buckets that straddle the detail range's ends are dropped: their points are in
    // the detail read, or lie a whole view width away from what is shown.
    m_spliced.reserve(m_overview.size() + m_detail.size());
    for (const SeriesBucket& b : m_overview)
        if (b.last.step < m_detailRange.stepMin)
            m_spliced.push_back(b);
    for (const SeriesBucket& b : m_detail)
        m_spliced.push_back(b);
    for (const SeriesBucket& b : m_overview)
        if (b.first.step > m_detailRange.stepMax)
            m_spliced.push_back(b);
}

int64_t BucketSeries::stepAtWallTime(double wallTime) const
{
    if (m_spliced.empty())
        return 0;
    const auto it = std::lower_bound(m_spliced.begin(), m_spliced.end(), wallTime,
                                     [](const SeriesBucket& b, double t) { return b.last.wallTime < t; });
    if (it == m_spliced.end())
        return m_spliced.back().last.step;
    // Inside the bucket: interpolate between its first and last points.
    const double t0 = it->first.wallTime;
    const double t1 = it->last.wallTime;
    if (wallTime <= t0 || t1 <= t0)
        return it->first.step;
    const double f = (wallTime - t0) / (t1 - t0);
    return it->first.step + static_cast<int64_t>(std::llround(f * static_cast<double>(it->last.step - it->first.step)));
}

SeriesView BucketSeries::view(const ViewRequest& request) const
{
    const int64_t stepMin = request.stepMin;
    const int64_t stepMax = request.stepMax;
    SeriesView out;
    if (m_spliced.empty() || stepMax < stepMin)
        return out;
    size_t first = static_cast<size_t>(
        std::lower_bound(m_spliced.begin(), m_spliced.end(), stepMin,
                         [](const SeriesBucket& b, int64_t s) { return b.last.step < s; })
        - m_spliced.begin());
    size_t end = static_cast<size_t>(
        std::upper_bound(m_spliced.begin(), m_spliced.end(), stepMax,
                         [](int64_t s, const SeriesBucket& b) { return s < b.first.step; })
        - m_spliced.begin());
    first = first > 0 ? first - 1 : 0;
    end = std::min(m_spliced.size(), end + 1);

    if (request.raw) {
        M4Builder raw(stepMin, stepMax, request.columns, request.envelope, out.raw);
        for (size_t i = first; i < end; ++i) {
            const SeriesBucket& b = m_spliced[i];
            raw.add(b.first, b.min, b.max, b.last, hasExtremes(b));
        }
        raw.finish();
    }

    if (request.smoothing >= 0.0) {
        M4Builder smoothed(stepMin, stepMax, request.smoothedColumns, request.envelope, out.smoothed);
        DebiasedEma ema(request.smoothing);
        const double* values = m_splicedValue.data();
        const int64_t* counts = m_splicedCount.data();
        for (size_t i = 0; i < first; ++i)
            ema.addRepeated(values[i], counts[i]);
        for (size_t i = first; i < end; ++i) {
            SeriesPoint p = m_spliced[i].last;
            p.value = ema.addRepeated(values[i], counts[i]);
            smoothed.add(p);
        }
        smoothed.finish();
    }
    return out;
}

} // namespace charts
