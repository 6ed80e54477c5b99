#include "runs/sweep_charts.h"

#include "runs/sweep_parallel.h"

#include <cmath>

QColor categoryColour(int index)
{
    static const QColor colours[] = {
        QColor(0x4e, 0x79, 0xa7), QColor(0xf2, 0x8e, 0x2b), QColor(0xe1, 0x57, 0x59), QColor(0x76, 0xb7, 0xb2),
        QColor(0x59, 0xa1, 0x4f), QColor(0xed, 0xc9, 0x48), QColor(0xb0, 0x7a, 0xa1), QColor(0xff, 0x9d, 0xa7),
        QColor(0x9c, 0x75, 0x5f), QColor(0xba, 0xb0, 0xac)};
    return colours[static_cast<size_t>(std::max(index, 0)) % (sizeof colours / sizeof colours[0])];
}

// ---- curves ----

SweepCurvesPlot::SweepCurvesPlot(QWidget* parent)
    : QCustomPlot(parent)
{
    setMinimumSize(420, 260);
    setAutoAddPlottableToLegend(false);
    xAxis->setLabel(tr("step"));
    m_scale = new QCPColorScale(this);
    plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setBarWidth(10);
    auto* group = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    m_scale->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    legend->setVisible(false);
    legend->setBrush(QColor(255, 255, 255, 220));
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
}

QColor SweepCurvesPlot::baseColour(const sweep::Sweep& sweep, const sweep::Trial& trial) const
{
    QCPColorGradient resultGradient = m_resultGradient;   // color() is not const
    if (m_byResult)
        return std::isfinite(trial.result) ? QColor(resultGradient.color(trial.result, m_resultRange))
                                           : QColor(150, 150, 150);
    const double value = sweep::valueOf(m_colourBy, trial);
    if (!std::isfinite(value))
        return QColor(150, 150, 150);
    if (m_colourBy.kind == sweep::ParameterKind::Categorical)
        return categoryColour(static_cast<int>(value));
    const double position = sweep::numericPosition(m_colourBy, value);
    return ParallelCoordinatesPlot::gradient().color(position, QCPRange(0.0, 1.0));
}

void SweepCurvesPlot::setCurves(const sweep::Sweep& sweep, const std::vector<Curve>& curves, const QString& metric,
                                const QString& colourKey)
{
    clearGraphs();
    legend->clearItems();
    m_graphs.clear();
    m_colours.clear();
    m_pruned.clear();
    m_highlighted = -1;
    m_colourKey = colourKey;
    m_byResult = true;
    for (const sweep::Parameter& p : sweep.parameters)
        if (p.key == colourKey) {
            m_colourBy = p;
            m_byResult = false;
        }
    if (m_byResult) {
        const sweep::Parameter result = sweep::resultAxis(sweep);
        m_resultRange = QCPRange(std::isfinite(result.min) ? result.min : 0.0,
                                 std::isfinite(result.max) && result.max > result.min ? result.max : result.min + 1.0);
        m_resultGradient = sweep.direction < 0 ? ParallelCoordinatesPlot::gradient().inverted()
                                               : ParallelCoordinatesPlot::gradient();
    }
    yAxis->setLabel(metric);

    const bool categorical = !m_byResult && m_colourBy.kind == sweep::ParameterKind::Categorical;
    m_scale->setVisible(!categorical);
    if (!categorical) {
        if (m_byResult) {
            m_scale->setDataScaleType(QCPAxis::stLinear);
            m_scale->setDataRange(m_resultRange);
            m_scale->setGradient(m_resultGradient);
            m_scale->setLabel(sweep.metric);
        } else {
            const bool log = m_colourBy.logScale;
            m_scale->setDataScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
            if (log)
                m_scale->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
            else
                m_scale->axis()->setTicker(QSharedPointer<QCPAxisTicker>::create());
            const double lo = std::isfinite(m_colourBy.min) ? m_colourBy.min : 0.0;
            m_scale->setDataRange(QCPRange(lo, m_colourBy.max > lo ? m_colourBy.max : lo + 1.0));
            m_scale->setGradient(ParallelCoordinatesPlot::gradient());
            m_scale->setLabel(colourKey + (log ? tr(" (log)") : QString()));
        }
    }
    // The scale's element stays in the layout when hidden; collapse its column then.
    plotLayout()->setColumnStretchFactor(1, categorical ? 0.0001 : 0.001);

    for (const Curve& curve : curves) {
        if (curve.trial < 0 || curve.trial >= static_cast<int>(sweep.trials.size()))
            continue;
        const sweep::Trial& trial = sweep.trials[static_cast<size_t>(curve.trial)];
        QCPGraph* graph = addGraph();
        graph->setData(curve.steps, curve.values, true);
        graph->setName(trial.name);
        graph->setSelectable(QCP::stNone);
        m_colours.insert(curve.trial, baseColour(sweep, trial));
        m_pruned.insert(curve.trial, trial.pruned);
        m_graphs.emplace_back(curve.trial, graph);
    }
    if (categorical) {
        for (int i = 0; i < m_colourBy.categories.size(); ++i) {
            QCPGraph* entry = addGraph();   // an empty graph: the legend's swatch for a category
            QString name = m_colourBy.categories[i];
            if (name.startsWith(QLatin1Char('"')))
                name = name.mid(1, name.size() - 2);
            entry->setName(QStringLiteral("%1 = %2").arg(colourKey, name));
            entry->setPen(QPen(categoryColour(i), 2.5));
            entry->addToLegend();
        }
    }
    legend->setVisible(categorical);
    restyle();
    rescaleAxes();
    xAxis->scaleRange(1.02, xAxis->range().center());
    yAxis->scaleRange(1.06, yAxis->range().center());
    replot(rpQueuedReplot);
}

