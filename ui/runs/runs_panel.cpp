#include "runs/runs_panel.h"

#include "runs/runs_filter.h"
#include "runs/runs_model.h"

#include <QAction>
#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace {

// A run another process starts shows within a couple of seconds. A listing of 500 runs
// takes 12-16 ms; a store of many thousands lists less often, so that the listings take at
// most a tenth of the GUI thread.
constexpr int kAutoRefreshMs = 1500;
constexpr int kAutoRefreshCostFactor = 10;

QString text(const std::string& s) { return QString::fromStdString(s); }

} // namespace

RunsPanel::RunsPanel(QWidget* parent)
    : QWidget(parent)
{
    buildUi();
    m_autoRefresh.setInterval(kAutoRefreshMs);
    connect(&m_autoRefresh, &QTimer::timeout, this, [this] {
        if (!m_store)
            return;
        QElapsedTimer took;
        took.start();
        refresh();
        m_autoRefresh.setInterval(static_cast<int>(
            std::max<qint64>(kAutoRefreshMs, kAutoRefreshCostFactor * took.elapsed())));
    });
}

RunsPanel::~RunsPanel() = default;

void RunsPanel::buildUi()
{
    m_model = new RunsTableModel(this);
    m_proxy = new RunsFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    connect(m_model, &RunsTableModel::tickedChanged, this, [this](const QStringList& ids) {
        updateActions();
        emit overlayChanged(ids);
    });

    // A tree so that sweeps can hold their trials; flat, it reads as the table it was.
    m_view = new QTreeView(this);
    m_view->viewport()->setAcceptDrops(true);   // image files dropped on a run: predictions
    m_view->viewport()->installEventFilter(this);
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(RunsTableModel::StartedColumn, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setUniformRowHeights(true);
    m_view->setAllColumnsShowFocus(true);
    m_view->setIndentation(14);
    m_view->header()->setStretchLastSection(true);
    m_view->header()->setHighlightSections(false);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, &RunsPanel::showContextMenu);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &RunsPanel::updateActions);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { emit selectedRunsChanged(selectedRuns()); });
    connect(m_view, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex& index) {
        const QString id = index.data(RunsTableModel::RunIdRole).toString();
        if (index.column() == RunsTableModel::TickColumn || id.isEmpty())
            return;   // a sweep's row expands on double-click
        m_model->setTicked(id, !m_model->tickedRuns().contains(id));
    });
    // A new run resets the model; the sweeps the user opened stay open.
    connect(m_proxy, &QAbstractItemModel::modelAboutToBeReset, this, [this] {
        m_expandedSweeps.clear();
        for (int row = 0; row < m_proxy->rowCount(); ++row) {
            const QModelIndex index = m_proxy->index(row, 0);
            if (m_view->isExpanded(index))
                m_expandedSweeps << index.data(RunsTableModel::SweepIdRole).toString();
        }
    });
    connect(m_proxy, &QAbstractItemModel::modelReset, this, [this] {
        for (const QString& sweepId : m_expandedSweeps)
            m_view->expand(m_proxy->mapFromSource(m_model->indexOfSweep(sweepId)));
        m_view->setRootIsDecorated(!m_model->sweepIds().isEmpty());
    });
    m_view->setRootIsDecorated(false);

    m_filter = new QLineEdit(this);
    m_filter->setPlaceholderText(tr("Filter by name, tag, status or dataset"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& t) {
        m_proxy->setFilterText(t);
        updateActions();
    });
    m_count = new QLabel(this);

    auto* toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto add = [&](const QString& name, const QString& label, const QString& tip, void (RunsPanel::*slot)()) {
        auto* a = new QAction(label, this);
        a->setObjectName(name);
        a->setToolTip(tip);
        connect(a, &QAction::triggered, this, slot);
        toolbar->addAction(a);
        m_actions << a;
        return a;
    };
    add(QStringLiteral("rename"), tr("Rename…"), tr("Rename the selected run"), &RunsPanel::promptRename);
    add(QStringLiteral("tags"), tr("Tags…"), tr("Edit the selected run's tags"), &RunsPanel::promptTags);
    add(QStringLiteral("notes"), tr("Notes…"), tr("Edit the selected run's notes"), &RunsPanel::promptNotes);
    add(QStringLiteral("delete"), tr("Delete…"), tr("Delete the selected runs and their metrics"),
        &RunsPanel::promptDelete);
    toolbar->addSeparator();
    add(QStringLiteral("open"), tr("Open experiment"),
        tr("Open the run's experiment in the editor, to change it and train again"), &RunsPanel::openSelected);
    add(QStringLiteral("resume"), tr("Resume"), tr("Continue an interrupted, cancelled or failed run from its "
                                                   "last checkpoint"),
        &RunsPanel::resumeSelected);
    add(QStringLiteral("compare"), tr("Compare"),
        tr("Compare two runs: select two rows, or tick two runs"), &RunsPanel::compareSelected);
    add(QStringLiteral("deploy"), tr("Deploy"),
        tr("Serve the run's model on this machine over HTTP, with live latency and drift charts "
           "(the Deployments dock)"),
        &RunsPanel::deploySelected);
    add(QStringLiteral("predict"), tr("Predict…"),
        tr("Classify image files with the run's model (or drop images on the run)"), &RunsPanel::predictSelected);
    add(QStringLiteral("compress"), tr("Compress…"),
        tr("Prune, quantize to int8 or distill the run: each result a new, smaller run of its own"),
        &RunsPanel::compressSelected);
    add(QStringLiteral("compareCompression"), tr("Compare compression"),
        tr("Accuracy against size and measured latency of the selected runs and their compressed children "
           "(the Compression dock)"),
        &RunsPanel::compareCompressionSelected);
    add(QStringLiteral("sweep"), tr("Sweep view"),
        tr("Parallel coordinates, curves by hyperparameter and parameter importance of the selected sweep, "
           "or of the selected runs"),
        &RunsPanel::sweepViewSelected);
    auto* group = new QAction(tr("Group by sweep"), this);
    group->setObjectName(QStringLiteral("groupBySweep"));
    group->setToolTip(tr("Show the trials of each sweep (runs tagged sweep:<id>) under one row"));
    group->setCheckable(true);
    group->setChecked(m_model->groupedBySweep());
    connect(group, &QAction::toggled, this, &RunsPanel::setGroupedBySweep);
    toolbar->addAction(group);
    m_actions << group;
    auto* refreshAction = new QAction(tr("Refresh"), this);
    refreshAction->setObjectName(QStringLiteral("refresh"));
    refreshAction->setToolTip(tr("List the runs again"));
    connect(refreshAction, &QAction::triggered, this, &RunsPanel::refresh);
    toolbar->addAction(refreshAction);
    m_actions << refreshAction;

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_status->setVisible(false);

    auto* top = new QHBoxLayout;
    top->addWidget(m_filter, 1);
    top->addWidget(m_count);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(toolbar);
    layout->addWidget(m_status);
    layout->addWidget(m_view, 1);
    updateActions();
}

