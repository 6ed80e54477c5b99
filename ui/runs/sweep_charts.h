// The sweep view's other two charts: the trials' metric curves coloured by one
// hyperparameter (a colour scale for numbers, a legend for categories), and the
// parameter-importance bars (see sweep::importance for the method).
#pragma once

#include "runs/sweep_data.h"

#include <qcustomplot.h>

class SweepCurvesPlot : public QCustomPlot {
    Q_OBJECT
public:
    struct Curve {
        int trial = -1;                 // index in the sweep's trials
        QVector<double> steps;
        QVector<double> values;
    };

    explicit SweepCurvesPlot(QWidget* parent = nullptr);

    // Draws `curves` of `metric`, coloured by the parameter `colourKey` (a key of
    // sweep.parameters; empty or unknown: by the result).
    void setCurves(const sweep::Sweep& sweep, const std::vector<Curve>& curves, const QString& metric,
                   const QString& colourKey);
    void highlightTrial(int trial);     // -1 clears

    int curveCount() const { return static_cast<int>(m_graphs.size()); }
    QColor colourOf(int trial) const;   // invalid when the trial has no curve
    QString colourKey() const { return m_colourKey; }

private:
    QColor baseColour(const sweep::Sweep& sweep, const sweep::Trial& trial) const;
    void restyle();

    QCPColorScale* m_scale = nullptr;
    QString m_colourKey;
    sweep::Parameter m_colourBy;
    bool m_byResult = false;
    QCPRange m_resultRange;
    QCPColorGradient m_resultGradient;
    std::vector<std::pair<int, QCPGraph*>> m_graphs;   // trial, curve
    QHash<int, QColor> m_colours;
    QHash<int, bool> m_pruned;
    int m_highlighted = -1;
};

class ImportanceChart : public QCustomPlot {
    Q_OBJECT
public:
    explicit ImportanceChart(QWidget* parent = nullptr);

    void setImportance(const std::vector<sweep::Importance>& importance);
    QStringList order() const { return m_order; }   // the bars top to bottom

private:
    QCPBars* m_bars = nullptr;
    QStringList m_order;
};

// Distinct colours for categories (Tableau 10).
QColor categoryColour(int index);
