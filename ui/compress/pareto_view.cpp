#include "compress/pareto_view.h"

#include "compress/background_task.h"
#include "compress/compare_rows.h"
#include "compress/pareto_chart.h"

#include "nnlab/store.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <stdexcept>

QStringList expandCompressionFamily(const std::vector<nnlab::RunSummary>& runs, const QStringList& selected)
{
    QSet<QString> family(selected.begin(), selected.end());
    // Parents of the selected compressed runs, so that every child sits beside its source.
    for (const nnlab::RunSummary& run : runs)
        if (family.contains(QString::fromStdString(run.id)) && !run.parentId.empty())
            family.insert(QString::fromStdString(run.parentId));
    // Descendants, to any depth (an int8 model of a pruned one).
    for (bool grew = true; grew;) {
        grew = false;
        for (const nnlab::RunSummary& run : runs) {
            const QString id = QString::fromStdString(run.id);
            if (!family.contains(id) && !run.parentId.empty() && family.contains(QString::fromStdString(run.parentId))) {
                family.insert(id);
                grew = true;
            }
        }
    }
    QStringList ordered;
    for (const nnlab::RunSummary& run : runs) {
        const QString id = QString::fromStdString(run.id);
        // Analyses (sensitivity) are runs too, but have no model to put on the chart.
        const bool analysis = std::find(run.tags.begin(), run.tags.end(), "sensitivity") != run.tags.end();
        if (family.contains(id) && !analysis && run.status == nnlab::RunStatus::Finished)
            ordered << id;
        else if (family.contains(id) && selected.contains(id) && !analysis)
            ordered << id;   // selected explicitly: shown even when not finished
    }
    return ordered;
}

