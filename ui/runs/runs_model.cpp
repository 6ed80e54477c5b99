#include "runs/runs_model.h"
#include "runs/runs_model_values.h"

#include "runs/sweep_data.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QLocale>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <utility>

namespace {

bool sameRow(const nnlab::RunSummary& a, const nnlab::RunSummary& b)
{
    return a.name == b.name && a.status == b.status && a.dataset == b.dataset && a.parameters == b.parameters
        && a.startedAt == b.startedAt && a.duration == b.duration && a.tags == b.tags && a.notes == b.notes
        && a.message == b.message && a.lastStep == b.lastStep;
}

} // namespace

using namespace runs_model;

RunsTableModel::RunsTableModel(QObject* parent)
    : QAbstractItemModel(parent)
{
}

void RunsTableModel::setRuns(std::vector<nnlab::RunSummary> runs)
{
    bool sameIds = runs.size() == m_runs.size();
    for (size_t i = 0; sameIds && i < runs.size(); ++i)
        sameIds = runs[i].id == m_runs[i].id;
    Layout layout = layoutOf(runs);
    if (sameIds && layout == m_layout) {
        std::vector<int> changedGroups;
        for (size_t i = 0; i < runs.size(); ++i) {
            const bool changed = !sameRow(runs[i], m_runs[i]) || runs[i].metrics.size() != m_runs[i].metrics.size();
            m_runs[i] = std::move(runs[i]);
            if (changed) {
                const QModelIndex first = indexOfRun(text(m_runs[i].id));
                emit dataChanged(first, first.siblingAtColumn(ColumnCount - 1));
                if (first.parent().isValid())
                    changedGroups.push_back(groupAt(first.parent()));
            }
        }
        for (int g : changedGroups) {
            const QModelIndex row = index(topRowOfGroup(g), 0);
            emit dataChanged(row, row.siblingAtColumn(ColumnCount - 1));
        }
        return;
    }
    beginResetModel();
    m_runs = std::move(runs);
    m_layout = std::move(layout);
    endResetModel();
    QStringList kept;
    for (const QString& id : m_ticked)
        if (rowOf(id) >= 0)
            kept << id;
    if (kept != m_ticked) {
        m_ticked = kept;
        emit tickedChanged(m_ticked);
    }
}

const nnlab::RunSummary* RunsTableModel::runAt(int row) const
{
    return row >= 0 && row < static_cast<int>(m_runs.size()) ? &m_runs[static_cast<size_t>(row)] : nullptr;
}

int RunsTableModel::rowOf(const QString& runId) const
{
    const std::string id = runId.toStdString();
    for (size_t i = 0; i < m_runs.size(); ++i)
        if (m_runs[i].id == id)
            return static_cast<int>(i);
    return -1;
}

const nnlab::RunSummary* RunsTableModel::runAt(const QModelIndex& index) const
{
    return runAt(runRowAt(index));
}

QModelIndex RunsTableModel::indexOfRun(const QString& runId, int column) const
{
    const int run = rowOf(runId);
    if (run < 0)
        return {};
    for (size_t t = 0; t < m_layout.top.size(); ++t) {
        const TopRow& top = m_layout.top[t];
        if (top.run == run)
            return index(static_cast<int>(t), column);
        if (top.group < 0)
            continue;
        const auto& members = m_layout.groups[static_cast<size_t>(top.group)].members;
        const auto it = std::find(members.begin(), members.end(), run);
        if (it != members.end())
            return index(static_cast<int>(it - members.begin()), column, index(static_cast<int>(t), 0));
    }
    return {};
}

int RunsTableModel::runRowAt(const QModelIndex& index) const
{
    if (!index.isValid())
        return -1;
    if (index.internalId() == 0)
        return index.row() < static_cast<int>(m_layout.top.size()) ? m_layout.top[static_cast<size_t>(index.row())].run : -1;
    const auto g = static_cast<size_t>(index.internalId() - 1);
    if (g >= m_layout.groups.size() || index.row() >= static_cast<int>(m_layout.groups[g].members.size()))
        return -1;
    return m_layout.groups[g].members[static_cast<size_t>(index.row())];
}