void RunsPanel::fitColumns()
{
    for (int column = 0; column < RunsTableModel::ColumnCount; ++column)
        m_view->resizeColumnToContents(column);
    const int nameWidth = m_view->columnWidth(RunsTableModel::NameColumn);
    m_view->setColumnWidth(RunsTableModel::NameColumn, std::clamp(nameWidth + 16, 140, 320));
    m_view->header()->setStretchLastSection(true);
}

void RunsPanel::setGroupedBySweep(bool on)
{
    const QStringList selected = selectedRuns();
    m_model->setGroupedBySweep(on);
    if (QAction* toggle = action(QStringLiteral("groupBySweep")))
        toggle->setChecked(on);
    selectRuns(selected);
    updateActions();
}

bool RunsPanel::groupedBySweep() const
{
    return m_model->groupedBySweep();
}

QAction* RunsPanel::action(const QString& objectName) const
{
    for (QAction* a : m_actions)
        if (a->objectName() == objectName)
            return a;
    return nullptr;
}

// ---- store ----

void RunsPanel::setStorePath(const QString& dbPath)
{
    m_storePath = dbPath;
    m_store.reset();
    refresh();
}

bool RunsPanel::ensureStore()
{
    if (m_store)
        return true;
    if (m_storePath.isEmpty())
        return false;
    auto opened = nnlab::RunStore::open(m_storePath.toStdString());
    if (!opened.ok() && opened.error.code == nnlab::StoreErrorCode::ReadOnly) {
        // Browse what cannot be edited; edits then fail with the store's message.
        nnlab::StoreOptions options;
        options.readOnly = true;
        opened = nnlab::RunStore::open(m_storePath.toStdString(), options);
    }
    if (!opened.ok()) {
        showError(text(opened.error.message));
        return false;
    }
    m_store = std::move(opened.value);
    return true;
}