ParetoView::ParetoView(QWidget* parent) : QWidget(parent), m_task(new BackgroundTask(this))
{
    qRegisterMetaType<std::vector<nnlab::CompareRow>>();
    setObjectName(QStringLiteral("paretoView"));
    m_cost = new QComboBox;
    m_cost->setObjectName(QStringLiteral("costCombo"));
    m_cost->addItem(tr("Size on disk"), static_cast<int>(nnlab::ParetoCost::FileBytes));
    m_cost->addItem(tr("Latency, batch 1"), static_cast<int>(nnlab::ParetoCost::LatencyBatch1));
    m_cost->addItem(tr("Latency, batch 64"), static_cast<int>(nnlab::ParetoCost::LatencyBatch64));
    m_refresh = new QPushButton(tr("Refresh"));
    m_refresh->setToolTip(tr("Read the runs again (and measure those never measured)"));
    m_layers = new QPushButton(tr("Layers…"));
    m_layers->setObjectName(QStringLiteral("layersButton"));
    m_layers->setToolTip(tr("Per-layer comparison of the chosen compressed run with its parent"));
    m_sensitivity = new QPushButton(tr("Sensitivity…"));
    m_sensitivity->setObjectName(QStringLiteral("sensitivityButton"));
    m_sensitivity->setToolTip(tr("How much accuracy each layer of the chosen run loses when pruned or run in int8"));
    m_status = new QLabel(tr("Choose runs in the Runs dock, then \"Compare compression\" in its context menu."));
    m_status->setWordWrap(true);
    m_progress = new QProgressBar;
    m_progress->setMaximumWidth(160);
    m_progress->setVisible(false);

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Accuracy against")));
    bar->addWidget(m_cost);
    bar->addStretch();
    bar->addWidget(m_progress);
    bar->addWidget(m_layers);
    bar->addWidget(m_sensitivity);
    bar->addWidget(m_refresh);

    m_chart = new ParetoChart;
    m_table = new QTreeWidget;
    m_table->setObjectName(QStringLiteral("paretoTable"));
    m_table->setRootIsDecorated(false);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setHeaderLabels({tr("Run"), tr("Method"), tr("Test acc."), tr("Size"), tr("Latency b1"),
                              tr("Latency b64"), tr("Samples/s"), tr("Frontier")});
    m_table->setSortingEnabled(true);
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(m_chart);
    split->addWidget(m_table);
    split->setStretchFactor(0, 4);
    split->setStretchFactor(1, 1);
    split->setSizes({560, 140});

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_status);
    layout->addWidget(split, 1);

    connect(m_cost, &QComboBox::currentIndexChanged, this, [this] {
        m_chart->setCost(static_cast<nnlab::ParetoCost>(m_cost->currentData().toInt()));
        fillTable();
    });
    connect(m_chart, &ParetoChart::runClicked, this, [this](const QString& runId) {
        m_current = runId;
        setSelectedRuns({runId});
        emit runClicked(runId);
    });
    connect(m_table, &QTreeWidget::itemSelectionChanged, this, [this] {
        if (m_syncing)
            return;
        QStringList ids;
        for (QTreeWidgetItem* item : m_table->selectedItems())
            ids << item->data(NameColumn, Qt::UserRole).toString();
        m_chart->setHighlightedRuns(ids);
        if (ids.size() == 1) {
            m_current = ids.front();
            emit runClicked(ids.front());
        }
        updateButtons();
    });
    connect(m_refresh, &QPushButton::clicked, this, &ParetoView::refresh);
    connect(m_layers, &QPushButton::clicked, this, [this] {
        if (!m_current.isEmpty())
            emit layersRequested(m_current);
    });
    connect(m_sensitivity, &QPushButton::clicked, this, [this] {
        if (!m_current.isEmpty())
            emit sensitivityRequested(m_current);
    });
    connect(m_task, &BackgroundTask::progress, this, [this](const QString& stage, qint64 done, qint64 total) {
        m_progress->setVisible(true);
        m_progress->setRange(0, total > 0 ? static_cast<int>(total) : 0);
        m_progress->setValue(static_cast<int>(done));
        m_status->setText(tr("Measuring: %1").arg(stage));
    });
    connect(m_task, &BackgroundTask::finished, this, [this](const QVariant& result) {
        m_progress->setVisible(false);
        auto rows = result.value<std::vector<nnlab::CompareRow>>();
        m_status->setText(tr("%1 run%2. Click a point to select its run; hover for its numbers.")
                              .arg(rows.size())
                              .arg(rows.size() == 1 ? "" : "s"));
        setRows(std::move(rows));
    });
    connect(m_task, &BackgroundTask::failed, this, [this](const QString& message) {
        m_progress->setVisible(false);
        m_status->setText(tr("Could not compare the runs: %1").arg(message));
    });
    connect(m_task, &BackgroundTask::cancelled, this, [this] { m_progress->setVisible(false); });
    updateButtons();
}

ParetoView::~ParetoView() = default;

void ParetoView::setStorePath(const QString& path)
{
    if (path == m_storePath)
        return;
    m_storePath = path;
    m_requested.clear();
    setRows({});
}

bool ParetoView::isLoading() const
{
    return m_task->isRunning();
}

void ParetoView::showRuns(const QStringList& runIds)
{
    m_requested = runIds;
    refresh();
}

void ParetoView::refresh()
{
    if (m_storePath.isEmpty() || m_requested.isEmpty())
        return;
    if (m_task->isRunning()) {
        m_task->cancel();   // the rows it brings are dropped; this load starts when it ends
        connect(m_task, &BackgroundTask::ended, this, &ParetoView::refresh, Qt::SingleShotConnection);
        return;
    }
    m_status->setText(tr("Reading the runs…"));
    const std::string db = m_storePath.toStdString();
    const QStringList requested = m_requested;
    m_task->start([db, requested](nnlab::TrainControl& control, const TaskProgressFn& progress) {
        auto store = nnlab::RunStore::open(db, nnlab::StoreOptions{true, 5000});
        if (!store.ok())
            throw std::runtime_error(store.error.message);
        auto runs = store.value->listRuns();
        if (!runs.ok())
            throw std::runtime_error(runs.error.message);
        std::vector<std::string> ids;
        for (const QString& id : expandCompressionFamily(runs.value, requested))
            ids.push_back(id.toStdString());
        if (control.isCancelled())
            return QVariant();
        const auto rows = nnlab::compareRuns(*store.value, ids, true, [&progress](const nnlab::CompressProgress& p) {
            progress(p.stage, p.done, p.total);
        });
        return QVariant::fromValue(rows);
    }, QStringLiteral("nnlab-compare"));
}

