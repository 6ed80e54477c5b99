#include "runs/sweep_view.h"

#include "runs/sweep_parallel.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace {

constexpr int kCurveBuckets = 400;
constexpr int kTrialRole = Qt::UserRole + 1;

QString text(const std::string& s) { return QString::fromStdString(s); }

void selectText(QComboBox* combo, const QString& value)
{
    const int index = combo->findData(value);
    if (index >= 0)
        combo->setCurrentIndex(index);
}

} // namespace

SweepView::SweepView(const QString& dbPath, const QStringList& runIds, QWidget* parent)
    : QDialog(parent)
{
    setWindowFlag(Qt::WindowMaximizeButtonHint);
    resize(1280, 760);
    auto opened = nnlab::RunStore::open(dbPath.toStdString());
    if (!opened.ok() && opened.error.code == nnlab::StoreErrorCode::ReadOnly) {
        nnlab::StoreOptions options;
        options.readOnly = true;
        opened = nnlab::RunStore::open(dbPath.toStdString(), options);
    }
    if (!opened.ok()) {
        m_error = text(opened.error.message);
    } else {
        m_store = std::move(opened.value);
        for (const QString& id : runIds) {
            auto run = m_store->getRun(id.toStdString());
            if (!run.ok()) {
                m_error = text(run.error.message);
                break;
            }
            m_runs.push_back(std::move(run.value));
        }
    }
    if (!m_error.isEmpty())
        m_runs.clear();
    m_sweep = sweep::buildSweep(m_runs);
    buildUi();
    rebuild();
}

SweepView::~SweepView() = default;

void SweepView::buildUi()
{
    setWindowTitle(tr("%1 — sweep view").arg(m_sweep.title));

    m_resultCombo = new QComboBox(this);
    m_resultCombo->setToolTip(tr("The metric the trials are ranked by: its best value in each run "
                                 "(its last value for metrics with no better direction)"));
    for (const QString& tag : m_sweep.metrics)
        m_resultCombo->addItem(tag, tag);
    if (m_resultCombo->findData(m_sweep.metric) < 0)
        m_resultCombo->addItem(m_sweep.metric, m_sweep.metric);
    selectText(m_resultCombo, m_sweep.metric);
    connect(m_resultCombo, &QComboBox::currentIndexChanged, this, [this] {
        if (!m_updating)
            setResultMetric(m_resultCombo->currentData().toString());
    });
    m_summary = new QLabel(this);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Result:"), this));
    top->addWidget(m_resultCombo);
    top->addSpacing(16);
    top->addWidget(m_summary, 1);

    m_parallel = new ParallelCoordinatesPlot(this);
    m_parallel->setToolTip(QString());
    connect(m_parallel, &ParallelCoordinatesPlot::trialClicked, this, &SweepView::highlightTrial);

    m_curveMetricCombo = new QComboBox(this);
    for (const QString& tag : m_sweep.metrics)
        m_curveMetricCombo->addItem(tag, tag);
    selectText(m_curveMetricCombo, m_sweep.metric);
    connect(m_curveMetricCombo, &QComboBox::currentIndexChanged, this, [this] {
        if (!m_updating)
            loadCurves();
    });
    m_colourCombo = new QComboBox(this);
    m_colourCombo->setToolTip(tr("The hyperparameter that colours the curves"));
    connect(m_colourCombo, &QComboBox::currentIndexChanged, this, [this] {
        if (!m_updating)
            loadCurves();
    });
    m_curves = new SweepCurvesPlot(this);
    auto* curvesPage = new QWidget(this);
    auto* curvesControls = new QHBoxLayout;
    curvesControls->addWidget(new QLabel(tr("Curve:"), curvesPage));
    curvesControls->addWidget(m_curveMetricCombo);
    curvesControls->addSpacing(16);
    curvesControls->addWidget(new QLabel(tr("Colour by:"), curvesPage));
    curvesControls->addWidget(m_colourCombo);
    curvesControls->addStretch(1);
    auto* curvesLayout = new QVBoxLayout(curvesPage);
    curvesLayout->setContentsMargins(0, 4, 0, 0);
    curvesLayout->addLayout(curvesControls);
    curvesLayout->addWidget(m_curves, 1);

    m_tabs = new QTabWidget(this);
    m_tabs->addTab(m_parallel, tr("Parallel coordinates"));
    m_tabs->addTab(curvesPage, tr("Curves"));

    m_importanceChart = new ImportanceChart(this);
    auto* importanceBox = new QGroupBox(tr("Parameter importance"), this);
    importanceBox->setToolTip(sweep::importanceMethod());
    auto* importanceLayout = new QVBoxLayout(importanceBox);
    importanceLayout->setContentsMargins(4, 4, 4, 4);
    importanceLayout->addWidget(m_importanceChart);

    m_table = new QTableWidget(this);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->setVisible(false);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
        if (m_updating)
            return;
        const QList<QTableWidgetItem*> items = m_table->selectedItems();
        highlightTrial(items.isEmpty() ? -1 : items.front()->data(kTrialRole).toInt());
    });

    auto* side = new QSplitter(Qt::Vertical, this);
    side->addWidget(importanceBox);
    side->addWidget(m_table);
    side->setStretchFactor(0, 1);
    side->setStretchFactor(1, 1);
    auto* main = new QSplitter(Qt::Horizontal, this);
    main->addWidget(m_tabs);
    main->addWidget(side);
    main->setStretchFactor(0, 3);
    main->setStretchFactor(1, 2);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(main, 1);
    layout->addWidget(buttons);
}