QColor SweepCurvesPlot::colourOf(int trial) const
{
    return m_colours.value(trial);
}

void SweepCurvesPlot::highlightTrial(int trial)
{
    if (trial == m_highlighted)
        return;
    m_highlighted = trial;
    restyle();
    replot(rpQueuedReplot);
}

void SweepCurvesPlot::restyle()
{
    for (const auto& [trial, graph] : m_graphs) {
        QColor colour = m_colours.value(trial);
        const bool focused = trial == m_highlighted;
        if (m_highlighted >= 0 && !focused)
            colour.setAlpha(50);
        QPen pen(colour, focused ? 3.2 : 1.6);
        if (m_pruned.value(trial))
            pen.setStyle(Qt::DashLine);
        graph->setPen(pen);
        graph->setLayer(QStringLiteral("main"));
    }
    for (const auto& [trial, graph] : m_graphs)
        if (trial == m_highlighted)
            graph->setLayer(QStringLiteral("overlay"));
}

// ---- importance ----

ImportanceChart::ImportanceChart(QWidget* parent)
    : QCustomPlot(parent)
{
    setMinimumSize(260, 200);
    m_bars = new QCPBars(yAxis, xAxis);
    m_bars->setWidth(0.62);
    m_bars->setPen(Qt::NoPen);
    m_bars->setBrush(QColor(0x21, 0x91, 0x8c));
    xAxis->setRange(0.0, 1.0);
    xAxis->setLabel(tr("importance: |ρ| or η with the result"));
    yAxis->grid()->setVisible(false);
    setToolTip(sweep::importanceMethod());
}

void ImportanceChart::setImportance(const std::vector<sweep::Importance>& importance)
{
    clearItems();
    m_order.clear();
    QVector<double> keys, values;
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const int n = static_cast<int>(importance.size());
    for (int i = 0; i < n; ++i) {
        const sweep::Importance& imp = importance[static_cast<size_t>(i)];
        const double key = n - i;   // the most important at the top
        m_order << imp.key;
        keys << key;
        values << (std::isfinite(imp.score) ? imp.score : 0.0);
        const QStringList parts = imp.key.split(QLatin1Char('.'));   // the last two parts name it
        ticker->addTick(key, parts.size() <= 2 ? imp.key : parts.mid(parts.size() - 2).join(QLatin1Char('.')));
        const double score = std::isfinite(imp.score) ? imp.score : 0.0;
        QString what;
        if (!std::isfinite(imp.score))
            what = tr("too few trials");
        else if (imp.categorical)
            what = QStringLiteral("%1 (η)").arg(imp.score, 0, 'f', 2);
        else
            what = QStringLiteral("%1 (ρ %2%3)").arg(imp.score, 0, 'f', 2).arg(imp.rho >= 0 ? QStringLiteral("+") : QString()).arg(imp.rho, 0, 'f', 2);
        // Inside a long bar, after a short one: the label never leaves the chart.
        const bool inside = score > 0.6;
        auto* text = new QCPItemText(this);
        text->position->setCoords(score, key);
        text->setPositionAlignment((inside ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter);
        text->setPadding(inside ? QMargins(0, 0, 5, 0) : QMargins(5, 0, 0, 0));
        text->setColor(inside ? Qt::white : Qt::black);
        text->setText(what);
        text->setClipToAxisRect(false);
        text->setSelectable(false);
    }
    m_bars->setData(keys, values, true);
    yAxis->setTicker(ticker);
    yAxis->setRange(0.4, n + 0.6);
    xAxis->setRange(0.0, 1.0);
    replot(rpQueuedReplot);
}
