// MetricChart's mouse: the hover read-out, zoom and pan that turn "follow" off, double-click
// to reset, and the context menu.
#include "charts/metric_chart.h"

#include "charts/alert_markers.h"
#include "charts/metric_chart_curve.h"

#include <QContextMenuEvent>
#include <QFontMetrics>
#include <QLocale>
#include <QMenu>

#include <cmath>

namespace charts {

namespace {

constexpr double kHoverReachPx = 16.0;

QString formatValue(double value)
{
    return QString::number(value, 'g', 5);
}

} // namespace

bool MetricChart::hoverAt(const QPointF& pos)
{
    if (!axisRect()->rect().contains(pos.toPoint())) {
        hideHover();
        return false;
    }
    const double key = xAxis->pixelToCoord(pos.x());
    double bestDistance = kHoverReachPx;
    const Curve* best = nullptr;
    bool bestSmoothed = false;
    int bestIndex = -1;
    QPointF bestPixel;
    // The smoothed curve and the raw one behind it (a spike is only in the raw one).
    for (const auto& c : m_curves) {
        for (const bool smoothed : {true, false}) {
            QCPGraph* g = smoothed ? c->smoothed : c->raw;
            const QVector<SeriesPoint>& points = smoothed ? c->smoothedPoints : c->rawPoints;
            const auto data = g->data();
            if (!g->visible() || data->isEmpty() || data->size() != points.size())
                continue;
            const int index = static_cast<int>(data->findBegin(key, false) - data->constBegin());
            for (int i : {index - 1, index}) {
                if (i < 0 || i >= data->size())
                    continue;
                const QCPGraphData& d = *(data->constBegin() + i);
                if (!std::isfinite(d.value))
                    continue;
                const QPointF pixel = g->coordsToPixels(d.key, d.value);
                const double distance = std::hypot(pixel.x() - pos.x(), pixel.y() - pos.y());
                if (distance < bestDistance) {
                    bestDistance = distance;
                    best = c.get();
                    bestSmoothed = smoothed;
                    bestIndex = i;
                    bestPixel = pixel;
                }
            }
        }
    }
    if (!best) {
        // No point within reach: an alert's marker near the pointer tells what fired.
        const QString alert = m_alerts->textNear(pos);
        if (alert.isEmpty()) {
            hideHover();
            return false;
        }
        m_hoverLabel->setText(alert);
        // Beside the pointer, on the side with room for the label.
        const int width = QFontMetrics(m_hoverLabel->font()).boundingRect(QRect(), 0, alert).width() + 12;
        const bool leftSide = pos.x() > axisRect()->center().x() && pos.x() - 10 - width >= 0;
        m_hoverLabel->setPositionAlignment((leftSide ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
        m_hoverLabel->position->setCoords(pos.x() + (leftSide ? -10 : 10), pos.y() + 10);
        m_tracer->setVisible(false);
        m_hoverLabel->setVisible(true);
        layer(kHoverLayer)->replot();
        return true;
    }
    const SeriesPoint& p = bestSmoothed ? best->smoothedPoints[bestIndex] : best->rawPoints[bestIndex];
    QString text = best->runName + QStringLiteral(" · ") + best->tag + QStringLiteral(" · step ")
        + QLocale().toString(static_cast<qlonglong>(p.step)) + QStringLiteral(" · ") + formatValue(p.value);
    if (bestSmoothed)
        text += tr(" (smoothed)");
    m_hoverLabel->setText(text);
    const QCPGraph* g = bestSmoothed ? best->smoothed : best->raw;
    m_tracer->position->setCoords(g->data()->at(bestIndex)->key, p.value);
    QColor solid = g->pen().color();
    solid.setAlpha(255);
    m_tracer->setPen(QPen(solid, 1.5));
    const bool leftSide = bestPixel.x() > axisRect()->center().x();
    const bool below = bestPixel.y() < axisRect()->top() + 40;
    m_hoverLabel->setPositionAlignment((leftSide ? Qt::AlignRight : Qt::AlignLeft)
                                       | (below ? Qt::AlignTop : Qt::AlignBottom));
    m_hoverLabel->position->setCoords(bestPixel.x() + (leftSide ? -10 : 10), bestPixel.y() + (below ? 10 : -10));
    m_tracer->setVisible(true);
    m_hoverLabel->setVisible(true);
    layer(kHoverLayer)->replot();
    return true;
}

QString MetricChart::hoverText() const
{
    return m_hoverLabel->visible() ? m_hoverLabel->text() : QString();
}

void MetricChart::hideHover()
{
    if (!m_hoverLabel->visible() && !m_tracer->visible())
        return;
    m_hoverLabel->setVisible(false);
    m_tracer->setVisible(false);
    layer(kHoverLayer)->replot();
}

void MetricChart::mouseMoveEvent(QMouseEvent* event)
{
    QCustomPlot::mouseMoveEvent(event);
    if (event->buttons() & Qt::LeftButton) {
        hideHover();
        emit userNavigated();
    } else {
        hoverAt(event->position());
    }
}

void MetricChart::wheelEvent(QWheelEvent* event)
{
    QCustomPlot::wheelEvent(event);
    hideHover();
    emit userNavigated();
}

void MetricChart::mouseDoubleClickEvent(QMouseEvent* event)
{
    QCustomPlot::mouseDoubleClickEvent(event);
    emit resetRequested();
}

void MetricChart::leaveEvent(QEvent* event)
{
    QCustomPlot::leaveEvent(event);
    hideHover();
}

void MetricChart::contextMenuEvent(QContextMenuEvent* event)
{
    QMenu menu(this);
    menu.addAction(tr("Reset view"), this, &MetricChart::resetRequested);
    menu.addAction(tr("Export…"), this, &MetricChart::exportRequested);
    menu.exec(event->globalPos());
}

} // namespace charts