void SweepView::setResultMetric(const QString& tag)
{
    m_sweep = sweep::buildSweep(m_runs, tag);
    rebuild();
}

void SweepView::setCurveMetric(const QString& tag)
{
    selectText(m_curveMetricCombo, tag);
}

void SweepView::setColourParameter(const QString& key)
{
    const int index = m_colourCombo->findData(key);
    m_colourCombo->setCurrentIndex(index >= 0 ? index : 0);
}

QString SweepView::colourParameter() const
{
    return m_colourCombo->currentData().toString();
}

void SweepView::rebuild()
{
    m_importance = sweep::importance(m_sweep);
    m_updating = true;
    selectText(m_resultCombo, m_sweep.metric);
    const QString colour = m_colourCombo->currentData().toString();
    m_colourCombo->clear();
    m_colourCombo->addItem(tr("the result (%1)").arg(m_sweep.metric), QString());
    for (const sweep::Parameter& p : m_sweep.parameters)
        m_colourCombo->addItem(p.key, p.key);
    // The most important parameter says the most at a glance; keep the user's choice once made.
    const QString wanted = colour.isEmpty() && !m_importance.empty() ? m_importance.front().key : colour;
    m_colourCombo->setCurrentIndex(std::max(0, m_colourCombo->findData(wanted)));
    m_updating = false;

    m_parallel->setSweep(m_sweep);
    m_importanceChart->setImportance(m_importance);
    fillTable();

    int unfinished = 0, pruned = 0, best = -1;
    for (size_t i = 0; i < m_sweep.trials.size(); ++i) {
        const sweep::Trial& t = m_sweep.trials[i];
        unfinished += t.status != nnlab::RunStatus::Finished && !t.pruned ? 1 : 0;
        pruned += t.pruned ? 1 : 0;
        if (std::isfinite(t.result)
            && (best < 0 || m_sweep.direction * (t.result - m_sweep.trials[static_cast<size_t>(best)].result) > 0))
            best = static_cast<int>(i);
    }
    QString summary = tr("%1 trials, %2 pruned early").arg(m_sweep.trials.size()).arg(pruned);
    if (unfinished > 0)
        summary += tr(", %1 running, failed or stopped").arg(unfinished);
    summary += tr("; %1 hyperparameters vary").arg(m_sweep.parameters.size());
    if (best >= 0)
        summary += tr(". Best: %1 = %2 (%3)")
                       .arg(m_sweep.metric, sweep::formatValue(m_sweep.trials[static_cast<size_t>(best)].result),
                            m_sweep.trials[static_cast<size_t>(best)].name);
    if (!m_error.isEmpty())
        summary = m_error;
    m_summary->setText(summary);
    loadCurves();
}

