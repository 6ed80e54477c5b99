#include "runs/sweep_parallel.h"

#include <QToolTip>

#include <cmath>

namespace {

const QString kHighlightLayer = QStringLiteral("highlight");
constexpr double kTop = 1.0;
constexpr double kLinePx = 1.6;

// "model.layers[0].out_features" -> "layers[0].out_features": the last two parts name it.
QString shortKey(const QString& key)
{
    const QStringList parts = key.split(QLatin1Char('.'));
    return parts.size() <= 2 ? key : parts.mid(parts.size() - 2).join(QLatin1Char('.'));
}

QCPItemText* label(QCustomPlot* plot, const QString& text, double x, double y, Qt::Alignment align)
{
    auto* item = new QCPItemText(plot);
    item->setText(text);
    item->position->setCoords(x, y);
    item->setPositionAlignment(align);
    item->setClipToAxisRect(false);
    item->setSelectable(false);
    return item;
}

} // namespace

QCPColorGradient ParallelCoordinatesPlot::gradient()
{
    // Viridis: perceptually even and readable in grey; dark purple (worst) to yellow (best).
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
    g.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
    g.setColorStopAt(0.5, QColor(0x21, 0x91, 0x8c));
    g.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
    g.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    return g;
}

ParallelCoordinatesPlot::ParallelCoordinatesPlot(QWidget* parent)
    : QCustomPlot(parent)
{
    setMouseTracking(true);
    setMinimumSize(480, 300);
    addLayer(kHighlightLayer, layer(QStringLiteral("main")), limAbove);
    xAxis->setVisible(false);
    yAxis->setVisible(false);
    axisRect()->setAutoMargins(QCP::msNone);
    axisRect()->setMargins(QMargins(20, 44, 20, 16));
    m_scale = new QCPColorScale(this);
    plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setBarWidth(10);
    m_scale->setGradient(gradient());
    auto* group = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    m_scale->setMarginGroup(QCP::msTop | QCP::msBottom, group);
}

QStringList ParallelCoordinatesPlot::axisKeys() const
{
    QStringList keys;
    for (const sweep::Parameter& axis : m_axes)
        keys << axis.key;
    return keys;
}

QCPGraph* ParallelCoordinatesPlot::lineOf(int trial) const
{
    return trial >= 0 && trial < static_cast<int>(m_lines.size()) ? m_lines[static_cast<size_t>(trial)] : nullptr;
}

void ParallelCoordinatesPlot::setSweep(const sweep::Sweep& sweep)
{
    m_sweep = sweep;
    clearGraphs();
    clearItems();
    m_lines.clear();
    m_trialOf.clear();
    m_highlighted = m_hovered = -1;
    m_axes = sweep.parameters;
    const sweep::Parameter result = sweep::resultAxis(sweep);
    m_axes.push_back(result);
    const int n = static_cast<int>(m_axes.size());
    xAxis->setRange(-0.42, n - 1 + 0.12);
    yAxis->setRange(-0.03, kTop + 0.03);
    for (int i = 0; i < n; ++i)
        addAxis(i, m_axes[static_cast<size_t>(i)], i == n - 1);

    const QCPRange range(std::isfinite(result.min) ? result.min : 0.0,
                         std::isfinite(result.max) && result.max > result.min ? result.max
                                                                              : (std::isfinite(result.min) ? result.min + 1e-9 : 1.0));
    m_scale->setDataRange(range);
    m_scale->setGradient(sweep.direction < 0 ? gradient().inverted() : gradient());
    m_scale->setLabel(sweep.metric + (sweep.direction < 0 ? tr(" (lower is better)") : QString()));

    for (size_t t = 0; t < sweep.trials.size(); ++t) {
        const sweep::Trial& trial = sweep.trials[t];
        QVector<double> keys, values;
        for (int i = 0; i < n; ++i) {
            keys << i;
            values << (i == n - 1 ? sweep::numericPosition(result, trial.result)
                                  : sweep::position(m_axes[static_cast<size_t>(i)], trial));
        }
        QCPGraph* line = addGraph();
        line->setData(keys, values, true);
        line->setName(trial.name);
        line->setSelectable(QCP::stNone);
        line->setAdaptiveSampling(false);
        m_lines.push_back(line);
        m_trialOf.insert(line, static_cast<int>(t));
    }
    restyle();
    replot(rpQueuedReplot);
}

