// The Alerts dock: the monitor rules that fired on the runs the charts show (live runs as
// their alerts arrive, stored runs with the events they recorded), newest first. It mirrors
// ChartsPanel::runs(), so a line here has a marker there; a double-click centres the charts
// on the alert's step.
#pragma once

#include <QWidget>

class ChartsPanel;
class QLabel;
class QTableWidget;

class AlertsDock : public QWidget {
    Q_OBJECT
public:
    enum Column { TimeColumn, RunColumn, RuleColumn, StepColumn, ValueColumn, ThresholdColumn, ActionColumn, ColumnCount };

    explicit AlertsDock(ChartsPanel* charts, QWidget* parent = nullptr);

    QTableWidget* table() const { return m_table; }
    int rowCount() const;
    // The run id and step of a row (for tests and the double-click).
    QString runIdAt(int row) const;
    qint64 stepAt(int row) const;

public slots:
    void rebuild();   // from the charts' runs

private:
    void activate(int row);

    ChartsPanel* m_charts;
    QTableWidget* m_table = nullptr;
    QLabel* m_empty = nullptr;
};
