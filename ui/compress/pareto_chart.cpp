#include "compress/pareto_chart.h"

#include "compress/compare_rows.h"

#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <map>

namespace {
constexpr double kPickRadius = 9.0;   // pixels: a point under the pointer
}

ParetoChart::ParetoChart(QWidget* parent) : QCustomPlot(parent)
{
    setObjectName(QStringLiteral("paretoChart"));
    setMinimumSize(420, 280);
    setMouseTracking(true);
    setAutoAddPlottableToLegend(false);
    yAxis->setLabel(tr("test accuracy (%)"));
    legend->setVisible(true);
    legend->setBrush(QColor(255, 255, 255, 220));
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    rebuild();
}

void ParetoChart::setRows(std::vector<nnlab::CompareRow> rows)
{
    m_rows = std::move(rows);
    rebuild();
}

void ParetoChart::setCost(nnlab::ParetoCost cost)
{
    if (cost == m_cost)
        return;
    m_cost = cost;
    rebuild();
}

void ParetoChart::setHighlightedRuns(const QStringList& runIds)
{
    m_highlighted = runIds;
    updateHighlight();
    replot(QCustomPlot::rpQueuedReplot);
}

QVector<QPointF> ParetoChart::plottedPoints() const { return m_plotted; }
QStringList ParetoChart::plottedRuns() const { return m_plottedRuns; }
QVector<QPointF> ParetoChart::frontierPoints() const { return m_frontier; }
QStringList ParetoChart::frontierRuns() const { return m_frontierRuns; }

void ParetoChart::rebuild()
{
    clearGraphs();
    clearItems();
    legend->clearItems();
    m_plotted.clear();
    m_plottedRuns.clear();
    m_frontier.clear();
    m_frontierRuns.clear();
    xAxis->setLabel(compresslab::costLabel(m_cost));

    // The frontier first, so that the points sit on top of it.
    m_frontierGraph = addGraph();
    m_frontierGraph->setName(tr("frontier"));
    m_frontierGraph->setLineStyle(QCPGraph::lsStepLeft);
    m_frontierGraph->setPen(QPen(QColor(90, 90, 90), 1.5, Qt::DashLine));
    m_frontierGraph->addToLegend();
    std::vector<size_t> onFrontier;
    try {
        onFrontier = nnlab::paretoFrontier(m_rows, m_cost);
    } catch (const std::exception&) {
        onFrontier.clear();   // a row the engine cannot rank: the points still show
    }
    std::vector<std::pair<double, size_t>> byCost;
    for (size_t index : onFrontier)
        if (index < m_rows.size() && compresslab::plottable(m_rows[index], m_cost))
            byCost.emplace_back(compresslab::costOf(m_rows[index], m_cost), index);
    std::sort(byCost.begin(), byCost.end());
    for (const auto& [cost, index] : byCost) {
        m_frontier << QPointF(cost, compresslab::accuracyOf(m_rows[index]));
        m_frontierRuns << QString::fromStdString(m_rows[index].runId);
        m_frontierGraph->addData(cost, compresslab::accuracyOf(m_rows[index]));
    }

    std::map<nnlab::CompressMethod, QCPGraph*> graphs;
    for (nnlab::CompressMethod method : compresslab::allMethods()) {
        bool present = false;
        for (const nnlab::CompareRow& row : m_rows)
            present = present || (row.method == method && compresslab::plottable(row, m_cost));
        if (!present)
            continue;
        QCPGraph* graph = addGraph();
        graph->setName(compresslab::methodLabel(method));
        graph->setLineStyle(QCPGraph::lsNone);
        const QColor colour = compresslab::methodColour(method);
        graph->setPen(QPen(colour));
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, colour, 10));
        graph->addToLegend();
        graphs[method] = graph;
    }
    double minX = 0, maxX = 0, minY = 0, maxY = 0;
    bool any = false;
    for (const nnlab::CompareRow& row : m_rows) {
        if (!compresslab::plottable(row, m_cost))
            continue;
        const double x = compresslab::costOf(row, m_cost);
        const double y = compresslab::accuracyOf(row);
        graphs[row.method]->addData(x, y);
        m_plotted << QPointF(x, y);
        m_plottedRuns << QString::fromStdString(row.runId);
        if (m_rows.size() <= 16) {
            auto* label = new QCPItemText(this);
            label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            label->position->setCoords(x, y);
            label->setPadding(QMargins(6, 0, 0, 4));
            label->setText(QString::fromStdString(row.name));
            label->setColor(QColor(70, 70, 70));
            label->setClipToAxisRect(false);
        }
        minX = any ? std::min(minX, x) : x;
        maxX = any ? std::max(maxX, x) : x;
        minY = any ? std::min(minY, y) : y;
        maxY = any ? std::max(maxY, y) : y;
        any = true;
    }
    m_highlightGraph = addGraph();
    m_highlightGraph->setLineStyle(QCPGraph::lsNone);
    m_highlightGraph->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor(0xff, 0xbf, 0x00), 3), Qt::NoBrush, 20));
    updateHighlight();

    if (any) {
        // Room for the labels on the right and a little above and below the points.
        const double spanX = std::max(maxX - minX, std::max(std::abs(maxX) * 0.1, 1e-3));
        const double spanY = std::max(maxY - minY, 0.5);
        xAxis->setRange(std::max(0.0, minX - 0.12 * spanX), maxX + 0.35 * spanX);
        yAxis->setRange(minY - 0.2 * spanY, maxY + 0.2 * spanY);
    } else {
        xAxis->setRange(0, 1);
        yAxis->setRange(0, 100);
    }
    // Past the most accurate point on the frontier, more cost buys nothing: the line runs on
    // flat to the edge (and a frontier of one point still shows as a line).
    if (!m_frontier.isEmpty())
        m_frontierGraph->addData(xAxis->range().upper, m_frontier.last().y());
    replot();
}