void RunsTableModel::emitTicksChanged(const QStringList& before)
{
    const int top = rowCount();
    if (top == 0)
        return;
    emit dataChanged(index(0, TickColumn), index(top - 1, TickColumn), {Qt::CheckStateRole});
    // Only the sweeps whose trials changed: the tree view looks each signalled index up
    // among its rows, and a signal for every sweep cost a tick some 15 ms at 10,000 runs.
    QSet<QString> toggled;
    for (const QString& id : before)
        if (!m_ticked.contains(id))
            toggled.insert(id);
    for (const QString& id : m_ticked)
        if (!before.contains(id))
            toggled.insert(id);
    for (int t = 0; t < top; ++t) {
        const int group = m_layout.top[static_cast<size_t>(t)].group;
        if (group < 0)
            continue;
        const auto& members = m_layout.groups[static_cast<size_t>(group)].members;
        const bool changed = std::any_of(members.begin(), members.end(), [&](int member) {
            return toggled.contains(text(m_runs[static_cast<size_t>(member)].id));
        });
        if (!changed || members.empty())
            continue;
        const QModelIndex parent = index(t, 0);
        emit dataChanged(index(0, TickColumn, parent),
                         index(static_cast<int>(members.size()) - 1, TickColumn, parent), {Qt::CheckStateRole});
    }
}

void RunsTableModel::setTickedRuns(const QStringList& runIds)
{
    QStringList ticked;
    for (const QString& id : runIds)
        if (rowOf(id) >= 0 && !ticked.contains(id))
            ticked << id;
    if (ticked == m_ticked)
        return;
    const QStringList before = std::exchange(m_ticked, ticked);
    emitTicksChanged(before);
    emit tickedChanged(m_ticked);
}

void RunsTableModel::setTicked(const QString& runId, bool on)
{
    QStringList ticked = m_ticked;
    if (on && !ticked.contains(runId))
        ticked << runId;
    else if (!on)
        ticked.removeAll(runId);
    setTickedRuns(ticked);
}

QModelIndex RunsTableModel::index(int row, int column, const QModelIndex& parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < static_cast<int>(m_layout.top.size()) ? createIndex(row, column, quintptr(0)) : QModelIndex();
    const int g = groupAt(parent);
    if (g < 0 || row >= static_cast<int>(m_layout.groups[static_cast<size_t>(g)].members.size()))
        return {};
    return createIndex(row, column, quintptr(g + 1));
}

QModelIndex RunsTableModel::parent(const QModelIndex& child) const
{
    if (!child.isValid() || child.internalId() == 0)
        return {};
    const int top = topRowOfGroup(static_cast<int>(child.internalId() - 1));
    return top >= 0 ? createIndex(top, 0, quintptr(0)) : QModelIndex();
}

int RunsTableModel::rowCount(const QModelIndex& parent) const
{
    if (!parent.isValid())
        return static_cast<int>(m_layout.top.size());
    if (parent.column() > 0)
        return 0;
    const int g = groupAt(parent);
    return g >= 0 ? static_cast<int>(m_layout.groups[static_cast<size_t>(g)].members.size()) : 0;
}

int RunsTableModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QVariant RunsTableModel::data(const QModelIndex& index, int role) const
{
    const int group = groupAt(index);
    if (group >= 0)
        return groupData(group, index.column(), role);
    const nnlab::RunSummary* run = runAt(index);
    if (!run)
        return {};
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return display(*run, column);
    case Qt::CheckStateRole:
        if (column == TickColumn)
            return m_ticked.contains(text(run->id)) ? Qt::Checked : Qt::Unchecked;
        return {};
    case Qt::ForegroundRole:
        if (column == StatusColumn)
            return QBrush(statusColour(run->status));
        return {};
    case Qt::FontRole:
        if (column == StatusColumn && run->status == nnlab::RunStatus::Running) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    case Qt::TextAlignmentRole:
        if (column == ParametersColumn || column == BestAccuracyColumn || column == DurationColumn)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::ToolTipRole: {
        QString tip = tr("Run %1").arg(text(run->id));
        if (!run->message.empty())
            tip += QLatin1Char('\n') + text(run->message);
        if (!run->notes.empty())
            tip += QLatin1String("\n\n") + text(run->notes);
        return tip;
    }
    case SortRole:
        return sortValue(*run, column);
    case RunIdRole:
        return text(run->id);
    case SweepIdRole:
        return sweep::sweepIdOf(run->tags);
    case IsGroupRole:
        return false;
    case StatusRole:
        return static_cast<int>(run->status);
    case FilterTextRole:
        return (text(run->name) + QLatin1Char(' ') + joinTags(run->tags) + QLatin1Char(' ')
                + QLatin1String(nnlab::toString(run->status)) + QLatin1Char(' ') + text(run->dataset)
                + QLatin1Char(' ') + text(run->id))
            .toLower();
    default:
        return {};
    }
}

