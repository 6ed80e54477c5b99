// The sweep view over a real store: six trials tagged sweep:lrscan whose accuracy is decided
// by optimizer.lr alone, batch sizes and optimizers varied beside it; the Runs dock's grouping
// by sweep; and the statistics behind the importance chart.
#include "runs/runs_filter.h"
#include "runs/runs_model.h"
#include "runs/runs_panel.h"
#include "runs/sweep_charts.h"
#include "runs/sweep_data.h"
#include "runs/sweep_parallel.h"
#include "runs/sweep_view.h"

#include "test_runs_fixture.h"

#include <QAction>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>

#include <cmath>
#include <sstream>

namespace {

struct TrialSpec {
    double lr;
    int batchSize;
    const char* optimizer;
    bool pruned = false;
};

// The lr decides the accuracy (higher is better here); batch size and optimizer are mixed
// so that neither goes with it.
const TrialSpec kTrials[] = {
    {0.0001, 64, "adam"}, {0.0003, 16, "sgd", true}, {0.001, 128, "adam"},
    {0.003, 32, "sgd"},   {0.01, 64, "sgd"},         {0.03, 16, "adam"},
};

double accuracyFor(double lr) { return 0.6 + 0.05 * std::log10(lr / 0.0001) * 2.0; }

std::string trialJson(const std::string& name, const TrialSpec& t)
{
    std::ostringstream json;
    json << R"({"format": "nnlab.experiment/1", "name": ")" << name << R"(", "seed": 7, )"
         << R"("data": {"source": "spiral", "samples": 500}, )"
         << R"("optimizer": {"type": ")" << t.optimizer << R"(", "lr": )" << t.lr << R"(}, )"
         << R"("training": {"epochs": 3, "batch_size": )" << t.batchSize << R"(}, )"
         << R"("sweep": {"metric": "val/accuracy"}})";
    return json.str();
}

QString recordTrial(const QString& db, const std::string& name, const TrialSpec& t, const std::vector<std::string>& tags)
{
    auto recorder = nnlab::RunRecorder::open(db.toStdString());
    if (!recorder.ok())
        return {};
    nnlab::ExperimentSpec spec;
    spec.name = name;
    spec.data.source = "spiral";
    nnlab::RunStartInfo start;
    start.tags = tags;
    auto begun = recorder.value->begin(spec, trialJson(name, t), start);
    if (!begun.ok())
        return {};
    const double best = accuracyFor(t.lr);
    recorder.value->addMetrics(fixture::points("train/loss", 30, [&](int64_t s) { return (1.2 - best) * 3.0 / (1.0 + 0.1 * s); }));
    recorder.value->addMetrics(fixture::points("val/accuracy", 3, [&](int64_t s) { return best - 0.02 * (20 - s) / 10.0; }, 0, 10));
    nnlab::TrainResult result;
    result.status = t.pruned ? nnlab::TrainStatus::Cancelled : nnlab::TrainStatus::Finished;
    if (!recorder.value->finish(result).ok())
        return {};
    return QString::fromStdString(begun.value);
}

// A run summary with one metric, for the statistics alone.
nnlab::RunDetails detailsWith(const QString& json, double accuracy)
{
    nnlab::RunDetails run;
    run.id = "r" + std::to_string(static_cast<int>(accuracy * 1000));
    run.name = run.id;
    run.experimentJson = json.toStdString();
    nnlab::MetricSummary summary;
    summary.bestValue = accuracy;
    summary.finalValue = accuracy;
    run.metrics["val/accuracy"] = summary;
    return run;
}

} // namespace

class TestSweepView : public QObject {
    Q_OBJECT
private slots:
    void init();
    void cleanup();
    void ranksShareTies_data();
    void ranksShareTies();
    void categoricalParameterThatDecidesRanksFirst();
    void findsTheParametersThatDiffer();
    void parallelCoordinatesHaveOneAxisPerParameterAndTheResult();
    void theParameterThatDecidesTheResultRanksFirst();
    void curvesAreColouredByTheChosenParameter();
    void resultMetricCanBeChanged();
    void clickingALineHighlightsTheTrialEverywhere();
    void runsDockGroupsTheSweepWithItsTrialCount();
    void sweepViewOpensFromASweepRow();
    void aNewTrialKeepsTheSweepSelectedAndOpen();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_db;
    QStringList m_trials;
    QString m_loner;
};

