// Layer Statistics dock: layer metric tags, histogram percentile bands, the charts with the
// 1e-3 reference line, coalesced redraws, and a stored run read back through the store.
#include "layer_stats_panel.h"

#include "test_runs_fixture.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace inspect;

namespace {

nnlab::Snapshot histogram(nnlab::SnapshotKind kind, const std::string& layer, int64_t step,
                          std::vector<float> counts, double lo = 0.0, double width = 1.0)
{
    nnlab::Snapshot s;
    s.kind = kind;
    s.name = layer;
    s.step = step;
    s.shape = {static_cast<int64_t>(counts.size())};
    s.values = std::move(counts);
    QStringList edges;
    for (size_t i = 0; i <= s.values.size(); ++i)
        edges << QString::number(lo + width * static_cast<double>(i));
    s.meta = QStringLiteral(R"({"edges":[%1],"tensor":"%2.weight","count":4})")
                 .arg(edges.join(','), QString::fromStdString(layer))
                 .toStdString();
    return s;
}

QVector<nnlab::MetricPoint> layerPoints(const std::string& layer, const std::string& stat, int64_t first, int count,
                                        double value)
{
    QVector<nnlab::MetricPoint> out;
    for (int i = 0; i < count; ++i)
        out.push_back({"layers/" + layer + "/" + stat, first + 50 * i, 0.0, value * (i + 1)});
    return out;
}

} // namespace

class TestInspectLayers : public QObject {
    Q_OBJECT
private slots:
    void layerTags_data();
    void layerTags();
    void layerPathsInModelOrder();
    void quantilesOfKnownHistograms();
    void badHistogramsAreRefused();
    void distributionBandsPerLayerAndKind();
    void liveStatisticsChartPerLayer();
    void updateRatioKeepsTheRuleOfThumbInView();
    void redrawsAreCoalesced();
    void storedRunIsReadBack();
};

void TestInspectLayers::layerTags_data()
{
    QTest::addColumn<QString>("tag");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("layer");
    QTest::addColumn<int>("stat");
    QTest::newRow("top level") << "layers/0/act_mean" << true << "0" << int(LayerStat::ActMean);
    QTest::newRow("residual body") << "layers/3.body.0/update_ratio" << true << "3.body.0" << int(LayerStat::UpdateRatio);
    QTest::newRow("dead") << "layers/1/dead_fraction" << true << "1" << int(LayerStat::DeadFraction);
    QTest::newRow("not a layer") << "train/loss" << false << "" << 0;
    QTest::newRow("unknown statistic") << "layers/0/kurtosis" << false << "" << 0;
    QTest::newRow("no layer") << "layers/act_mean" << false << "" << 0;
}

void TestInspectLayers::layerTags()
{
    QFETCH(QString, tag);
    QFETCH(bool, ok);
    QFETCH(QString, layer);
    QFETCH(int, stat);
    QString gotLayer;
    LayerStat gotStat = LayerStat::Count;
    QCOMPARE(parseLayerTag(tag, &gotLayer, &gotStat), ok);
    if (ok) {
        QCOMPARE(gotLayer, layer);
        QCOMPARE(int(gotStat), stat);
    }
}

void TestInspectLayers::layerPathsInModelOrder()
{
    QStringList paths{"10", "3.body.0", "2", "3", "3.body.10", "3.body.2", "3.shortcut"};
    std::sort(paths.begin(), paths.end(), layerPathLess);
    QCOMPARE(paths, (QStringList{"2", "3", "3.body.0", "3.body.2", "3.body.10", "3.shortcut", "10"}));
}

void TestInspectLayers::quantilesOfKnownHistograms()
{
    // Uniform over [0, 4): quantiles are linear.
    Histogram uniform{{0, 1, 2, 3, 4}, {1, 1, 1, 1}};
    const auto q = histogramQuantiles(uniform, {0.0, 0.1, 0.25, 0.5, 0.75, 1.0});
    QCOMPARE(q.size(), size_t(6));
    QCOMPARE(q[0], 0.0);
    QVERIFY(std::fabs(q[1] - 0.4) < 1e-12);
    QCOMPARE(q[2], 1.0);
    QCOMPARE(q[3], 2.0);
    QCOMPARE(q[4], 3.0);
    QCOMPARE(q[5], 4.0);
    // Empty outer bins: min and max are the edges of the first and last non-empty bins.
    Histogram gaps{{0, 1, 2, 3, 4, 5}, {0, 2, 0, 2, 0}};
    const auto g = histogramQuantiles(gaps, {0.0, 0.5, 0.75, 1.0});
    QCOMPARE(g[0], 1.0);
    QCOMPARE(g[1], 2.0);
    QCOMPARE(g[2], 3.5);
    QCOMPARE(g[3], 4.0);
    // TensorBoard's nine: symmetric around the median of a symmetric histogram.
    Histogram bell{{-3, -2, -1, 0, 1, 2, 3}, {1, 4, 10, 10, 4, 1}};
    const auto b = histogramQuantiles(bell, distributionQuantiles());
    QCOMPARE(b.size(), size_t(9));
    QCOMPARE(b[4], 0.0);
    for (size_t i = 0; i < 4; ++i)
        QVERIFY(std::fabs(b[i] + b[8 - i]) < 1e-9);
    QVERIFY(std::is_sorted(b.begin(), b.end()));
    // Nothing to say about an empty or malformed histogram.
    QVERIFY(histogramQuantiles(Histogram{{0, 1}, {0}}, {0.5}).empty());
    QVERIFY(histogramQuantiles(Histogram{{0, 1, 2}, {1}}, {0.5}).empty());
}

