// Smoothing and decimation of the chart series, without widgets.
#include "charts/metric_series.h"
#include "charts/smoothing.h"

#include <QTest>

#include <cmath>
#include <limits>

using charts::BucketSeries;
using charts::DebiasedEma;
using charts::FullSeries;
using nnlab::SeriesBucket;
using nnlab::SeriesPoint;

static charts::ViewRequest viewOf(int64_t stepMin, int64_t stepMax, int columns, double smoothing,
                                   int smoothedColumns, bool envelope = false)
{
    charts::ViewRequest r;
    r.stepMin = stepMin;
    r.stepMax = stepMax;
    r.columns = columns;
    r.smoothing = smoothing;
    r.smoothedColumns = smoothedColumns;
    r.envelope = envelope;
    return r;
}

class TestChartsSeries : public QObject {
    Q_OBJECT
private slots:
    void constantSeriesStaysConstant_data();
    void constantSeriesStaysConstant();
    void stepResponseByHand();
    void weightZeroIsIdentity();
    void nanPassesThroughWithoutPoisoning();
    void repeatedEqualsSingleAdds();
    void fullSeriesKeepsEveryPointWhenFew();
    void m4KeepsSpikesAndBoundsPoints();
    void envelopeHalvesPointsAndKeepsExtremes();
    void resumeReplacesFromItsStep();
    void smoothedViewIsTheFullResolutionEma();
    void bucketSeriesKeepsSpikeAndAsksForDetail();
    void bucketSmoothingMatchesFullResolution();
    void repeatedWithAlternatingCounts();
    void decimationEqualsReference_data();
    void decimationEqualsReference();
    void spikeSurvivesEveryZoom();
};

void TestChartsSeries::constantSeriesStaysConstant_data()
{
    QTest::addColumn<double>("weight");
    QTest::newRow("0") << 0.0;
    QTest::newRow("0.6") << 0.6;
    QTest::newRow("0.9") << 0.9;
    QTest::newRow("0.999") << 0.999;
}

void TestChartsSeries::constantSeriesStaysConstant()
{
    QFETCH(double, weight);
    // Debiasing is what keeps a constant constant: without it the first points would start
    // near 0 and creep up, more so the longer the memory.
    const QVector<double> smoothed = charts::debiasedEma(QVector<double>(500, 3.25), weight);
    for (double v : smoothed)
        QVERIFY2(std::abs(v - 3.25) < 1e-9, qPrintable(QString::number(v, 'g', 17)));
}

void TestChartsSeries::stepResponseByHand()
{
    // w = 0.5 over 0, 0, 0, 1, 1:
    //   s4 = 0.5, debias 1 - 0.5^4 = 0.9375 -> 0.5 / 0.9375
    //   s5 = 0.5 * 0.5 + 0.5 = 0.75, debias 1 - 0.5^5 = 0.96875 -> 0.75 / 0.96875
    const QVector<double> s = charts::debiasedEma({0, 0, 0, 1, 1}, 0.5);
    QCOMPARE(s.size(), 5);
    QCOMPARE(s[0], 0.0);
    QCOMPARE(s[2], 0.0);
    QVERIFY(std::abs(s[3] - 0.5 / 0.9375) < 1e-12);
    QVERIFY(std::abs(s[4] - 0.75 / 0.96875) < 1e-12);
    // The first value is the first point itself, whatever the weight.
    QCOMPARE(charts::debiasedEma({7.0, 1.0}, 0.95)[0], 7.0);
}

void TestChartsSeries::weightZeroIsIdentity()
{
    const QVector<double> values{1, 5, -2, 8};
    QCOMPARE(charts::debiasedEma(values, 0.0), values);
}

void TestChartsSeries::nanPassesThroughWithoutPoisoning()
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const QVector<double> s = charts::debiasedEma({2, nan, 2}, 0.8);
    QCOMPARE(s[0], 2.0);
    QVERIFY(std::isnan(s[1]));
    QVERIFY(std::abs(s[2] - 2.0) < 1e-12);
}