bool RunsPanel::refresh()
{
    if (!ensureStore())
        return false;
    auto listed = m_store->listRuns();
    if (!listed.ok()) {
        // The auto-refresh meets a locked store every few seconds: say it once.
        if (text(listed.error.message) != m_lastError)
            showError(text(listed.error.message));
        return false;
    }
    const QStringList selected = selectedRuns();
    const QStringList sweeps = selectedSweeps();
    const int before = m_model->rowCount();
    m_model->setRuns(std::move(listed.value));
    m_listedAt.restart();
    if (m_model->rowCount() != before || selectedRuns() != selected || selectedSweeps() != sweeps) {
        selectRuns(selected);
        // A new trial resets the model: the sweep's row stays selected.
        for (const QString& sweepId : sweeps) {
            const QModelIndex index = m_proxy->mapFromSource(m_model->indexOfSweep(sweepId));
            if (index.isValid())
                m_view->selectionModel()->select(index, QItemSelectionModel::Select | QItemSelectionModel::Rows);
        }
    }
    if (before == 0 && m_model->rowCount() > 0)
        fitColumns();
    const int sweepCount = static_cast<int>(m_model->sweepIds().size());
    m_count->setText(tr("%n run(s)", nullptr, static_cast<int>(m_model->runs().size()))
                     + (sweepCount > 0 ? tr(", %n sweep(s)", nullptr, sweepCount) : QString()));
    // The store answers again: an earlier message is history.
    m_lastError.clear();
    m_status->setVisible(false);
    updateActions();
    return true;
}

void RunsPanel::showError(const QString& message)
{
    m_lastError = message;
    m_status->setText(message);
    m_status->setVisible(!message.isEmpty());
    if (!message.isEmpty())
        emit errorOccurred(message);
}

void RunsPanel::reportStoreError(const nnlab::StoreError& error)
{
    showError(text(error.message));
}

// ---- ticks and selection ----

QStringList RunsPanel::tickedRuns() const
{
    return m_model->tickedRuns();
}

void RunsPanel::setTickedRuns(const QStringList& runIds)
{
    m_model->setTickedRuns(runIds);
}

QStringList RunsPanel::selectedRuns() const
{
    QModelIndexList rows = m_view->selectionModel()->selectedRows();
    // Table order: a sweep's trials right after their sweep's row.
    auto order = [](const QModelIndex& i) {
        return i.parent().isValid() ? std::make_pair(i.parent().row(), i.row()) : std::make_pair(i.row(), -1);
    };
    std::sort(rows.begin(), rows.end(), [&](const QModelIndex& a, const QModelIndex& b) { return order(a) < order(b); });
    QStringList ids;
    for (const QModelIndex& index : rows) {
        const QString id = index.data(RunsTableModel::RunIdRole).toString();
        if (!id.isEmpty())
            ids << id;
    }
    return ids;
}

QStringList RunsPanel::selectedSweeps() const
{
    QStringList ids;
    for (const QModelIndex& index : m_view->selectionModel()->selectedRows())
        if (index.data(RunsTableModel::IsGroupRole).toBool())
            ids << index.data(RunsTableModel::SweepIdRole).toString();
    return ids;
}