void TestInspectLayers::badHistogramsAreRefused()
{
    QString error;
    nnlab::Snapshot s = histogram(nnlab::SnapshotKind::WeightHistogram, "3", 100, {1, 2, 3});
    QVERIFY(unpackHistogram(s, &error));
    s.meta = R"({"edges":[0,1,2]})";
    QVERIFY(!unpackHistogram(s, &error));
    QVERIFY2(error.contains("layer 3") && error.contains("step 100") && error.contains("bins + 1 = 4"), qPrintable(error));
    s.meta = R"({"edges":[0,2,1,3]})";
    QVERIFY(!unpackHistogram(s, &error));
    QVERIFY2(error.contains("increasing"), qPrintable(error));
}

void TestInspectLayers::distributionBandsPerLayerAndKind()
{
    DistributionsView view;
    using K = nnlab::SnapshotKind;
    view.addSnapshots({histogram(K::WeightHistogram, "3", 100, {1, 1, 1, 1}),
                       histogram(K::WeightHistogram, "0", 100, {1, 1, 1, 1}, -2.0),
                       histogram(K::WeightHistogram, "0", 200, {0, 0, 0, 4}, -2.0),
                       histogram(K::GradientHistogram, "0", 100, {2, 0, 0, 2}, -0.02, 0.01)});
    QCOMPARE(view.layers(), (QStringList{"0", "3"}));
    QCOMPARE(view.layer(), QString("0"));
    const auto* bands = view.bands();
    QVERIFY(bands);
    QCOMPARE(bands->size(), size_t(2));
    QCOMPARE(bands->at(100)[4], 0.0);    // median of uniform [-2, 2)
    QCOMPARE(bands->at(100)[0], -2.0);
    QCOMPARE(bands->at(200)[0], 1.0);    // everything in the last bin [1, 2)
    QCOMPARE(bands->at(200)[8], 2.0);
    view.redraw();
    // Nine graphs (one a percentile); the median's data are the medians by step.
    QCOMPARE(view.plot()->graphCount(), 9);
    QCPGraph* median = view.plot()->graph(4);
    QCOMPARE(median->dataCount(), 2);
    QCOMPARE(median->data()->at(1)->key, 200.0);
    QCOMPARE(median->data()->at(1)->value, 1.5);

    view.setKind(DistributionsView::Kind::Gradients);
    QCOMPARE(view.layers(), QStringList{"0"});
    QCOMPARE(view.bands()->at(100)[0], -0.02);
    QCOMPARE(view.bands()->at(100)[8], 0.02);
    // A resumed run replays steps: a histogram at an earlier step replaces the later ones.
    view.setKind(DistributionsView::Kind::Weights);
    view.addSnapshots({histogram(K::WeightHistogram, "0", 150, {4, 0, 0, 0}, -2.0)});
    QCOMPARE(view.bands()->size(), size_t(2));
    QVERIFY(view.bands()->count(150) && !view.bands()->count(200));
}

void TestInspectLayers::liveStatisticsChartPerLayer()
{
    LayerStatisticsPanel panel;
    panel.resize(900, 700);
    panel.beginLiveRun("run-a");
    QVector<nnlab::MetricPoint> batch = layerPoints("0", "act_mean", 0, 5, 0.1);
    batch += layerPoints("3", "act_mean", 0, 5, 0.2);
    batch += layerPoints("3.body.0", "weight_norm", 0, 3, 1.0);
    batch.push_back({"train/loss", 10, 0.0, 1.0});
    panel.appendMetrics("run-a", batch);
    panel.appendMetrics("other-run", layerPoints("7", "act_mean", 0, 5, 1.0));
    panel.redrawNow();
    QCOMPARE(panel.data().layers(), (QStringList{"0", "3", "3.body.0"}));
    QCPGraph* g0 = panel.graph(LayerStat::ActMean, "0");
    QVERIFY(g0);
    QCOMPARE(g0->dataCount(), 5);
    QCOMPARE(g0->data()->at(4)->key, 200.0);
    QVERIFY(std::fabs(g0->data()->at(4)->value - 0.5) < 1e-12);
    QVERIFY(g0->visible());
    QVERIFY(!panel.graph(LayerStat::ActMean, "3.body.0")->visible());   // no act_mean for it
    QCOMPARE(panel.graph(LayerStat::WeightNorm, "3.body.0")->dataCount(), 3);
    // Layers keep their colour across the charts.
    QCOMPARE(panel.graph(LayerStat::ActMean, "3")->pen().color(), panel.graph(LayerStat::WeightNorm, "3")->pen().color());
    QVERIFY(panel.graph(LayerStat::ActMean, "3")->pen().color() != g0->pen().color());

    panel.setLayerShown("0", false);
    panel.redrawNow();
    QVERIFY(!panel.graph(LayerStat::ActMean, "0")->visible());
    QCOMPARE(panel.shownLayers(), (QStringList{"3", "3.body.0"}));
    // The y range fits the shown layers only: layer 3's act_mean is 0.2 .. 1.0.
    QVERIFY(panel.chart(LayerStat::ActMean)->yAxis->range().lower > 0.1);

    panel.beginLiveRun("run-b");
    panel.redrawNow();
    QVERIFY(panel.data().isEmpty());
    QCOMPARE(panel.chart(LayerStat::ActMean)->graphCount(), 0);
}