void SweepView::loadCurves()
{
    const QString tag = m_curveMetricCombo->currentData().toString();
    if (!m_curveCache.contains(tag) && m_store) {
        std::vector<SweepCurvesPlot::Curve> curves;
        for (size_t i = 0; i < m_sweep.trials.size(); ++i) {
            auto buckets = m_store->seriesDownsampled(m_sweep.trials[i].runId.toStdString(), tag.toStdString(),
                                                      std::numeric_limits<int64_t>::min(),
                                                      std::numeric_limits<int64_t>::max(), kCurveBuckets);
            if (!buckets.ok() || buckets.value.empty())
                continue;
            SweepCurvesPlot::Curve curve;
            curve.trial = static_cast<int>(i);
            for (const nnlab::SeriesBucket& b : buckets.value) {
                curve.steps << static_cast<double>(b.last.step);
                curve.values << b.last.value;
            }
            curves.push_back(std::move(curve));
        }
        m_curveCache.insert(tag, std::move(curves));
    }
    m_curves->setCurves(m_sweep, m_curveCache.value(tag), tag, colourParameter());
    m_curves->highlightTrial(m_parallel->highlightedTrial());
}

void SweepView::fillTable()
{
    m_updating = true;
    m_table->setSortingEnabled(false);
    m_table->clear();
    QStringList headers{tr("Trial"), tr("Status"), m_sweep.metric};
    for (const sweep::Parameter& p : m_sweep.parameters)
        headers << p.key;
    m_table->setColumnCount(static_cast<int>(headers.size()));
    m_table->setHorizontalHeaderLabels(headers);
    m_table->setRowCount(static_cast<int>(m_sweep.trials.size()));
    for (int row = 0; row < static_cast<int>(m_sweep.trials.size()); ++row) {
        const sweep::Trial& t = m_sweep.trials[static_cast<size_t>(row)];
        auto put = [&](int column, const QVariant& value) {
            auto* item = new QTableWidgetItem;
            item->setData(Qt::DisplayRole, value);
            item->setData(kTrialRole, row);
            m_table->setItem(row, column, item);
        };
        put(0, t.name);
        m_table->item(row, 0)->setToolTip(t.name);
        put(1, t.pruned ? tr("pruned") : QString::fromLatin1(nnlab::toString(t.status)));
        put(2, std::isfinite(t.result) ? QVariant(t.result) : QVariant(QStringLiteral("—")));
        for (int c = 0; c < static_cast<int>(m_sweep.parameters.size()); ++c) {
            const sweep::Parameter& p = m_sweep.parameters[static_cast<size_t>(c)];
            const double v = sweep::valueOf(p, t);
            if (p.kind == sweep::ParameterKind::Numeric && std::isfinite(v))
                put(3 + c, v);
            else
                put(3 + c, t.values.value(p.key, QStringLiteral("—")));
        }
    }
    m_table->setSortingEnabled(true);
    m_table->sortItems(2, m_sweep.direction < 0 ? Qt::AscendingOrder : Qt::DescendingOrder);
    m_table->resizeColumnsToContents();
    m_table->setColumnWidth(0, std::min(m_table->columnWidth(0), 170));   // names repeat the values
    m_updating = false;
}

void SweepView::highlightTrial(int trial)
{
    m_parallel->highlightTrial(trial);
    m_curves->highlightTrial(trial);
    m_updating = true;
    m_table->clearSelection();
    for (int row = 0; trial >= 0 && row < m_table->rowCount(); ++row)
        if (m_table->item(row, 0)->data(kTrialRole).toInt() == trial) {
            m_table->selectRow(row);
            m_table->scrollToItem(m_table->item(row, 0));
        }
    m_updating = false;
}