void RunsPanel::selectSweep(const QString& sweepId)
{
    const QModelIndex index = m_proxy->mapFromSource(m_model->indexOfSweep(sweepId));
    if (!index.isValid())
        return;
    m_view->selectionModel()->setCurrentIndex(index.siblingAtColumn(RunsTableModel::NameColumn),
                                              QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

void RunsPanel::selectRuns(const QStringList& runIds)
{
    QItemSelection selection;
    for (const QString& id : runIds) {
        const QModelIndex index = m_proxy->mapFromSource(m_model->indexOfRun(id));
        if (index.isValid())
            selection.select(index, index.siblingAtColumn(RunsTableModel::ColumnCount - 1));
    }
    m_view->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    if (!selection.isEmpty())
        m_view->selectionModel()->setCurrentIndex(
            QModelIndex(selection.first().topLeft()).siblingAtColumn(RunsTableModel::NameColumn),
            QItemSelectionModel::NoUpdate);
}

void RunsPanel::setFilterText(const QString& text)
{
    m_filter->setText(text);
}

QString RunsPanel::currentRun() const
{
    const QStringList ids = selectedRuns();
    return ids.isEmpty() ? QString() : ids.front();
}

QStringList RunsPanel::compareCandidates() const
{
    const QStringList selected = selectedRuns();
    if (selected.size() == 2)
        return selected;
    const QStringList ticked = tickedRuns();
    return ticked.size() == 2 ? ticked : QStringList();
}

bool RunsPanel::canResume(nnlab::RunStatus status)
{
    return status == nnlab::RunStatus::Interrupted || status == nnlab::RunStatus::Cancelled
        || status == nnlab::RunStatus::Failed;
}

void RunsPanel::updateActions()
{
    const QStringList selected = selectedRuns();
    const bool one = selected.size() == 1;
    const nnlab::RunSummary* run = one ? m_model->runAt(m_model->rowOf(selected.front())) : nullptr;
    action(QStringLiteral("rename"))->setEnabled(one);
    action(QStringLiteral("tags"))->setEnabled(one);
    action(QStringLiteral("notes"))->setEnabled(one);
    action(QStringLiteral("delete"))->setEnabled(!selected.isEmpty());
    action(QStringLiteral("open"))->setEnabled(one);
    action(QStringLiteral("resume"))->setEnabled(run && canResume(run->status));
    action(QStringLiteral("compare"))->setEnabled(compareCandidates().size() == 2);
    action(QStringLiteral("sweep"))->setEnabled(!sweepViewCandidates().isEmpty());
    const bool trained = run && (run->status == nnlab::RunStatus::Finished || run->status == nnlab::RunStatus::Cancelled
                                 || run->status == nnlab::RunStatus::Interrupted || run->status == nnlab::RunStatus::Running);
    action(QStringLiteral("deploy"))->setEnabled(trained);
    action(QStringLiteral("predict"))->setEnabled(trained);
    action(QStringLiteral("compress"))->setEnabled(run && run->status == nnlab::RunStatus::Finished);
    action(QStringLiteral("compareCompression"))->setEnabled(!selected.isEmpty());
}

QStringList RunsPanel::sweepViewCandidates() const
{
    QStringList ids;
    for (const QString& sweepId : selectedSweeps())
        ids << m_model->runsOfSweep(sweepId);
    for (const QString& id : selectedRuns())
        if (!ids.contains(id))
            ids << id;
    if (ids.size() == 1)
        ids = m_model->runsOfSweep(m_model->indexOfRun(ids.front()).data(RunsTableModel::SweepIdRole).toString());
    return ids.size() >= 2 ? ids : QStringList();
}

void RunsPanel::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    // Not when it was just listed (the main window sets the store, then shows the window):
    // at 10,000 runs a second listing made opening take half as long again.
    if (m_store && !(m_listedAt.isValid() && m_listedAt.elapsed() < kAutoRefreshMs))
        refresh();
    m_autoRefresh.start();
}

void RunsPanel::hideEvent(QHideEvent* event)
{
    QWidget::hideEvent(event);
    m_autoRefresh.stop();
}

void RunsPanel::showContextMenu(const QPoint& pos)
{
    QMenu menu(this);
    for (QAction* a : m_actions) {
        if (a->objectName() == QLatin1String("open") || a->objectName() == QLatin1String("refresh")
            || a->objectName() == QLatin1String("groupBySweep"))
            menu.addSeparator();
        menu.addAction(a);
    }
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}
