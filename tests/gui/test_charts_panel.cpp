// ChartsPanel: live streaming, coalesced redraws, options, stored runs, export.
#include "charts/charts_panel.h"
#include "charts/metric_chart.h"
#include "charts/smoothing.h"

#include "test_runs_fixture.h"

#include <QCheckBox>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QWheelEvent>

#include <cmath>

using charts::MetricChart;

namespace {

QVector<nnlab::MetricPoint> batch(const std::string& tag, int64_t first, int64_t count,
                                  const std::function<double(int64_t)>& value, int64_t every = 1)
{
    const auto p = fixture::points(tag, count, value, first, every);
    return QVector<nnlab::MetricPoint>(p.begin(), p.end());
}

double maxValue(const QCPGraph* g, double keyMin = -1e300, double keyMax = 1e300)
{
    double hi = -1e300;
    for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it)
        if (it->key >= keyMin && it->key <= keyMax)
            hi = std::max(hi, it->value);
    return hi;
}

int countIn(const QCPGraph* g, double keyMin, double keyMax)
{
    int n = 0;
    for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it)
        n += it->key >= keyMin && it->key <= keyMax;
    return n;
}

} // namespace

class TestChartsPanel : public QObject {
    Q_OBJECT
private slots:
    void init();
    void cleanup();
    void appendStreamsIntoTheRightGraphs();
    void redrawsAreCoalesced();
    void smoothedGraphIsDebiasedEma();
    void smoothingChangeDrawsWhatAFullReplotDraws();
    void logYTogglesTheAxisScale();
    void xAxisModes();
    void zoomTurnsFollowOffAndDoubleClickResets();
    void hoverReadsRunStepAndValue();
    void runsKeepTheirColours();
    void legendWrapsAboveThePlot();
    void storedSpikeSurvivesDownsampling();
    void storedSmallRunIsLoadedWhole();
    void exportWritesPngSvgPdf();
    void badStoreShowsItsMessage();

private:
    std::unique_ptr<ChartsPanel> m_panel;
};

void TestChartsPanel::init()
{
    m_panel = std::make_unique<ChartsPanel>();
    m_panel->resize(1100, 800);
    m_panel->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_panel.get()));
}

void TestChartsPanel::cleanup()
{
    m_panel.reset();
}

void TestChartsPanel::appendStreamsIntoTheRightGraphs()
{
    ChartsPanel& p = *m_panel;
    const QString id = QStringLiteral("live-1");
    p.beginLiveRun(id, QStringLiteral("Live"), 50);
    auto points = batch("train/loss", 0, 100, [](int64_t s) { return 2.0 / (1 + s); });
    points += batch("train/accuracy", 0, 100, [](int64_t s) { return s / 100.0; });
    points += batch("lr", 0, 100, [](int64_t) { return 0.001; });
    points += batch("val/loss", 49, 2, [](int64_t) { return 0.5; }, 50);
    points += batch("grad_norm", 0, 10, [](int64_t) { return 1.0; });   // no chart shows it
    p.appendMetrics(id, points);
    p.replotNow();
    QCOMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("train/loss")), 100);
    QCOMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("val/loss")), 2);
    QCOMPARE(p.graphPointCount(ChartsPanel::AccuracyChart, id, QStringLiteral("train/accuracy")), 100);
    QCOMPARE(p.graphPointCount(ChartsPanel::LearningRateChart, id, QStringLiteral("lr")), 100);
    QCOMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("train/accuracy")), -1);
    QCOMPARE(p.graphPointCount(ChartsPanel::AccuracyChart, id, QStringLiteral("val/accuracy")), -1);
    // Smoothing is on by default: the smoothed train curve has as many points.
    QCOMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("train/loss"), true), 100);

    p.appendMetrics(id, batch("train/loss", 100, 150, [](int64_t) { return 0.01; }));
    p.replotNow();
    QCOMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("train/loss")), 250);
    // Follow keeps the newest point in view.
    QVERIFY(p.chart(ChartsPanel::LossChart)->xAxis->range().contains(249));
    QCOMPARE(p.shownRuns(), QStringList{id});
}

