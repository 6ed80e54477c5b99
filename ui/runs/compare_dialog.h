// Two runs side by side: their experiments key by key, differing rows highlighted (with a
// switch to show only those), and their final and best metrics.
#pragma once

#include "nnlab/store.h"

#include <QDialog>
#include <QStringList>

class QCheckBox;
class QTableWidget;

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    CompareDialog(const nnlab::RunDetails& a, const nnlab::RunDetails& b, QWidget* parent = nullptr);

    QStringList differingKeys() const { return m_differingKeys; }
    QTableWidget* experimentTable() const { return m_experiment; }
    QTableWidget* metricsTable() const { return m_metrics; }
    void setOnlyDifferences(bool on);

    static QColor highlightColour();

private:
    void fillExperiment(const nnlab::RunDetails& a, const nnlab::RunDetails& b);
    void fillMetrics(const nnlab::RunDetails& a, const nnlab::RunDetails& b);

    QTableWidget* m_experiment = nullptr;
    QTableWidget* m_metrics = nullptr;
    QCheckBox* m_onlyDifferences = nullptr;
    QStringList m_differingKeys;
};