void TestSweepView::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_db = m_dir->filePath(QStringLiteral("runs.db"));
    m_trials.clear();
    int i = 0;
    for (const TrialSpec& t : kTrials) {
        std::vector<std::string> tags{"sweep:lrscan"};
        if (t.pruned)
            tags.push_back("pruned");
        m_trials << recordTrial(m_db, "lrscan-" + std::to_string(i++), t, tags);
        QVERIFY(!m_trials.back().isEmpty());
    }
    fixture::RunSpec loner;
    loner.name = "baseline";
    m_loner = fixture::recordRun(m_db, loner, [](nnlab::RunRecorder& r) {
        r.addMetrics(fixture::points("val/accuracy", 2, [](int64_t) { return 0.5; }));
    });
    QVERIFY(!m_loner.isEmpty());
}

void TestSweepView::cleanup()
{
    m_dir.reset();
}

void TestSweepView::ranksShareTies_data()
{
    QTest::addColumn<std::vector<double>>("values");
    QTest::addColumn<std::vector<double>>("expected");
    QTest::newRow("distinct") << std::vector<double>{3, 1, 2} << std::vector<double>{3, 1, 2};
    QTest::newRow("tie") << std::vector<double>{3, 1, 1, 2} << std::vector<double>{4, 1.5, 1.5, 3};
    QTest::newRow("all equal") << std::vector<double>{5, 5, 5} << std::vector<double>{2, 2, 2};
    QTest::newRow("empty") << std::vector<double>{} << std::vector<double>{};
}

void TestSweepView::ranksShareTies()
{
    QFETCH(std::vector<double>, values);
    QFETCH(std::vector<double>, expected);
    QCOMPARE(sweep::ranks(values), expected);
}

void TestSweepView::categoricalParameterThatDecidesRanksFirst()
{
    // The activation decides the accuracy; the lr goes with it only loosely.
    auto json = [](const char* activation, double lr) {
        return QStringLiteral(R"({"name": "x", "model": {"activation": "%1"}, "optimizer": {"lr": %2}})")
            .arg(QLatin1String(activation))
            .arg(lr);
    };
    const std::vector<nnlab::RunDetails> runs{
        detailsWith(json("relu", 0.01), 0.91), detailsWith(json("relu", 0.001), 0.92), detailsWith(json("relu", 0.1), 0.93),
        detailsWith(json("tanh", 0.02), 0.71), detailsWith(json("tanh", 0.3), 0.72), detailsWith(json("tanh", 0.003), 0.73)};
    const sweep::Sweep s = sweep::buildSweep(runs);
    QCOMPARE(s.metric, QStringLiteral("val/accuracy"));
    const auto imp = sweep::importance(s);
    QCOMPARE(imp.size(), size_t(2));
    QCOMPARE(imp.front().key, QStringLiteral("model.activation"));
    QVERIFY(imp.front().categorical);
    // Two groups that split the ranks cleanly: eta^2 = 13.5 / 17.5, adjusted for 2 groups of 6.
    QVERIFY2(std::abs(imp.front().score - std::sqrt(1.0 - (1.0 - 13.5 / 17.5) * 5.0 / 4.0)) < 1e-9,
             qPrintable(QString::number(imp.front().score)));
    QVERIFY2(imp.back().score < 0.5, qPrintable(QString::number(imp.back().score)));
}