void TestChartsSeries::repeatedEqualsSingleAdds()
{
    DebiasedEma one(0.9);
    DebiasedEma many(0.9);
    one.add(4.0);
    many.add(4.0);
    for (int i = 0; i < 37; ++i)
        one.add(1.5);
    many.addRepeated(1.5, 37);
    QVERIFY(std::abs(one.current() - many.current()) < 1e-12);
}

void TestChartsSeries::fullSeriesKeepsEveryPointWhenFew()
{
    FullSeries s;
    for (int i = 0; i < 300; ++i)
        s.append(SeriesPoint{i * 10, 100.0 + i, static_cast<double>(i)});
    const auto view = s.view(viewOf(0, 3000, 800, -1.0, 1000));
    QCOMPARE(view.raw.size(), 300);
    QVERIFY(view.smoothed.isEmpty());
    // A window: its points plus one beyond each end.
    const auto window = s.view(viewOf(1000, 1990, 800, -1.0, 1000));
    QCOMPARE(window.raw.front().step, int64_t(990));
    QCOMPARE(window.raw.back().step, int64_t(2000));
}

void TestChartsSeries::m4KeepsSpikesAndBoundsPoints()
{
    FullSeries s;
    const int n = 200000;
    for (int i = 0; i < n; ++i)
        s.append(SeriesPoint{i, static_cast<double>(i), i == 123457 ? 99.0 : (i == 777 ? -42.0 : std::sin(i * 0.01))});
    const auto view = s.view(viewOf(0, n - 1, 500, -1.0, 1000));
    QVERIFY2(view.raw.size() <= 4 * 502, qPrintable(QString::number(view.raw.size())));
    double hi = -1e9, lo = 1e9;
    for (int i = 0; i < view.raw.size(); ++i) {
        hi = std::max(hi, view.raw[i].value);
        lo = std::min(lo, view.raw[i].value);
        if (i > 0)
            QVERIFY(view.raw[i].step > view.raw[i - 1].step);
    }
    QCOMPARE(hi, 99.0);
    QCOMPARE(lo, -42.0);
    QCOMPARE(view.raw.front().step, int64_t(0));
    QCOMPARE(view.raw.back().step, int64_t(n - 1));
}

void TestChartsSeries::envelopeHalvesPointsAndKeepsExtremes()
{
    FullSeries s;
    const int n = 100000;
    for (int i = 0; i < n; ++i)
        s.append(SeriesPoint{i, 0, i == 5000 ? 7.0 : (i == 90001 ? -3.0 : std::cos(i * 0.5))});
    const auto m4 = s.view(viewOf(0, n - 1, 1000, -1.0, 1000));
    const auto m2 = s.view(viewOf(0, n - 1, 1000, -1.0, 1000, true));
    QVERIFY2(m2.raw.size() <= 2 * 1001 && m4.raw.size() > 3 * 1000,
             qPrintable(QStringLiteral("%1 %2").arg(m2.raw.size()).arg(m4.raw.size())));
    double hi = -1e9, lo = 1e9;
    for (const SeriesPoint& p : m2.raw) {
        hi = std::max(hi, p.value);
        lo = std::min(lo, p.value);
    }
    QCOMPARE(hi, 7.0);
    QCOMPARE(lo, -3.0);
    // Sparse data is left alone.
    FullSeries few;
    for (int i = 0; i < 100; ++i)
        few.append(SeriesPoint{i * 100, 0, std::sin(i)});
    QCOMPARE(few.view(viewOf(0, 9900, 1000, -1.0, 1000, true)).raw.size(), 100);
}

