// Parallel coordinates of a sweep: one vertical axis per hyperparameter and a last one for
// the result; each trial a polyline across them, coloured by its result (the best bright).
// Log axes for parameters spanning a decade or more, categories evenly spaced, pruned
// trials dashed. Hovering a line names the trial and its values; clicking it highlights it.
#pragma once

#include "runs/sweep_data.h"

#include <qcustomplot.h>

#include <QHash>

class ParallelCoordinatesPlot : public QCustomPlot {
    Q_OBJECT
public:
    explicit ParallelCoordinatesPlot(QWidget* parent = nullptr);

    void setSweep(const sweep::Sweep& sweep);

    int axisCount() const { return static_cast<int>(m_axes.size()); }
    QStringList axisKeys() const;
    // The polyline of a trial (by index in the sweep), for tests.
    QCPGraph* lineOf(int trial) const;

    int highlightedTrial() const { return m_highlighted; }
    void highlightTrial(int trial);            // -1 clears; emits nothing

    // The colours the view shares between its charts: the result's scale, best bright.
    static QCPColorGradient gradient();

signals:
    void trialClicked(int trial);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    void addAxis(int index, const sweep::Parameter& axis, bool isResult);
    void restyle();
    int trialAt(const QPointF& pos) const;
    QString describe(int trial) const;

    sweep::Sweep m_sweep;
    std::vector<sweep::Parameter> m_axes;
    std::vector<QCPGraph*> m_lines;
    QHash<QCPAbstractPlottable*, int> m_trialOf;
    QCPColorScale* m_scale = nullptr;
    int m_highlighted = -1;
    int m_hovered = -1;
};