void TestSweepView::findsTheParametersThatDiffer()
{
    SweepView view(m_db, m_trials);
    QVERIFY2(view.isValid(), qPrintable(view.errorMessage()));
    const sweep::Sweep& s = view.sweep();
    QCOMPARE(s.title, QStringLiteral("Sweep lrscan"));
    QCOMPARE(s.trials.size(), size_t(6));
    QStringList keys;
    for (const sweep::Parameter& p : s.parameters)
        keys << p.key;
    keys.sort();
    // "name" differs too, but names a trial rather than setting it.
    QCOMPARE(keys, (QStringList{"optimizer.lr", "optimizer.type", "training.batch_size"}));
    for (const sweep::Parameter& p : s.parameters) {
        if (p.key == QLatin1String("optimizer.lr")) {
            QCOMPARE(p.kind, sweep::ParameterKind::Numeric);
            QVERIFY(p.logScale);
            QCOMPARE(p.min, 0.0001);
            QCOMPARE(p.max, 0.03);
        } else if (p.key == QLatin1String("training.batch_size")) {
            QCOMPARE(p.kind, sweep::ParameterKind::Numeric);
            QCOMPARE(p.values, (std::vector<double>{16, 32, 64, 128}));
            QCOMPARE(sweep::axisTicks(p).size(), 4);   // a grid's values are its ticks
        } else {
            QCOMPARE(p.kind, sweep::ParameterKind::Categorical);
            QCOMPARE(p.categories, (QStringList{"\"adam\"", "\"sgd\""}));
            const auto ticks = sweep::axisTicks(p);
            QCOMPARE(ticks.size(), 2);
            QCOMPARE(ticks[0].label, QStringLiteral("adam"));
            QCOMPARE(ticks[1].position, 1.0);
        }
    }
    QCOMPARE(s.metric, QStringLiteral("val/accuracy"));   // the experiment's sweep.metric
    QVERIFY(s.trials[1].pruned);
    QVERIFY(!s.trials[0].pruned);
    QCOMPARE(view.trialsTable()->rowCount(), 6);
    QCOMPARE(view.trialsTable()->columnCount(), 3 + 3);
}

void TestSweepView::parallelCoordinatesHaveOneAxisPerParameterAndTheResult()
{
    SweepView view(m_db, m_trials);
    ParallelCoordinatesPlot* plot = view.parallel();
    QCOMPARE(plot->axisCount(), 4);
    QCOMPARE(plot->axisKeys().back(), QStringLiteral("val/accuracy"));
    // Each trial one polyline through every axis, at its value's position.
    const int lrAxis = static_cast<int>(plot->axisKeys().indexOf(QStringLiteral("optimizer.lr")));
    QVERIFY(lrAxis >= 0);
    for (int t = 0; t < 6; ++t) {
        QCPGraph* line = plot->lineOf(t);
        QVERIFY(line);
        QCOMPARE(line->dataCount(), 4);
        // log axis: 1e-4 at the bottom, 3e-2 at the top, 1e-3 at log10(10)/log10(300)
        const double expected = std::log10(kTrials[t].lr / 0.0001) / std::log10(300.0);
        QVERIFY(std::abs(line->data()->at(lrAxis)->value - expected) < 1e-9);
    }
    // The best trial (largest lr) sits at the top of the result axis.
    QCOMPARE(plot->lineOf(5)->data()->at(3)->value, 1.0);
    QCOMPARE(plot->lineOf(0)->data()->at(3)->value, 0.0);
    QCOMPARE(plot->lineOf(1)->pen().style(), Qt::DashLine);   // pruned
}

void TestSweepView::theParameterThatDecidesTheResultRanksFirst()
{
    SweepView view(m_db, m_trials);
    const auto imp = view.importance();
    QCOMPARE(imp.size(), size_t(3));
    QCOMPARE(imp.front().key, QStringLiteral("optimizer.lr"));
    QCOMPARE(imp.front().score, 1.0);
    QCOMPARE(imp.front().rho, 1.0);
    QVERIFY(imp[1].score < 0.6 && imp[2].score < 0.6);
    QCOMPARE(view.importanceChart()->order().front(), QStringLiteral("optimizer.lr"));
    QVERIFY(view.importanceChart()->toolTip().contains(QStringLiteral("Spearman")));
}