void ParallelCoordinatesPlot::addAxis(int index, const sweep::Parameter& axis, bool isResult)
{
    auto* line = new QCPItemLine(this);
    line->start->setCoords(index, 0.0);
    line->end->setCoords(index, kTop);
    line->setPen(QPen(QColor(60, 60, 60), 1.2));
    line->setSelectable(false);
    line->setLayer(kHighlightLayer);

    QString title = shortKey(axis.key);
    if (axis.logScale)
        title += tr(" (log)");
    QCPItemText* heading = label(this, title, index, kTop, Qt::AlignHCenter | Qt::AlignBottom);
    heading->setPadding(QMargins(0, 0, 0, 10));
    QFont bold = font();
    bold.setBold(true);
    if (isResult)
        heading->setColor(QColor(0x15, 0x65, 0xc0));
    heading->setFont(bold);

    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    for (const sweep::Tick& tick : sweep::axisTicks(axis)) {
        auto* mark = new QCPItemLine(this);
        mark->start->setCoords(index, tick.position);
        mark->end->setParentAnchor(mark->start);
        mark->end->setType(QCPItemPosition::ptAbsolute);
        mark->end->setCoords(-4, 0);
        mark->setPen(QPen(QColor(60, 60, 60)));
        mark->setSelectable(false);
        QCPItemText* text = label(this, tick.label, index, tick.position, Qt::AlignRight | Qt::AlignVCenter);
        text->setPadding(QMargins(0, 0, 6, 0));
        text->setFont(small);
        text->setColor(QColor(40, 40, 40));
        text->setBrush(QColor(255, 255, 255, 190));
        text->setLayer(kHighlightLayer);
    }
}

void ParallelCoordinatesPlot::restyle()
{
    QCPColorGradient g = m_scale->gradient();   // color() is not const
    const QCPRange range = m_scale->dataRange();
    for (size_t t = 0; t < m_lines.size(); ++t) {
        const sweep::Trial& trial = m_sweep.trials[t];
        QColor colour = std::isfinite(trial.result) ? QColor(g.color(trial.result, range)) : QColor(150, 150, 150);
        const bool focused = static_cast<int>(t) == m_highlighted || static_cast<int>(t) == m_hovered;
        const bool dimmed = !focused && (m_highlighted >= 0 || m_hovered >= 0);
        if (dimmed)
            colour.setAlpha(55);
        QPen pen(colour, focused ? 3.6 : kLinePx);
        if (trial.pruned)
            pen.setStyle(Qt::DashLine);
        if (focused)
            pen.setColor(colour.darker(135));
        m_lines[t]->setPen(pen);
        m_lines[t]->setLayer(focused ? kHighlightLayer : QStringLiteral("main"));
    }
}

void ParallelCoordinatesPlot::highlightTrial(int trial)
{
    if (trial >= static_cast<int>(m_lines.size()))
        trial = -1;
    if (trial == m_highlighted)
        return;
    m_highlighted = trial;
    restyle();
    replot(rpQueuedReplot);
}

int ParallelCoordinatesPlot::trialAt(const QPointF& pos) const
{
    int best = -1;
    double bestDistance = selectionTolerance() * 1.2;
    for (size_t t = 0; t < m_lines.size(); ++t) {
        const double d = m_lines[t]->selectTest(pos, false);
        if (d >= 0 && d < bestDistance) {
            bestDistance = d;
            best = static_cast<int>(t);
        }
    }
    return best;
}

QString ParallelCoordinatesPlot::describe(int trial) const
{
    const sweep::Trial& t = m_sweep.trials[static_cast<size_t>(trial)];
    QStringList lines{QStringLiteral("<b>%1</b>%2").arg(t.name.toHtmlEscaped(), t.pruned ? tr(" (pruned)") : QString())};
    lines << QStringLiteral("%1 = %2").arg(m_sweep.metric, sweep::formatValue(t.result));
    for (const sweep::Parameter& p : m_sweep.parameters)
        lines << QStringLiteral("%1 = %2").arg(p.key, t.values.value(p.key, QStringLiteral("—")).toHtmlEscaped());
    return lines.join(QStringLiteral("<br>"));
}

void ParallelCoordinatesPlot::mouseMoveEvent(QMouseEvent* event)
{
    QCustomPlot::mouseMoveEvent(event);
    const int trial = trialAt(event->position());
    if (trial != m_hovered) {
        m_hovered = trial;
        restyle();
        replot(rpQueuedReplot);
    }
    if (trial >= 0)
        QToolTip::showText(event->globalPosition().toPoint(), describe(trial), this);
    else
        QToolTip::hideText();
}

void ParallelCoordinatesPlot::mousePressEvent(QMouseEvent* event)
{
    QCustomPlot::mousePressEvent(event);
    if (event->button() != Qt::LeftButton)
        return;
    const int trial = trialAt(event->position());
    highlightTrial(trial);
    emit trialClicked(trial);
}

void ParallelCoordinatesPlot::leaveEvent(QEvent* event)
{
    QCustomPlot::leaveEvent(event);
    if (m_hovered >= 0) {
        m_hovered = -1;
        restyle();
        replot(rpQueuedReplot);
    }
}