void ParetoChart::updateHighlight()
{
    if (!m_highlightGraph)
        return;
    m_highlightGraph->data()->clear();
    for (int i = 0; i < m_plottedRuns.size(); ++i)
        if (m_highlighted.contains(m_plottedRuns[i]))
            m_highlightGraph->addData(m_plotted[i].x(), m_plotted[i].y());
}

QPointF ParetoChart::pixelOf(const QString& runId) const
{
    const int i = m_plottedRuns.indexOf(runId);
    if (i < 0)
        return {-1, -1};
    return {xAxis->coordToPixel(m_plotted[i].x()), yAxis->coordToPixel(m_plotted[i].y())};
}

QString ParetoChart::runAt(const QPointF& pixel) const
{
    QString best;
    double bestDistance = kPickRadius;
    for (int i = 0; i < m_plotted.size(); ++i) {
        const QPointF p(xAxis->coordToPixel(m_plotted[i].x()), yAxis->coordToPixel(m_plotted[i].y()));
        const double distance = std::hypot(p.x() - pixel.x(), p.y() - pixel.y());
        if (distance <= bestDistance) {
            bestDistance = distance;
            best = m_plottedRuns[i];
        }
    }
    return best;
}

void ParetoChart::mousePressEvent(QMouseEvent* event)
{
    m_pressPos = event->pos();
    QCustomPlot::mousePressEvent(event);
}

void ParetoChart::mouseReleaseEvent(QMouseEvent* event)
{
    QCustomPlot::mouseReleaseEvent(event);
    if (event->button() != Qt::LeftButton || (event->pos() - m_pressPos).manhattanLength() > 4)
        return;
    const QString runId = runAt(event->position());
    if (!runId.isEmpty())
        emit runClicked(runId);
}

void ParetoChart::mouseMoveEvent(QMouseEvent* event)
{
    QCustomPlot::mouseMoveEvent(event);
    const QString runId = runAt(event->position());
    if (runId.isEmpty()) {
        QToolTip::hideText();
        setCursor(Qt::ArrowCursor);
        return;
    }
    setCursor(Qt::PointingHandCursor);
    for (const nnlab::CompareRow& row : m_rows)
        if (QString::fromStdString(row.runId) == runId) {
            QToolTip::showText(event->globalPosition().toPoint(), compresslab::rowDetails(row), this);
            return;
        }
}