void TestSweepView::curvesAreColouredByTheChosenParameter()
{
    SweepView view(m_db, m_trials);
    view.setCurveMetric(QStringLiteral("val/accuracy"));
    view.setColourParameter(QStringLiteral("optimizer.lr"));
    SweepCurvesPlot* curves = view.curves();
    QCOMPARE(curves->colourKey(), QStringLiteral("optimizer.lr"));
    QCOMPARE(curves->curveCount(), 6);
    const QColor lowest = curves->colourOf(0), highest = curves->colourOf(5);
    QCOMPARE(lowest, ParallelCoordinatesPlot::gradient().color(0.0, QCPRange(0, 1)));
    QCOMPARE(highest, ParallelCoordinatesPlot::gradient().color(1.0, QCPRange(0, 1)));
    QVERIFY(lowest != highest);

    view.setColourParameter(QStringLiteral("optimizer.type"));
    QCOMPARE(curves->colourOf(0), categoryColour(0));   // adam
    QCOMPARE(curves->colourOf(1), categoryColour(1));   // sgd
    QVERIFY(curves->legend->visible());
    QCOMPARE(curves->legend->itemCount(), 2);

    view.setCurveMetric(QStringLiteral("train/loss"));
    QCOMPARE(curves->curveCount(), 6);
    QCOMPARE(curves->yAxis->label(), QStringLiteral("train/loss"));
}

void TestSweepView::resultMetricCanBeChanged()
{
    SweepView view(m_db, m_trials);
    view.setResultMetric(QStringLiteral("train/loss"));
    QCOMPARE(view.sweep().metric, QStringLiteral("train/loss"));
    QCOMPARE(view.sweep().direction, -1);
    QCOMPARE(view.parallel()->axisKeys().back(), QStringLiteral("train/loss"));
    // Lower loss is better: the table lists the best trial (largest lr) first.
    QCOMPARE(view.trialsTable()->item(0, 0)->text(), QStringLiteral("lrscan-5"));
    QCOMPARE(view.importance().front().key, QStringLiteral("optimizer.lr"));
    QCOMPARE(view.importance().front().rho, -1.0);
}

void TestSweepView::clickingALineHighlightsTheTrialEverywhere()
{
    SweepView view(m_db, m_trials);
    view.resize(1200, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    ParallelCoordinatesPlot* plot = view.parallel();
    plot->replot(QCustomPlot::rpImmediateRefresh);
    const int lrAxis = static_cast<int>(plot->axisKeys().indexOf(QStringLiteral("optimizer.lr")));
    const double y = plot->lineOf(2)->data()->at(lrAxis)->value;
    const QPoint at(static_cast<int>(plot->xAxis->coordToPixel(lrAxis + 0.05)),
                    static_cast<int>(plot->yAxis->coordToPixel(y + 0.05 * (plot->lineOf(2)->data()->at(lrAxis + 1)->value - y))));
    QTest::mouseClick(plot, Qt::LeftButton, {}, at);
    QCOMPARE(plot->highlightedTrial(), 2);
    QCOMPARE(plot->lineOf(2)->pen().widthF(), 3.6);
    const auto selected = view.trialsTable()->selectedItems();
    QVERIFY(!selected.isEmpty());
    QCOMPARE(selected.front()->text(), QStringLiteral("lrscan-2"));

    // Picking a row of the table highlights its line.
    view.trialsTable()->selectRow(view.trialsTable()->row(view.trialsTable()->findItems(QStringLiteral("lrscan-4"), Qt::MatchExactly).front()));
    QCOMPARE(plot->highlightedTrial(), 4);
    // A click on empty space clears it.
    QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(plot->width() / 2, 5));
    QCOMPARE(plot->highlightedTrial(), -1);
}

