// The Runs dock's sweep groups: which runs share a sweep (the layout of the tree), and what a
// sweep's own row shows (trial and pruned counts, the best result, total duration).
#include "runs/runs_model.h"
#include "runs/runs_model_values.h"

#include "runs/sweep_data.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QHash>

#include <algorithm>
#include <cmath>

using namespace runs_model;

RunsTableModel::Layout RunsTableModel::layoutOf(const std::vector<nnlab::RunSummary>& runs) const
{
    Layout layout;
    QHash<QString, int> groupOf;
    for (size_t i = 0; i < runs.size(); ++i) {
        const int row = static_cast<int>(i);
        const QString sweepId = m_grouped ? sweep::sweepIdOf(runs[i].tags) : QString();
        if (sweepId.isEmpty()) {
            layout.top.push_back({-1, row});
            continue;
        }
        auto it = groupOf.find(sweepId);
        if (it == groupOf.end()) {
            it = groupOf.insert(sweepId, static_cast<int>(layout.groups.size()));
            layout.groups.push_back({sweepId, {}});
            layout.top.push_back({it.value(), -1});
        }
        layout.groups[static_cast<size_t>(it.value())].members.push_back(row);
    }
    return layout;
}

void RunsTableModel::setGroupedBySweep(bool on)
{
    if (on == m_grouped)
        return;
    beginResetModel();
    m_grouped = on;
    m_layout = layoutOf(m_runs);
    endResetModel();
}

QStringList RunsTableModel::sweepIds() const
{
    QStringList ids;
    for (const Group& g : m_layout.groups)
        ids << g.sweepId;
    return ids;
}

QStringList RunsTableModel::runsOfSweep(const QString& sweepId) const
{
    QStringList ids;
    for (const nnlab::RunSummary& run : m_runs)
        if (!sweepId.isEmpty() && sweep::sweepIdOf(run.tags) == sweepId)
            ids << text(run.id);
    return ids;
}

QModelIndex RunsTableModel::indexOfSweep(const QString& sweepId, int column) const
{
    for (size_t g = 0; g < m_layout.groups.size(); ++g)
        if (m_layout.groups[g].sweepId == sweepId)
            return index(topRowOfGroup(static_cast<int>(g)), column);
    return {};
}

int RunsTableModel::groupAt(const QModelIndex& index) const
{
    if (!index.isValid() || index.internalId() != 0 || index.row() >= static_cast<int>(m_layout.top.size()))
        return -1;
    return m_layout.top[static_cast<size_t>(index.row())].group;
}

int RunsTableModel::topRowOfGroup(int group) const
{
    for (size_t t = 0; t < m_layout.top.size(); ++t)
        if (m_layout.top[t].group == group)
            return static_cast<int>(t);
    return -1;
}

QVariant RunsTableModel::groupValue(int group, int column, bool forSorting) const
{
    const Group& g = m_layout.groups[static_cast<size_t>(group)];
    std::vector<const nnlab::RunSummary*> runs;
    for (int member : g.members)
        runs.push_back(&m_runs[static_cast<size_t>(member)]);
    const bool running = std::any_of(runs.begin(), runs.end(),
                                     [](const auto* r) { return r->status == nnlab::RunStatus::Running; });
    switch (column) {
    case TickColumn: {
        int ticked = 0;
        for (const auto* r : runs)
            ticked += m_ticked.contains(text(r->id)) ? 1 : 0;
        return forSorting ? QVariant(ticked > 0 ? 1 : 0) : QVariant();
    }
    case StatusColumn:
        return running ? tr("running") : tr("sweep");
    case NameColumn: {
        if (forSorting)
            return g.sweepId.toLower();
        const auto pruned = std::count_if(runs.begin(), runs.end(), [](const auto* r) {
            return std::find(r->tags.begin(), r->tags.end(), sweep::kPrunedTag.toStdString()) != r->tags.end();
        });
        QString name = runs.size() == 1 ? tr("%1 — 1 trial").arg(g.sweepId)
                                        : tr("%1 — %2 trials").arg(g.sweepId).arg(runs.size());
        if (pruned > 0)
            name += tr(", %1 pruned").arg(pruned);
        return name;
    }
    case DatasetColumn: {
        const bool same = std::all_of(runs.begin(), runs.end(), [&](const auto* r) { return r->dataset == runs.front()->dataset; });
        return same ? text(runs.front()->dataset) : tr("mixed");
    }
    case ParametersColumn:
        return forSorting ? QVariant(qlonglong(0)) : QVariant(QString());
    case BestAccuracyColumn: {
        const nnlab::RunSummary* best = nullptr;
        for (const auto* r : runs)
            if (std::isfinite(bestAccuracy(*r)) && (!best || bestAccuracy(*r) > bestAccuracy(*best)))
                best = r;
        if (!best)
            return forSorting ? QVariant(-1.0) : QVariant(QStringLiteral("—"));
        return forSorting ? sortValue(*best, column) : display(*best, column);
    }
    case DurationColumn: {
        double total = 0.0;
        for (const auto* r : runs)
            total += r->duration;
        return forSorting ? QVariant(total) : QVariant(total > 0 ? formatDuration(total) : QStringLiteral("—"));
    }
    case StartedColumn: {
        const nnlab::RunSummary* first = nullptr;
        for (const auto* r : runs)
            if (startTime(*r) > 0 && (!first || startTime(*r) < startTime(*first)))
                first = r;
        if (!first)
            return forSorting ? QVariant(0.0) : QVariant(QString());
        return forSorting ? sortValue(*first, column) : display(*first, column);
    }
    case TagsColumn:
        return QString(sweep::kSweepTagPrefix + g.sweepId);
    default:
        return {};
    }
}

QVariant RunsTableModel::groupData(int group, int column, int role) const
{
    const Group& g = m_layout.groups[static_cast<size_t>(group)];
    switch (role) {
    case Qt::DisplayRole:
        return groupValue(group, column, false);
    case SortRole:
        return groupValue(group, column, true);
    case Qt::CheckStateRole: {
        if (column != TickColumn)
            return {};
        int ticked = 0;
        for (int member : g.members)
            ticked += m_ticked.contains(text(m_runs[static_cast<size_t>(member)].id)) ? 1 : 0;
        if (ticked == 0)
            return Qt::Unchecked;
        return ticked == static_cast<int>(g.members.size()) ? Qt::Checked : Qt::PartiallyChecked;
    }
    case Qt::FontRole:
        if (column == NameColumn || column == StatusColumn) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    case Qt::ForegroundRole:
        if (column == StatusColumn)
            return QBrush(groupValue(group, column, true).toString() == tr("running")
                              ? statusColour(nnlab::RunStatus::Running)
                              : QColor(0x6a, 0x1b, 0x9a));
        return {};
    case Qt::TextAlignmentRole:
        if (column == BestAccuracyColumn || column == DurationColumn)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::ToolTipRole:
        return tr("Sweep %1: its trials are ordinary runs tagged sweep:%1.\n"
                  "Select it and press Sweep view for its parallel coordinates, curves and parameter importance.")
            .arg(g.sweepId);
    case RunIdRole:
        return QString();
    case SweepIdRole:
        return g.sweepId;
    case IsGroupRole:
        return true;
    case StatusRole:
        return -1;
    case FilterTextRole:
        return (sweep::kSweepTagPrefix + g.sweepId + QLatin1Char(' ') + g.sweepId).toLower();
    default:
        return {};
    }
}
