// Sorting and filtering for the runs table. The filter text is split into words; a run is
// shown when every word occurs in its name, tags, status, dataset or id (case-insensitive),
// so "failed spiral" finds the failed spiral runs. A sweep's row is shown when it or one of
// its trials matches; a sweep that matches ("sweep:abc") shows all its trials.
#pragma once

#include <QSortFilterProxyModel>
#include <QStringList>

class RunsFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit RunsFilterProxy(QObject* parent = nullptr);

    void setFilterText(const QString& text);
    QString filterText() const { return m_text; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    bool matches(const QModelIndex& sourceIndex) const;

    QString m_text;
    QStringList m_words;
};
