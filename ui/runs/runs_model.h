// The runs table's model: one row per run of RunStore::listRuns, with an overlay tick.
// Grouped by sweep (the default), the runs tagged "sweep:<id>" hang under one parent row per
// sweep, which shows the number of trials, the best result, the total duration and the
// earliest start, and ticks all its trials at once; the other runs stay top-level rows.
// Display text is formatted here; SortRole gives the raw value each column sorts by.
//
// runAt(row) and rowOf(id) index runs(), the list as given; model indexes of a run come
// from indexOfRun (flat, they are the same rows).
#pragma once

#include "nnlab/store.h"

#include <QAbstractItemModel>
#include <QStringList>

#include <vector>

class RunsTableModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column {
        TickColumn,          // overlay the run's curves on the charts
        StatusColumn,
        NameColumn,
        DatasetColumn,
        ParametersColumn,
        BestAccuracyColumn,  // best val/accuracy
        DurationColumn,
        StartedColumn,
        TagsColumn,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole + 1,
        RunIdRole,           // QString
        StatusRole,          // int(nnlab::RunStatus)
        FilterTextRole,      // lower-case name, tags, status, dataset and id
        SweepIdRole,         // QString: the run's or the group's sweep id, empty when none
        IsGroupRole,         // bool: a sweep's parent row
    };

    explicit RunsTableModel(QObject* parent = nullptr);

    // Replaces the rows. Ticks stay on the runs still listed; when the same runs come back in
    // the same order only changed cells are signalled, so views keep selection and scroll.
    void setRuns(std::vector<nnlab::RunSummary> runs);
    const std::vector<nnlab::RunSummary>& runs() const { return m_runs; }
    const nnlab::RunSummary* runAt(int row) const;
    int rowOf(const QString& runId) const;
    QModelIndex indexOfRun(const QString& runId, int column = 0) const;
    const nnlab::RunSummary* runAt(const QModelIndex& index) const;   // null for a sweep's row

    // Sweep parent rows (true by default); switching resets the model.
    void setGroupedBySweep(bool on);
    bool groupedBySweep() const { return m_grouped; }
    QStringList sweepIds() const;                    // the groups, in list order
    QStringList runsOfSweep(const QString& sweepId) const;   // in list order
    QModelIndex indexOfSweep(const QString& sweepId, int column = 0) const;

    QStringList tickedRuns() const { return m_ticked; }   // in tick order
    void setTickedRuns(const QStringList& runIds);
    void setTicked(const QString& runId, bool on);

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

    static QString formatDuration(double seconds);     // "2 h 03 m", "4 m 12 s", "12 s"
    static QString formatParameters(int64_t count);    // "1.25 M", "45.3 k", "820"
    static QColor statusColour(nnlab::RunStatus status);

signals:
    void tickedChanged(const QStringList& runIds);

private:
    struct Group {
        QString sweepId;
        std::vector<int> members;   // rows of m_runs
        bool operator==(const Group& o) const { return sweepId == o.sweepId && members == o.members; }
    };
    struct TopRow {                 // exactly one of the two is >= 0
        int group = -1;
        int run = -1;
        bool operator==(const TopRow& o) const { return group == o.group && run == o.run; }
    };
    struct Layout {
        std::vector<Group> groups;
        std::vector<TopRow> top;
        bool operator==(const Layout& o) const { return groups == o.groups && top == o.top; }
    };
    Layout layoutOf(const std::vector<nnlab::RunSummary>& runs) const;
    int groupAt(const QModelIndex& index) const;    // -1 for a run's row
    int runRowAt(const QModelIndex& index) const;   // -1 for a sweep's row
    int topRowOfGroup(int group) const;
    void emitTicksChanged(const QStringList& before);   // `before`: the ticks it replaced

    QVariant display(const nnlab::RunSummary& run, int column) const;
    QVariant sortValue(const nnlab::RunSummary& run, int column) const;
    QVariant groupData(int group, int column, int role) const;
    QVariant groupValue(int group, int column, bool forSorting) const;

    std::vector<nnlab::RunSummary> m_runs;
    QStringList m_ticked;
    bool m_grouped = true;
    Layout m_layout;
};
