#include "runs/runs_model.h"

#include "runs/sweep_data.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QHash>
#include <QLocale>

#include <algorithm>
#include <cmath>

namespace {

QString text(const std::string& s) { return QString::fromStdString(s); }

// Best validation accuracy, NaN when the run has none (yet).
double bestAccuracy(const nnlab::RunSummary& run)
{
    const auto it = run.metrics.find("val/accuracy");
    return it == run.metrics.end() ? std::nan("") : it->second.bestValue;
}

double startTime(const nnlab::RunSummary& run)
{
    return run.startedAt > 0 ? run.startedAt : run.createdAt;
}

QString joinTags(const std::vector<std::string>& tags)
{
    QStringList out;
    for (const std::string& t : tags)
        out << text(t);
    return out.join(QStringLiteral(", "));
}

bool sameRow(const nnlab::RunSummary& a, const nnlab::RunSummary& b)
{
    return a.name == b.name && a.status == b.status && a.dataset == b.dataset && a.parameters == b.parameters
        && a.startedAt == b.startedAt && a.duration == b.duration && a.tags == b.tags && a.notes == b.notes
        && a.message == b.message && a.lastStep == b.lastStep;
}

} // namespace

RunsTableModel::RunsTableModel(QObject* parent)
    : QAbstractItemModel(parent)
{
}

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

int RunsTableModel::topRowOfGroup(int group) const
{
    for (size_t t = 0; t < m_layout.top.size(); ++t)
        if (m_layout.top[t].group == group)
            return static_cast<int>(t);
    return -1;
}

void RunsTableModel::emitTicksChanged()
{
    const int top = rowCount();
    if (top == 0)
        return;
    emit dataChanged(index(0, TickColumn), index(top - 1, TickColumn), {Qt::CheckStateRole});
    for (int t = 0; t < top; ++t) {
        const QModelIndex parent = index(t, 0);
        const int children = rowCount(parent);
        if (children > 0)
            emit dataChanged(index(0, TickColumn, parent), index(children - 1, TickColumn, parent), {Qt::CheckStateRole});
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
    m_ticked = ticked;
    emitTicksChanged();
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
