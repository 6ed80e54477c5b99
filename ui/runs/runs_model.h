// The runs table's model: one row per run of RunStore::listRuns, with an overlay tick.
// Display text is formatted here; SortRole gives the raw value each column sorts by.
#pragma once

#include "nnlab/store.h"

#include <QAbstractTableModel>
#include <QStringList>

#include <vector>

class RunsTableModel : public QAbstractTableModel {
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
    };

    explicit RunsTableModel(QObject* parent = nullptr);

    // Replaces the rows. Ticks stay on the runs still listed; when the same runs come back in
    // the same order only changed cells are signalled, so views keep selection and scroll.
    void setRuns(std::vector<nnlab::RunSummary> runs);
    const std::vector<nnlab::RunSummary>& runs() const { return m_runs; }
    const nnlab::RunSummary* runAt(int row) const;
    int rowOf(const QString& runId) const;

    QStringList tickedRuns() const { return m_ticked; }   // in tick order
    void setTickedRuns(const QStringList& runIds);
    void setTicked(const QString& runId, bool on);

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
    QVariant display(const nnlab::RunSummary& run, int column) const;
    QVariant sortValue(const nnlab::RunSummary& run, int column) const;

    std::vector<nnlab::RunSummary> m_runs;
    QStringList m_ticked;
};