void ParetoView::setRows(std::vector<nnlab::CompareRow> rows)
{
    m_chart->setRows(std::move(rows));
    fillTable();
    updateButtons();
}

void ParetoView::setCost(nnlab::ParetoCost cost)
{
    m_cost->setCurrentIndex(m_cost->findData(static_cast<int>(cost)));
}

void ParetoView::setSelectedRuns(const QStringList& runIds)
{
    m_chart->setHighlightedRuns(runIds);
    selectInTable(runIds);
    if (runIds.size() == 1)
        m_current = runIds.front();
    updateButtons();
}

void ParetoView::fillTable()
{
    const QSignalBlocker blocker(m_table);
    m_table->setSortingEnabled(false);
    m_table->clear();
    const QStringList frontier = m_chart->frontierRuns();
    const auto percent = [](double fraction) {
        return fraction >= 0.0 ? QString::number(100.0 * fraction, 'f', 2) : QStringLiteral("–");
    };
    for (const nnlab::CompareRow& row : m_chart->rows()) {
        const nnlab::ModelMeasurement& m = row.measurement;
        auto* item = new QTreeWidgetItem(m_table);
        const QString id = QString::fromStdString(row.runId);
        item->setData(NameColumn, Qt::UserRole, id);
        item->setText(NameColumn, QString::fromStdString(row.name));
        item->setToolTip(NameColumn, compresslab::rowDetails(row));
        item->setText(MethodColumn, compresslab::methodLabel(row.method));
        item->setForeground(MethodColumn, compresslab::methodColour(row.method));
        item->setText(AccuracyColumn, percent(m.testAccuracy));
        item->setText(SizeColumn, compresslab::bytesText(m.fileBytes));
        item->setText(Batch1Column, m.batch1.medianMs > 0 ? QString::number(m.batch1.medianMs, 'f', 3) : QStringLiteral("–"));
        item->setText(Batch64Column, m.batch64.medianMs > 0 ? QString::number(m.batch64.medianMs, 'f', 2) : QStringLiteral("–"));
        item->setText(ThroughputColumn, m.throughput > 0 ? QString::number(m.throughput, 'f', 0) : QStringLiteral("–"));
        item->setText(FrontierColumn, frontier.contains(id) ? QStringLiteral("✓") : QString());
        for (int c = AccuracyColumn; c < ColumnCount; ++c)
            item->setTextAlignment(c, Qt::AlignRight | Qt::AlignVCenter);
    }
    for (int c = 0; c < ColumnCount; ++c)
        m_table->resizeColumnToContents(c);
    m_table->setSortingEnabled(true);
    selectInTable(m_chart->highlightedRuns());
}

void ParetoView::selectInTable(const QStringList& runIds)
{
    m_syncing = true;
    m_table->clearSelection();
    for (int i = 0; i < m_table->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = m_table->topLevelItem(i);
        if (runIds.contains(item->data(NameColumn, Qt::UserRole).toString())) {
            item->setSelected(true);
            m_table->scrollToItem(item);
        }
    }
    m_syncing = false;
}

void ParetoView::updateButtons()
{
    const nnlab::CompareRow* current = nullptr;
    for (const nnlab::CompareRow& row : m_chart->rows())
        if (QString::fromStdString(row.runId) == m_current)
            current = &row;
    m_layers->setEnabled(current && !current->parentId.empty() && current->method != nnlab::CompressMethod::Distill);
    m_sensitivity->setEnabled(current && current->method == nnlab::CompressMethod::None);
}
