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

QTEST_APPLESS_MAIN(TestChartsSeries)
#include "test_charts_series.moc"