void TestChartsSeries::resumeReplacesFromItsStep()
{
    FullSeries s;
    for (int i = 0; i < 10; ++i)
        s.append(SeriesPoint{i, 0, 1.0});
    const uint64_t before = s.revision();
    s.append(SeriesPoint{6, 0, 5.0});
    QCOMPARE(s.size(), 7);
    QCOMPARE(s.at(6).value, 5.0);
    QVERIFY(s.revision() != before);
}

void TestChartsSeries::smoothedViewIsTheFullResolutionEma()
{
    FullSeries s;
    QVector<double> values;
    for (int i = 0; i < 1000; ++i) {
        values << std::cos(i * 0.3) + i * 0.001;
        s.append(SeriesPoint{i, 0, values.back()});
    }
    const QVector<double> expected = charts::debiasedEma(values, 0.8);
    // Zoomed into the end: the smoothed values still carry the state of every earlier point.
    const auto view = s.view(viewOf(900, 999, 1000, 0.8, 1000));
    QVERIFY(!view.smoothed.isEmpty());
    for (const SeriesPoint& p : view.smoothed)
        QVERIFY(std::abs(p.value - expected[static_cast<int>(p.step)]) < 1e-12);
    // Points appended later extend the cache consistently.
    s.append(SeriesPoint{1000, 0, 10.0});
    values << 10.0;
    const auto more = s.view(viewOf(990, 1000, 1000, 0.8, 1000));
    QVERIFY(std::abs(more.smoothed.back().value - charts::debiasedEma(values, 0.8).back()) < 1e-12);
}

static SeriesBucket bucketOf(const std::vector<SeriesPoint>& points, size_t from, size_t to)
{
    SeriesBucket b;
    b.count = static_cast<int64_t>(to - from);
    b.first = points[from];
    b.last = points[to - 1];
    b.min = b.max = points[from];
    for (size_t i = from; i < to; ++i) {
        if (points[i].value < b.min.value)
            b.min = points[i];
        if (points[i].value > b.max.value)
            b.max = points[i];
    }
    return b;
}