void TestChartsPanel::redrawsAreCoalesced()
{
    ChartsPanel& p = *m_panel;
    const QString id = QStringLiteral("live-2");
    p.beginLiveRun(id, QStringLiteral("Live"), 0);
    p.replotNow();
    const int before = p.refreshCount();
    // A burst of 200 batches without the event loop running: one redraw follows.
    for (int i = 0; i < 200; ++i)
        p.appendMetrics(id, batch("train/loss", i * 10, 10, [](int64_t s) { return 1.0 + s % 7; }));
    QCOMPARE(p.refreshCount(), before);
    QTRY_COMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("train/loss")) > 0, true);
    QTest::qWait(100);
    QCOMPARE(p.refreshCount(), before + 1);

    // Batches every 2 ms for 600 ms: at most 25 redraws a second.
    const int start = p.refreshCount();
    QElapsedTimer clock;
    clock.start();
    int64_t step = 2000;
    while (clock.elapsed() < 600) {
        p.appendMetrics(id, batch("train/loss", step, 5, [](int64_t) { return 1.0; }));
        step += 5;
        QTest::qWait(2);
    }
    const int redraws = p.refreshCount() - start;
    // At most one redraw per 40 ms; and some while data streams, not only at the end (the
    // lower bound is loose: a loaded test machine is slow).
    QVERIFY2(redraws >= 2 && redraws <= 600 / 40 + 2, qPrintable(QString::number(redraws)));
}

// A smoothing change redraws only the smoothed curves' layer (MetricChart::redraw): the
// picture must be the one a full replot gives, and must differ from the one before.
void TestChartsPanel::smoothingChangeDrawsWhatAFullReplotDraws()
{
    ChartsPanel& p = *m_panel;
    p.setSmoothing(0.5);
    for (int r = 0; r < 3; ++r) {
        const QString id = QStringLiteral("run-%1").arg(r);
        p.beginLiveRun(id, id, 0);
        p.appendMetrics(id, batch("train/loss", 0, 3000, [r](int64_t s) {
            return 1.0 + 0.2 * r + std::exp(-s / 800.0) + 0.3 * std::sin(s * 0.7 + r);
        }));
        p.endLiveRun(id);
    }
    p.setOverlaidRuns({QStringLiteral("run-0"), QStringLiteral("run-1"), QStringLiteral("run-2")});
    p.replotNow();
    MetricChart* chart = p.chart(ChartsPanel::LossChart);
    const QImage before = chart->grab().toImage();
    p.setSmoothing(0.95);
    p.replotNow();
    const QImage partial = chart->grab().toImage();
    chart->replot(QCustomPlot::rpImmediateRefresh);
    const QImage full = chart->grab().toImage();
    QVERIFY(partial != before);
    QVERIFY(partial == full);
    // Turning smoothing off changes the raw curves' style: all of it is redrawn.
    p.setSmoothing(0.0);
    p.replotNow();
    const QImage off = chart->grab().toImage();
    chart->replot(QCustomPlot::rpImmediateRefresh);
    QVERIFY(off == chart->grab().toImage());
}

void TestChartsPanel::smoothedGraphIsDebiasedEma()
{
    ChartsPanel& p = *m_panel;
    const QString id = QStringLiteral("live-3");
    p.setSmoothing(0.9);
    QCOMPARE(p.smoothing(), 0.9);
    p.beginLiveRun(id, QStringLiteral("Live"), 0);
    QVector<double> values;
    for (int i = 0; i < 300; ++i)
        values << (i % 2 ? 1.0 : 3.0);
    auto points = batch("train/loss", 0, 300, [&](int64_t s) { return values[static_cast<int>(s)]; });
    p.appendMetrics(id, points);
    p.replotNow();
    const QVector<double> expected = charts::debiasedEma(values, 0.9);
    const QCPGraph* smoothed = p.graph(ChartsPanel::LossChart, id, QStringLiteral("train/loss"), true);
    QVERIFY(smoothed && smoothed->visible());
    QCOMPARE(smoothed->data()->size(), 300);
    for (int i = 0; i < 300; ++i)
        QVERIFY(std::abs(smoothed->data()->at(i)->value - expected[i]) < 1e-12);
    // The raw curve stays behind, faint.
    const QCPGraph* raw = p.graph(ChartsPanel::LossChart, id, QStringLiteral("train/loss"));
    QVERIFY(raw->visible());
    QVERIFY(raw->pen().color().alpha() < 100);
    QCOMPARE(raw->data()->at(0)->value, 3.0);

    p.setSmoothing(0.0);
    p.replotNow();
    QVERIFY(!smoothed->visible());
    QCOMPARE(raw->pen().color().alpha(), 255);
}