QVariant RunsTableModel::display(const nnlab::RunSummary& run, int column) const
{
    switch (column) {
    case StatusColumn:
        return QString::fromLatin1(nnlab::toString(run.status));
    case NameColumn:
        return text(run.name);
    case DatasetColumn:
        return text(run.dataset);
    case ParametersColumn:
        return run.parameters > 0 ? formatParameters(run.parameters) : QStringLiteral("—");
    case BestAccuracyColumn: {
        const double best = bestAccuracy(run);
        if (!std::isfinite(best))
            return QStringLiteral("—");
        // Accuracy is logged as a fraction; older or custom runs may log percent.
        return best <= 1.0 ? QLocale().toString(100.0 * best, 'f', 2) + QStringLiteral(" %")
                           : QLocale().toString(best, 'f', 2);
    }
    case DurationColumn:
        return run.duration > 0 ? formatDuration(run.duration) : QStringLiteral("—");
    case StartedColumn: {
        const double t = startTime(run);
        return t > 0 ? QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(t * 1000.0))
                           .toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                     : QString();
    }
    case TagsColumn:
        return joinTags(run.tags);
    default:
        return {};
    }
}

QVariant RunsTableModel::sortValue(const nnlab::RunSummary& run, int column) const
{
    switch (column) {
    case TickColumn:
        return m_ticked.contains(text(run.id)) ? 1 : 0;
    case StatusColumn:
        return QString::fromLatin1(nnlab::toString(run.status));
    case NameColumn:
        return text(run.name).toLower();
    case DatasetColumn:
        return text(run.dataset).toLower();
    case ParametersColumn:
        return static_cast<qlonglong>(run.parameters);
    case BestAccuracyColumn: {
        const double best = bestAccuracy(run);
        return std::isfinite(best) ? best : -1.0;
    }
    case DurationColumn:
        return run.duration;
    case StartedColumn:
        return startTime(run);
    case TagsColumn:
        return joinTags(run.tags).toLower();
    default:
        return {};
    }
}

QVariant RunsTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole && section == TickColumn)
        return tr("Show the run's curves on the charts");
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TickColumn: return tr("Plot");
    case StatusColumn: return tr("Status");
    case NameColumn: return tr("Name");
    case DatasetColumn: return tr("Dataset");
    case ParametersColumn: return tr("Parameters");
    case BestAccuracyColumn: return tr("Best val acc");
    case DurationColumn: return tr("Duration");
    case StartedColumn: return tr("Started");
    case TagsColumn: return tr("Tags");
    default: return {};
    }
}

Qt::ItemFlags RunsTableModel::flags(const QModelIndex& index) const
{
    Qt::ItemFlags f = QAbstractItemModel::flags(index);
    if (index.column() == TickColumn)
        f |= Qt::ItemIsUserCheckable;
    return f;
}

bool RunsTableModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (index.column() != TickColumn || role != Qt::CheckStateRole)
        return false;
    const int group = groupAt(index);
    if (group >= 0) {
        // A sweep's tick ticks (or clears) all its trials, the others keeping their order.
        QStringList ticked = m_ticked;
        for (int member : m_layout.groups[static_cast<size_t>(group)].members) {
            const QString id = text(m_runs[static_cast<size_t>(member)].id);
            ticked.removeAll(id);
            if (value.toInt() == Qt::Checked)
                ticked << id;
        }
        setTickedRuns(ticked);
        return true;
    }
    const nnlab::RunSummary* run = runAt(index);
    if (!run)
        return false;
    setTicked(text(run->id), value.toInt() == Qt::Checked);
    return true;
}

QString RunsTableModel::formatDuration(double seconds)
{
    const auto s = static_cast<qint64>(std::llround(seconds));
    if (s >= 3600)
        return QStringLiteral("%1 h %2 m").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    if (s >= 60)
        return QStringLiteral("%1 m %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 s").arg(s);
}

QString RunsTableModel::formatParameters(int64_t count)
{
    const double n = static_cast<double>(count);
    if (count >= 1000000)
        return QLocale().toString(n / 1e6, 'f', n >= 1e8 ? 0 : 2) + QStringLiteral(" M");
    if (count >= 1000)
        return QLocale().toString(n / 1e3, 'f', n >= 1e5 ? 0 : 1) + QStringLiteral(" k");
    return QString::number(count);
}

QColor RunsTableModel::statusColour(nnlab::RunStatus status)
{
    switch (status) {
    case nnlab::RunStatus::Running: return QColor(0x15, 0x65, 0xc0);
    case nnlab::RunStatus::Finished: return QColor(0x2e, 0x7d, 0x32);
    case nnlab::RunStatus::Failed: return QColor(0xc6, 0x28, 0x28);
    case nnlab::RunStatus::Cancelled: return QColor(0x75, 0x75, 0x75);
    case nnlab::RunStatus::Interrupted: return QColor(0xe6, 0x51, 0x00);
    }
    return {};
}