void TestChartsSeries::bucketSeriesKeepsSpikeAndAsksForDetail()
{
    std::vector<SeriesPoint> points;
    for (int i = 0; i < 100000; ++i)
        points.push_back(SeriesPoint{i, 0, i == 4242 ? 1000.0 : 1.0});
    std::vector<SeriesBucket> overview;
    for (size_t i = 0; i < points.size(); i += 100)
        overview.push_back(bucketOf(points, i, i + 100));
    BucketSeries s(overview, 1000);
    QCOMPARE(s.totalCount(), int64_t(100000));
    const auto view = s.view(viewOf(0, 99999, 800, -1.0, 1000));
    double hi = 0;
    for (const SeriesPoint& p : view.raw)
        hi = std::max(hi, p.value);
    QCOMPARE(hi, 1000.0);
    // 1000 buckets resolve the whole series on 400 columns (two a column are wanted), but
    // neither the whole series on 800 nor a 1000-step window.
    QVERIFY(!s.wantedDetail(0, 99999, 400));
    QVERIFY(s.wantedDetail(0, 99999, 800).has_value());
    const auto request = s.wantedDetail(4000, 4999, 800);
    QVERIFY(request.has_value());
    QVERIFY(request->stepMin <= 4000 && request->stepMax >= 4999);
    std::vector<SeriesBucket> detail;
    for (int64_t i = request->stepMin; i <= request->stepMax; ++i)
        detail.push_back(bucketOf(points, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
    s.setDetail(*request, detail);
    QVERIFY(!s.wantedDetail(4000, 4999, 800));
    const auto zoomed = s.view(viewOf(4000, 4999, 800, -1.0, 1000));
    QVERIFY(zoomed.raw.size() > 1000);   // every point of the window
    bool spike = false;
    for (const SeriesPoint& p : zoomed.raw)
        spike |= p.step == 4242 && p.value == 1000.0;
    QVERIFY(spike);
}

void TestChartsSeries::bucketSmoothingMatchesFullResolution()
{
    // A slowly varying series: the count-weighted bucket EMA tracks the exact one closely.
    std::vector<SeriesPoint> points;
    QVector<double> values;
    for (int i = 0; i < 50000; ++i) {
        const double v = 2.0 * std::exp(-i / 8000.0) + 0.1;
        points.push_back(SeriesPoint{i, 0, v});
        values << v;
    }
    std::vector<SeriesBucket> overview;
    for (size_t i = 0; i < points.size(); i += 50)
        overview.push_back(bucketOf(points, i, i + 50));
    BucketSeries s(overview, 1000);
    const QVector<double> exact = charts::debiasedEma(values, 0.99);
    const auto view = s.view(viewOf(0, 49999, 1000, 0.99, 1000));
    QVERIFY(!view.smoothed.isEmpty());
    for (const SeriesPoint& p : view.smoothed)
        QVERIFY2(std::abs(p.value - exact[static_cast<int>(p.step)]) < 2e-3,
                 qPrintable(QStringLiteral("step %1: %2 vs %3").arg(p.step).arg(p.value).arg(exact[static_cast<int>(p.step)])));
}


// Overview buckets of 24 and 25 points alternate (100,000 points in 4,096 buckets): the
// powers cached for two counts must give what single adds give.
void TestChartsSeries::repeatedWithAlternatingCounts()
{
    DebiasedEma one(0.97);
    DebiasedEma many(0.97);
    for (int b = 0; b < 200; ++b) {
        const int count = b % 3 == 2 ? 7 : (b % 2 ? 24 : 25);
        const double value = std::sin(b * 0.3);
        for (int i = 0; i < count; ++i)
            one.add(value);
        many.addRepeated(value, count);
        QVERIFY2(std::abs(one.current() - many.current()) < 1e-12,
                 qPrintable(QStringLiteral("bucket %1: %2 vs %3").arg(b).arg(one.current()).arg(many.current())));
    }
}

void TestChartsSeries::decimationEqualsReference_data()
{
    QTest::addColumn<int>("columns");
    QTest::addColumn<bool>("envelope");
    QTest::addColumn<int>("window");
    for (int columns : {1, 7, 300, 1000, 1800, 5000, 20000})
        for (bool envelope : {false, true})
            for (int window : {0, 1, 2})
                QTest::addRow("%d columns, %s, window %d", columns, envelope ? "M2" : "M4", window)
                    << columns << envelope << window;
}

// The fast decimation of points in memory (FullSeries) gives exactly what the reference
// decimation of one-point buckets (BucketSeries, M4Builder) gives: the same points, in the
// same order, on noisy data with ties, NaN and infinities, steps with gaps.
void TestChartsSeries::decimationEqualsReference()
{
    QFETCH(int, columns);
    QFETCH(bool, envelope);
    QFETCH(int, window);
    FullSeries full;
    std::vector<SeriesBucket> buckets;
    uint64_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(seed >> 11) / 9007199254740992.0;
    };
    int64_t step = 0;
    for (int i = 0; i < 60000; ++i) {
        step += next() < 0.1 ? 1 + static_cast<int64_t>(next() * 20) : 1;
        double value = std::round(next() * 50) / 10;   // many ties
        const double r = next();
        if (r < 0.002)
            value = std::numeric_limits<double>::quiet_NaN();
        else if (r < 0.003)
            value = r < 0.0025 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
        const SeriesPoint p{step, static_cast<double>(i), value};
        full.append(p);
        buckets.push_back(SeriesBucket{1, p, p, p, p});
    }
    const BucketSeries reference(buckets, static_cast<int>(buckets.size()));
    const int64_t last = step;
    const int64_t lo = window == 0 ? 0 : window == 1 ? last / 3 : last - 977;
    const int64_t hi = window == 0 ? last : window == 1 ? last / 3 + last / 10 : last;
    const auto fast = full.view(viewOf(lo, hi, columns, -1.0, 1, envelope)).raw;
    auto slow = reference.view(viewOf(lo, hi, columns, -1.0, 1, envelope)).raw;
    // No more points than decimation would give (with one beyond each end): the points
    // themselves.
    QVector<SeriesPoint> inRange;
    for (int i = 0; i < full.size(); ++i) {
        const bool inside = full.at(i).step >= lo && full.at(i).step <= hi;
        const bool before = i + 1 < full.size() && full.at(i + 1).step >= lo && full.at(i).step < lo;
        const bool after = i > 0 && full.at(i - 1).step <= hi && full.at(i).step > hi;
        if (inside || before || after)
            inRange.push_back(full.at(i));
    }
    if (inRange.size() <= (envelope ? 2 : 4) * columns)
        slow = inRange;
    else
        QVERIFY(fast.size() < inRange.size());
    QCOMPARE(fast.size(), slow.size());
    for (int i = 0; i < fast.size(); ++i) {
        QCOMPARE(fast[i].step, slow[i].step);
        const bool same = fast[i].value == slow[i].value || (std::isnan(fast[i].value) && std::isnan(slow[i].value));
        QVERIFY2(same, qPrintable(QStringLiteral("point %1 step %2: %3 vs %4")
                                      .arg(i).arg(fast[i].step).arg(fast[i].value).arg(slow[i].value)));
    }
}

// One spike in 100,000 points is in every view that contains it, at every zoom, both as
// points in memory and as store buckets, with the envelope (M2) the charts draw.
void TestChartsSeries::spikeSurvivesEveryZoom()
{
    constexpr int n = 100000;
    constexpr int64_t spike = 61803;
    FullSeries full;
    std::vector<SeriesBucket> overview;
    for (int i = 0; i < n; ++i) {
        const SeriesPoint p{i, 0.0, i == spike ? 9.0 : 1.0 + 0.1 * std::sin(i * 0.37)};
        full.append(p);
    }
    // The overview as the store gives it: 4,096 buckets with their real extremes.
    const int per = (n + 4095) / 4096;
    for (int b = 0; b * per < n; ++b) {
        SeriesBucket bucket;
        for (int i = b * per; i < std::min(n, (b + 1) * per); ++i) {
            const SeriesPoint p{i, 0.0, i == spike ? 9.0 : 1.0 + 0.1 * std::sin(i * 0.37)};
            if (bucket.count == 0)
                bucket.first = bucket.min = bucket.max = p;
            bucket.last = p;
            if (p.value < bucket.min.value)
                bucket.min = p;
            if (p.value > bucket.max.value)
                bucket.max = p;
            ++bucket.count;
        }
        overview.push_back(bucket);
    }
    const BucketSeries stored(overview, 4096);
    for (int64_t width : {int64_t(n), int64_t(30000), int64_t(5000), int64_t(700), int64_t(40), int64_t(3)}) {
        for (int64_t offset : {int64_t(0), width / 3, width - 1}) {
            const int64_t lo = std::max<int64_t>(0, spike - offset);
            const int64_t hi = lo + width - 1;
            for (int columns : {3, 400, 1800}) {
                for (const charts::MetricSeries* series : {static_cast<const charts::MetricSeries*>(&full),
                                                           static_cast<const charts::MetricSeries*>(&stored)}) {
                    const auto view = series->view(viewOf(lo, hi, columns, 0.6, columns, true));
                    double top = 0;
                    for (const SeriesPoint& p : view.raw)
                        top = std::max(top, p.value);
                    QVERIFY2(top == 9.0, qPrintable(QStringLiteral("%1 view [%2, %3] over %4 columns: max %5")
                                                        .arg(series == &full ? "full" : "stored")
                                                        .arg(lo).arg(hi).arg(columns).arg(top)));
                }
            }
        }
    }
}

QTEST_APPLESS_MAIN(TestChartsSeries)
#include "test_charts_series.moc"
