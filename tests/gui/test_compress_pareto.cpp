// The Pareto chart and view: the frontier drawn from given rows, the axis switch, a click on a
// point selecting its run, the runs table's selection ringing points, and which runs a
// selection brings in (children and parents).
#include "compress/pareto_chart.h"
#include "compress/pareto_view.h"

#include <QComboBox>
#include <QSignalSpy>
#include <QTest>
#include <QTreeWidget>

namespace {

nnlab::CompareRow row(const std::string& id, nnlab::CompressMethod method, double accuracy, int64_t bytes, double b1,
                      double b64, const std::string& parent = "p")
{
    nnlab::CompareRow r;
    r.runId = id;
    r.name = id + " name";
    r.parentId = method == nnlab::CompressMethod::None ? "" : parent;
    r.method = method;
    r.measurement.testAccuracy = accuracy;
    r.measurement.validationAccuracy = accuracy;
    r.measurement.fileBytes = bytes;
    r.measurement.batch1.medianMs = b1;
    r.measurement.batch64.medianMs = b64;
    return r;
}

// A parent, its structured prune, its int8 model, a distilled student and a masked prune.
std::vector<nnlab::CompareRow> familyRows()
{
    using M = nnlab::CompressMethod;
    return {row("p", M::None, 0.886, 400 * 1024, 0.50, 10.0),
            row("s", M::PruneStructured, 0.874, 200 * 1024, 0.40, 5.0),
            row("q", M::QuantizeStatic, 0.885, 105 * 1024, 0.55, 5.2),
            row("d", M::Distill, 0.860, 150 * 1024, 0.30, 4.0),
            row("u", M::PruneUnstructured, 0.870, 420 * 1024, 0.52, 10.5)};
}

} // namespace

class TestComparePareto : public QObject {
    Q_OBJECT
private slots:
    void frontierBySize()
    {
        ParetoChart chart;
        chart.setRows(familyRows());
        QCOMPARE(chart.plottedRuns(), (QStringList{"p", "s", "q", "d", "u"}));
        // By size: the int8 model (smallest, 88.5%) and the parent (most accurate) only.
        QCOMPARE(chart.frontierRuns(), (QStringList{"q", "p"}));
        const QVector<QPointF> corners = chart.frontierPoints();
        QCOMPARE(corners.size(), 2);
        QCOMPARE(corners[0], QPointF(105.0, 88.5));
        QCOMPARE(corners[1], QPointF(400.0, 88.6));
        // Drawn as a step line, and a legend entry per method present plus the frontier.
        QCPGraph* frontier = chart.graph(0);
        QCOMPARE(frontier->lineStyle(), QCPGraph::lsStepLeft);
        // The corners, then flat on to the right edge: more size buys no accuracy.
        QCOMPARE(frontier->data()->size(), 3);
        QCOMPARE(frontier->data()->at(2)->key, chart.xAxis->range().upper);
        QCOMPARE(frontier->data()->at(2)->value, corners[1].y());
        QCOMPARE(chart.legend->itemCount(), 1 + 5);
    }

    void axisSwitchChangesValues()
    {
        ParetoView view;
        view.setRows(familyRows());
        QCOMPARE(view.chart()->plottedPoints().at(0), QPointF(400.0, 88.6));   // KiB
        view.costCombo()->setCurrentIndex(view.costCombo()->findData(int(nnlab::ParetoCost::LatencyBatch64)));
        QCOMPARE(view.chart()->cost(), nnlab::ParetoCost::LatencyBatch64);
        const QVector<QPointF> points = view.chart()->plottedPoints();
        QCOMPARE(points.at(0).x(), 10.0);
        QCOMPARE(points.at(1).x(), 5.0);
        QCOMPARE(points.at(3).x(), 4.0);
        QVERIFY(view.chart()->xAxis->label().contains("batch 64"));
        // Faster and less accurate, one after another: all but the masked prune.
        QCOMPARE(view.chart()->frontierRuns(), (QStringList{"d", "s", "q", "p"}));
        view.setCost(nnlab::ParetoCost::LatencyBatch1);
        QCOMPARE(view.chart()->plottedPoints().at(2).x(), 0.55);
        QCOMPARE(view.chart()->frontierRuns(), (QStringList{"d", "s", "p"}));
        // The table follows: the frontier column marks the same runs.
        int marked = 0;
        for (int i = 0; i < view.table()->topLevelItemCount(); ++i)
            marked += view.table()->topLevelItem(i)->text(ParetoView::FrontierColumn).isEmpty() ? 0 : 1;
        QCOMPARE(marked, 3);
    }