void TestSweepView::runsDockGroupsTheSweepWithItsTrialCount()
{
    RunsPanel panel;
    panel.resize(1000, 400);
    panel.setStorePath(m_db);
    RunsTableModel* model = panel.model();
    QVERIFY(model->groupedBySweep());
    QCOMPARE(model->sweepIds(), QStringList{QStringLiteral("lrscan")});
    QCOMPARE(model->rowCount(), 2);   // the sweep and the lone run
    const QModelIndex sweepRow = model->indexOfSweep(QStringLiteral("lrscan"));
    QVERIFY(sweepRow.isValid());
    QCOMPARE(model->rowCount(sweepRow), 6);
    const QString name = sweepRow.siblingAtColumn(RunsTableModel::NameColumn).data().toString();
    QVERIFY2(name.contains(QStringLiteral("lrscan")) && name.contains(QStringLiteral("6 trials"))
                 && name.contains(QStringLiteral("1 pruned")),
             qPrintable(name));
    // The best result of the sweep: lr 0.03 reached 0.6 + 0.05 * log10(300) * 2.
    const QString best = sweepRow.siblingAtColumn(RunsTableModel::BestAccuracyColumn).data().toString();
    QVERIFY2(best.contains(QLocale().toString(100.0 * accuracyFor(0.03), 'f', 2)), qPrintable(best));
    QVERIFY(model->indexOfRun(m_trials[0]).parent() == model->index(sweepRow.row(), 0));
    QVERIFY(!model->indexOfRun(m_loner).parent().isValid());

    // Ticking the sweep ticks its trials; one trial unticked leaves it partly ticked.
    QVERIFY(model->setData(sweepRow.siblingAtColumn(RunsTableModel::TickColumn), Qt::Checked, Qt::CheckStateRole));
    QCOMPARE(panel.tickedRuns().size(), 6);
    model->setTicked(m_trials[0], false);
    QCOMPARE(sweepRow.siblingAtColumn(RunsTableModel::TickColumn).data(Qt::CheckStateRole).toInt(),
             int(Qt::PartiallyChecked));

    // The filter finds the sweep by its tag, with its trials.
    panel.setFilterText(QStringLiteral("sweep:lrscan"));
    QAbstractItemModel* proxy = panel.view()->model();
    QCOMPARE(proxy->rowCount(), 1);
    QCOMPARE(proxy->rowCount(proxy->index(0, 0)), 6);
    panel.setFilterText(QString());

    panel.setGroupedBySweep(false);
    QCOMPARE(model->rowCount(), 7);
    QVERIFY(!panel.action(QStringLiteral("groupBySweep"))->isChecked());
    panel.setGroupedBySweep(true);
    QCOMPARE(model->rowCount(), 2);
}

void TestSweepView::sweepViewOpensFromASweepRow()
{
    RunsPanel panel;
    panel.setStorePath(m_db);
    QVERIFY(!panel.action(QStringLiteral("sweep"))->isEnabled());
    panel.selectSweep(QStringLiteral("lrscan"));
    QCOMPARE(panel.selectedSweeps(), QStringList{QStringLiteral("lrscan")});
    QVERIFY(panel.selectedRuns().isEmpty());
    QCOMPARE(panel.sweepViewCandidates().size(), 6);
    QVERIFY(panel.action(QStringLiteral("sweep"))->isEnabled());
    // One trial stands for its sweep; a hand-picked set is a sweep of its own.
    panel.selectRuns({m_trials[3]});
    QCOMPARE(panel.sweepViewCandidates().size(), 6);
    panel.selectRuns({m_trials[0], m_loner});
    QCOMPARE(panel.sweepViewCandidates().size(), 2);

    SweepView* view = panel.openSweepView({m_trials[0], m_loner});
    QVERIFY(view);
    QCOMPARE(view->sweep().title, QStringLiteral("2 runs"));
    view->close();
    QVERIFY(!panel.openSweepView({QStringLiteral("no-such-run")}));
    QVERIFY(!panel.lastError().isEmpty());
}

void TestSweepView::aNewTrialKeepsTheSweepSelectedAndOpen()
{
    RunsPanel panel;
    panel.setStorePath(m_db);
    panel.selectSweep(QStringLiteral("lrscan"));
    const auto proxyIndex = [&] {
        return panel.proxy()->mapFromSource(panel.model()->indexOfSweep(QStringLiteral("lrscan")));
    };
    panel.view()->expand(proxyIndex());
    QVERIFY(!recordTrial(m_db, "lrscan-6", {0.05, 32, "adam"}, {"sweep:lrscan"}).isEmpty());
    QVERIFY(panel.refresh());
    QCOMPARE(panel.model()->rowCount(panel.model()->indexOfSweep(QStringLiteral("lrscan"))), 7);
    QCOMPARE(panel.selectedSweeps(), QStringList{QStringLiteral("lrscan")});
    QVERIFY(panel.view()->isExpanded(proxyIndex()));
    QCOMPARE(panel.sweepViewCandidates().size(), 7);
}

QTEST_MAIN(TestSweepView)
#include "test_sweep_view.moc"