void TestChartsPanel::logYTogglesTheAxisScale()
{
    ChartsPanel& p = *m_panel;
    auto* box = p.findChild<QCheckBox*>(QStringLiteral("logYCheck"));
    QVERIFY(box);
    QCOMPARE(p.chart(ChartsPanel::LossChart)->yAxis->scaleType(), QCPAxis::stLinear);
    box->setChecked(true);
    QVERIFY(p.logY());
    for (int i = 0; i < ChartsPanel::ChartCount; ++i)
        QCOMPARE(p.chart(i)->yAxis->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(!p.chart(0)->yAxis->ticker().dynamicCast<QCPAxisTickerLog>().isNull());
    p.setLogY(false);
    QVERIFY(!box->isChecked());
    QCOMPARE(p.chart(ChartsPanel::LearningRateChart)->yAxis->scaleType(), QCPAxis::stLinear);
}

void TestChartsPanel::xAxisModes()
{
    ChartsPanel& p = *m_panel;
    const QString id = QStringLiteral("live-4");
    p.setSmoothing(0.0);
    p.beginLiveRun(id, QStringLiteral("Live"), 50);
    p.appendMetrics(id, batch("train/loss", 0, 101, [](int64_t) { return 1.0; }));
    p.replotNow();
    const QCPGraph* g = p.graph(ChartsPanel::LossChart, id, QStringLiteral("train/loss"));
    QCOMPARE(g->data()->at(100)->key, 100.0);
    p.setXAxisMode(charts::XAxisMode::Epoch);
    p.replotNow();
    QCOMPARE(g->data()->at(100)->key, 2.0);
    QCOMPARE(p.chart(0)->xAxis->label(), QStringLiteral("epoch"));
    p.setXAxisMode(charts::XAxisMode::RelativeTime);
    p.replotNow();
    // The fixture puts points 0.01 s apart.
    QVERIFY(std::abs(g->data()->at(100)->key - 1.0) < 1e-6);
    QVERIFY(!p.chart(0)->xAxis->ticker().dynamicCast<QCPAxisTickerTime>().isNull());
}

void TestChartsPanel::zoomTurnsFollowOffAndDoubleClickResets()
{
    ChartsPanel& p = *m_panel;
    const QString id = QStringLiteral("live-5");
    p.beginLiveRun(id, QStringLiteral("Live"), 0);
    p.appendMetrics(id, batch("train/loss", 0, 1000, [](int64_t s) { return 1.0 / (1 + s); }));
    p.replotNow();
    QVERIFY(p.follow());
    QSignalSpy followSpy(&p, &ChartsPanel::followChanged);
    MetricChart* chart = p.chart(ChartsPanel::LossChart);
    const QPointF centre = chart->axisRect()->center();
    QWheelEvent wheel(centre, chart->mapToGlobal(centre), QPoint(), QPoint(0, 240), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(chart, &wheel);
    QVERIFY(!p.follow());
    QCOMPARE(followSpy.count(), 1);
    QVERIFY(chart->xAxis->range().size() < 900);
    // New points no longer move the view.
    const QCPRange zoomed = chart->xAxis->range();
    p.appendMetrics(id, batch("train/loss", 1000, 500, [](int64_t) { return 0.001; }));
    p.replotNow();
    QCOMPARE(chart->xAxis->range().lower, zoomed.lower);
    QCOMPARE(chart->xAxis->range().upper, zoomed.upper);

    QTest::mouseDClick(chart, Qt::LeftButton, Qt::NoModifier, centre.toPoint());
    p.replotNow();
    QVERIFY(p.follow());
    QVERIFY2(chart->xAxis->range().lower <= 0.0 && chart->xAxis->range().upper >= 1499.0,
             qPrintable(QStringLiteral("%1 .. %2").arg(chart->xAxis->range().lower).arg(chart->xAxis->range().upper)));
}

void TestChartsPanel::hoverReadsRunStepAndValue()
{
    ChartsPanel& p = *m_panel;
    const QString id = QStringLiteral("live-6");
    p.setSmoothing(0.0);
    p.beginLiveRun(id, QStringLiteral("Hover run"), 0);
    p.appendMetrics(id, batch("train/loss", 0, 50, [](int64_t s) { return s == 20 ? 5.0 : 1.0; }));
    p.replotNow();
    MetricChart* chart = p.chart(ChartsPanel::LossChart);
    const QPointF pixel(chart->xAxis->coordToPixel(20), chart->yAxis->coordToPixel(5.0));
    QVERIFY(chart->hoverAt(pixel + QPointF(3, 2)));
    const QString text = chart->hoverText();
    QVERIFY2(text.contains(QStringLiteral("Hover run")) && text.contains(QStringLiteral("train/loss"))
                 && text.contains(QStringLiteral("step 20")) && text.contains(QStringLiteral("· 5")),
             qPrintable(text));
    QVERIFY(!chart->hoverAt(QPointF(2, 2)));   // outside the axis rect
    QVERIFY(chart->hoverText().isEmpty());
    // With smoothing on, the raw spike behind the smoothed curve still reads out.
    p.setSmoothing(0.9);
    p.replotNow();
    const QPointF spike(chart->xAxis->coordToPixel(20), chart->yAxis->coordToPixel(5.0));
    QVERIFY(chart->hoverAt(spike));
    QVERIFY2(chart->hoverText().contains(QStringLiteral("· 5")) && !chart->hoverText().contains(QStringLiteral("smoothed")),
             qPrintable(chart->hoverText()));
}

void TestChartsPanel::runsKeepTheirColours()
{
    ChartsPanel& p = *m_panel;
    p.beginLiveRun(QStringLiteral("a"), QStringLiteral("A"), 0);
    p.appendMetrics(QStringLiteral("a"), batch("train/loss", 0, 10, [](int64_t) { return 1.0; }));
    p.endLiveRun(QStringLiteral("a"));
    p.beginLiveRun(QStringLiteral("b"), QStringLiteral("B"), 0);
    p.appendMetrics(QStringLiteral("b"), batch("train/loss", 0, 10, [](int64_t) { return 1.0; }));
    p.replotNow();
    // "a" finished and was not ticked: the next live run replaced it.
    QCOMPARE(p.shownRuns(), QStringList{QStringLiteral("b")});
    const QColor b = p.runColour(QStringLiteral("b"));
    QVERIFY(b.isValid());
    p.endLiveRun(QStringLiteral("b"));
    p.setOverlaidRuns({});
    p.replotNow();
    // The run that was live last stays up after it finished.
    QCOMPARE(p.shownRuns(), QStringList{QStringLiteral("b")});
    QCOMPARE(p.graph(ChartsPanel::LossChart, QStringLiteral("b"), QStringLiteral("train/loss"))->pen().color().rgb(),
             b.rgb());
    QVERIFY(p.chart(ChartsPanel::LossChart)->legend->itemCount() == 1);
}

void TestChartsPanel::legendWrapsAboveThePlot()
{
    ChartsPanel& p = *m_panel;
    p.resize(520, 700);
    QStringList ids;
    for (int r = 0; r < 7; ++r) {
        const QString id = QStringLiteral("w%1").arg(r);
        p.beginLiveRun(id, QStringLiteral("a rather long run name %1").arg(r), 0);
        p.appendMetrics(id, batch("train/loss", 0, 20, [r](int64_t s) { return 1.0 + r + 0.01 * s; }));
        p.endLiveRun(id);
        ids << id;
        p.setOverlaidRuns(ids);
    }
    p.replotNow();
    MetricChart* chart = p.chart(ChartsPanel::LossChart);
    QCOMPARE(chart->legend->itemCount() >= 7, true);
    int entries = 0;
    for (int i = 0; i < chart->legend->itemCount(); ++i)
        entries += chart->legend->item(i) != nullptr;
    QCOMPARE(entries, 7);
    // Several rows, the last one partly empty, all above the plot.
    QVERIFY(chart->legend->rowCount() > 1);
    QVERIFY(chart->legend->outerRect().bottom() <= chart->axisRect()->outerRect().top() + 1);
    p.resize(1100, 800);
    p.replotNow();
    QVERIFY(chart->legend->rowCount() < 3);
}

void TestChartsPanel::storedSpikeSurvivesDownsampling()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    constexpr int64_t kPoints = 1000000;
    constexpr int64_t kSpikeStep = 654321;
    fixture::RunSpec spec;
    spec.name = "million";
    const QString id = fixture::recordRun(db, spec, [](nnlab::RunRecorder& r) {
        for (int64_t first = 0; first < kPoints; first += 100000)
            r.addMetrics(fixture::points("train/loss", 100000, [](int64_t s) {
                return s == kSpikeStep ? 50.0 : 1.0 + 0.01 * std::sin(0.001 * static_cast<double>(s));
            }, first));
    });
    QVERIFY(!id.isEmpty());

    ChartsPanel& p = *m_panel;
    p.setStorePath(db);
    p.setOverlaidRuns({id});
    p.replotNow();
    const QCPGraph* raw = p.graph(ChartsPanel::LossChart, id, QStringLiteral("train/loss"));
    QVERIFY(raw);
    QVERIFY2(raw->data()->size() < 50000, qPrintable(QString::number(raw->data()->size())));
    QCOMPARE(maxValue(raw), 50.0);

    // Zoom around the spike: the store's finer read arrives and the spike is still there,
    // now with every point of the window.
    MetricChart* chart = p.chart(ChartsPanel::LossChart);
    p.setFollow(false);
    chart->xAxis->setRange(kSpikeStep - 500, kSpikeStep + 500);
    p.replotNow();
    p.loadDetail();
    QVERIFY(p.waitForDetail());
    p.replotNow();
    QCOMPARE(maxValue(raw, kSpikeStep - 500, kSpikeStep + 500), 50.0);
    QVERIFY2(countIn(raw, kSpikeStep - 500, kSpikeStep + 500) >= 1000,
             qPrintable(QString::number(countIn(raw, kSpikeStep - 500, kSpikeStep + 500))));
    // A window without the spike shows none.
    chart->xAxis->setRange(100000, 200000);
    p.replotNow();
    p.loadDetail();
    QVERIFY(p.waitForDetail());
    p.replotNow();
    QVERIFY(maxValue(raw, 100000, 200000) < 1.02);
}

void TestChartsPanel::storedSmallRunIsLoadedWhole()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    fixture::RunSpec spec;
    spec.name = "small";
    spec.stepsPerEpoch = 100;
    const QString id = fixture::recordRun(db, spec, [](nnlab::RunRecorder& r) {
        r.addMetrics(fixture::points("train/loss", 500, [](int64_t s) { return 1.0 / (1 + s); }, 0, 2));
        r.addMetrics(fixture::points("val/accuracy", 10, [](int64_t s) { return s / 1000.0; }, 99, 100));
    });
    ChartsPanel& p = *m_panel;
    p.setStorePath(db);
    p.setOverlaidRuns({id});
    p.replotNow();
    QCOMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("train/loss")), 500);
    QCOMPARE(p.graphPointCount(ChartsPanel::AccuracyChart, id, QStringLiteral("val/accuracy")), 10);
    QCOMPARE(p.run(id)->name, QStringLiteral("small"));
    QCOMPARE(p.run(id)->stepsPerEpoch, int64_t(100));
    p.setOverlaidRuns({});
    p.replotNow();
    QVERIFY(p.shownRuns().isEmpty());
    QCOMPARE(p.graphPointCount(ChartsPanel::LossChart, id, QStringLiteral("train/loss")), -1);
}