    void unmeasuredRowsAreLeftOut()
    {
        auto rows = familyRows();
        rows[1].measurement.batch64.medianMs = 0.0;   // never timed
        rows[2].measurement.testAccuracy = -1.0;      // no test split
        ParetoChart chart;
        chart.setRows(rows);
        chart.setCost(nnlab::ParetoCost::LatencyBatch64);
        QCOMPARE(chart.plottedRuns(), (QStringList{"p", "d", "u"}));
        for (const QString& id : chart.frontierRuns())
            QVERIFY(chart.plottedRuns().contains(id));
    }

    void clickingAPointSelectsItsRun()
    {
        ParetoView view;
        view.resize(900, 600);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setRows(familyRows());
        view.chart()->replot();
        QSignalSpy chartSpy(view.chart(), &ParetoChart::runClicked);
        QSignalSpy viewSpy(&view, &ParetoView::runClicked);
        const QPointF pixel = view.chart()->pixelOf("s");
        QVERIFY(view.chart()->rect().contains(pixel.toPoint()));
        QCOMPARE(view.chart()->runAt(pixel), QString("s"));
        QTest::mouseClick(view.chart(), Qt::LeftButton, {}, pixel.toPoint());
        QCOMPARE(chartSpy.count(), 1);
        QCOMPARE(chartSpy.at(0).at(0).toString(), QString("s"));
        QCOMPARE(viewSpy.count(), 1);
        QCOMPARE(view.currentRun(), QString("s"));
        // Empty space selects nothing.
        QTest::mouseClick(view.chart(), Qt::LeftButton, {}, QPoint(5, 5));
        QCOMPARE(chartSpy.count(), 1);
    }

    void runsSelectedElsewhereAreRinged()
    {
        ParetoView view;
        view.setRows(familyRows());
        QSignalSpy spy(&view, &ParetoView::runClicked);
        view.setSelectedRuns({"q", "d"});
        QCOMPARE(view.chart()->highlightedRuns(), (QStringList{"q", "d"}));
        QCPGraph* ring = view.chart()->graph(view.chart()->graphCount() - 1);
        QCOMPARE(ring->data()->size(), 2);
        QCOMPARE(view.table()->selectedItems().size(), 2);
        QCOMPARE(spy.count(), 0);   // no echo back to the runs table
        // Switching the axis keeps the rings.
        view.setCost(nnlab::ParetoCost::LatencyBatch1);
        ring = view.chart()->graph(view.chart()->graphCount() - 1);
        QCOMPARE(ring->data()->size(), 2);
        // Selecting a row of the view's own table selects that run.
        view.table()->clearSelection();
        view.table()->topLevelItem(0)->setSelected(true);
        QCOMPARE(spy.count(), 1);
    }

    void familyOfASelection()
    {
        std::vector<nnlab::RunSummary> runs(6);
        const char* ids[] = {"a", "a-int8", "a-int8-pruned", "b", "a-sens", "a-failed"};
        for (size_t i = 0; i < runs.size(); ++i) {
            runs[i].id = ids[i];
            runs[i].status = nnlab::RunStatus::Finished;
        }
        runs[1].parentId = "a";
        runs[2].parentId = "a-int8";
        runs[4].parentId = "a";
        runs[4].tags = {"sensitivity"};
        runs[5].parentId = "a";
        runs[5].status = nnlab::RunStatus::Failed;
        QCOMPARE(expandCompressionFamily(runs, {"a"}), (QStringList{"a", "a-int8", "a-int8-pruned"}));
        // A child brings its parent and its siblings' line.
        QCOMPARE(expandCompressionFamily(runs, {"a-int8"}), (QStringList{"a", "a-int8", "a-int8-pruned"}));
        QCOMPARE(expandCompressionFamily(runs, {"b"}), (QStringList{"b"}));
    }
};

QTEST_MAIN(TestComparePareto)
#include "test_compress_pareto.moc"
