// The Pareto chart: test accuracy against a cost (size on disk, or measured latency at batch 1
// or 64; switchable), one point per run coloured by its compression method with a legend, and
// the frontier (nnlab::paretoFrontier) as a step line: the best accuracy to be had at each cost.
// Clicking a point emits runClicked; setHighlightedRuns rings the runs selected elsewhere (the
// runs table); hovering a point shows the run's numbers.
#pragma once

#include "nnlab/compress.h"

#include <QStringList>
#include <QVector>
#include <QPointF>

#include <qcustomplot.h>

#include <vector>

class ParetoChart : public QCustomPlot {
    Q_OBJECT
public:
    explicit ParetoChart(QWidget* parent = nullptr);

    void setRows(std::vector<nnlab::CompareRow> rows);
    const std::vector<nnlab::CompareRow>& rows() const { return m_rows; }
    void setCost(nnlab::ParetoCost cost);
    nnlab::ParetoCost cost() const { return m_cost; }
    void setHighlightedRuns(const QStringList& runIds);
    QStringList highlightedRuns() const { return m_highlighted; }

    // What is drawn, in data coordinates (cost, accuracy %), for tests and the table.
    QVector<QPointF> plottedPoints() const;          // one per plottable row, in row order
    QStringList plottedRuns() const;                 // their run ids, same order
    QVector<QPointF> frontierPoints() const;         // the step line's corners, by cost
    QStringList frontierRuns() const;                // the runs on the frontier, by cost
    QPointF pixelOf(const QString& runId) const;     // where the run's point is drawn
    QString runAt(const QPointF& pixel) const;       // the point within a few pixels, or empty

signals:
    void runClicked(const QString& runId);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

private:
    void rebuild();
    void updateHighlight();

    std::vector<nnlab::CompareRow> m_rows;
    nnlab::ParetoCost m_cost = nnlab::ParetoCost::FileBytes;
    QStringList m_highlighted;
    QStringList m_plottedRuns;
    QVector<QPointF> m_plotted;
    QStringList m_frontierRuns;
    QVector<QPointF> m_frontier;
    QCPGraph* m_frontierGraph = nullptr;
    QCPGraph* m_highlightGraph = nullptr;
    QPoint m_pressPos;
};