void TestChartsPanel::exportWritesPngSvgPdf()
{
    ChartsPanel& p = *m_panel;
    p.beginLiveRun(QStringLiteral("e"), QStringLiteral("Export run"), 0);
    p.appendMetrics(QStringLiteral("e"), batch("train/loss", 0, 500, [](int64_t s) { return 1.0 / (1 + s * 0.1); }));
    p.replotNow();
    QTemporaryDir dir;
    const struct {
        const char* name;
        QByteArray magic;
    } files[] = {{"loss.png", QByteArray("\x89PNG")}, {"loss.svg", QByteArray("<?xml")}, {"loss.pdf", QByteArray("%PDF")}};
    for (const auto& f : files) {
        const QString path = dir.filePath(QLatin1String(f.name));
        QVERIFY2(p.exportChart(ChartsPanel::LossChart, path), qPrintable(p.lastError()));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        QVERIFY2(bytes.size() > 1000, f.name);
        QVERIFY2(bytes.startsWith(f.magic), f.name);
        if (QByteArray(f.name).endsWith("svg"))
            QVERIFY(bytes.contains("<svg"));
    }
    QVERIFY(!p.exportChart(ChartsPanel::LossChart, dir.filePath(QStringLiteral("loss.gif"))));
    QVERIFY(p.lastError().contains(QStringLiteral("gif")));
}

void TestChartsPanel::badStoreShowsItsMessage()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("not-a-store.db"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("this is not sqlite at all, just some text long enough to be a header......");
    f.close();
    ChartsPanel& p = *m_panel;
    QSignalSpy errors(&p, &ChartsPanel::errorOccurred);
    p.setStorePath(path);
    p.setOverlaidRuns({QStringLiteral("whatever")});
    QCOMPARE(errors.count(), 1);
    QVERIFY2(p.lastError().contains(path), qPrintable(p.lastError()));
    QVERIFY(p.shownRuns().isEmpty());
}

QTEST_MAIN(TestChartsPanel)
#include "test_charts_panel.moc"