void TestInspectLayers::updateRatioKeepsTheRuleOfThumbInView()
{
    LayerStatisticsPanel panel;
    panel.beginLiveRun("run-a");
    QVector<nnlab::MetricPoint> batch = layerPoints("0", "update_ratio", 0, 4, 1e-5);   // far below 1e-3
    batch.push_back({"layers/0/update_ratio", 500, 0.0, 0.0});   // no update yet: not placeable on a log axis
    panel.appendMetrics("run-a", batch);
    panel.redrawNow();
    QCustomPlot* chart = panel.chart(LayerStat::UpdateRatio);
    QCOMPARE(chart->yAxis->scaleType(), QCPAxis::stLogarithmic);
    QCOMPARE(panel.graph(LayerStat::UpdateRatio, "0")->dataCount(), 4);
    QCOMPARE(panel.referenceLine()->point1->coords().y(), 1e-3);
    QCOMPARE(panel.referenceLine()->point2->coords().y(), 1e-3);
    QVERIFY(chart->yAxis->range().contains(1e-3));
    QVERIFY(chart->yAxis->range().contains(1e-5));
}

void TestInspectLayers::redrawsAreCoalesced()
{
    LayerStatisticsPanel panel;
    panel.beginLiveRun("run-a");
    QTest::qWait(2 * LayerStatisticsPanel::kRedrawIntervalMs);
    const int before = panel.redrawCount();
    for (int i = 0; i < 300; ++i) {
        panel.appendMetrics("run-a", {{"layers/0/grad_norm", i * 10, 0.0, 1.0 + i}});
        panel.addSnapshots("run-a", {histogram(nnlab::SnapshotKind::GradientHistogram, "0", i * 10, {1, 2, 1})});
    }
    QCOMPARE(panel.redrawCount(), before);
    QTRY_COMPARE(panel.redrawCount(), before + 1);
    QCOMPARE(panel.graph(LayerStat::GradNorm, "0")->dataCount(), 300);
    QTest::qWait(2 * LayerStatisticsPanel::kRedrawIntervalMs);
    QCOMPARE(panel.redrawCount(), before + 1);
}

void TestInspectLayers::storedRunIsReadBack()
{
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    using K = nnlab::SnapshotKind;
    const QString id = fixture::recordRun(db, {}, [](nnlab::RunRecorder& r) {
        std::vector<nnlab::MetricPoint> points;
        for (int i = 0; i < 20; ++i) {
            points.push_back({"layers/0/act_std", 50 * i, 1.7e9, 1.0 + i});
            points.push_back({"layers/2/dead_fraction", 50 * i, 1.7e9, 0.01 * i});
            points.push_back({"train/loss", 50 * i, 1.7e9, 1.0});
        }
        r.addMetrics(points);
        r.addSnapshots({histogram(K::WeightHistogram, "0", 100, {1, 3, 1}), histogram(K::WeightHistogram, "2", 100, {1, 1}),
                        histogram(K::GradientHistogram, "0", 100, {2, 2})});
    });
    QVERIFY(!id.isEmpty());
    LayerStatisticsPanel panel;
    QSignalSpy loaded(&panel, &LayerStatisticsPanel::loadingFinished);
    panel.showStoredRun(db, id);
    QVERIFY(loaded.wait(20000));
    QCOMPARE(panel.data().layers(), (QStringList{"0", "2"}));
    QCOMPARE(panel.graph(LayerStat::ActStd, "0")->dataCount(), 20);
    QCOMPARE(panel.graph(LayerStat::DeadFraction, "2")->data()->at(19)->value, 0.19);
    QCOMPARE(panel.distributions()->layers(), (QStringList{"0", "2"}));
    QCOMPARE(panel.distributions()->bands()->at(100)[4], 1.5);

    // A run that is not there: its message, no crash.
    panel.showStoredRun(db, "no-such-run");
    QVERIFY(loaded.wait(20000));
    QVERIFY(panel.data().isEmpty());
}

QTEST_MAIN(TestInspectLayers)
#include "test_inspect_layers.moc"
