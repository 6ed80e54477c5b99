#include "boundary_view.h"

namespace inspect {

BoundaryView::BoundaryView(QWidget* parent) : QCustomPlot(parent)
{
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    addLayer(QStringLiteral("heat"), layer(QStringLiteral("grid")), limBelow);
    m_heat = new QCPItemPixmap(this);
    m_heat->setLayer(QStringLiteral("heat"));
    m_heat->setScaled(true, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    m_heat->setVisible(false);
    m_heat->setSelectable(false);
    for (QCPAxis* axis : {xAxis, yAxis}) {
        axis->grid()->setPen(QPen(QColor(0, 0, 0, 25)));
        axis->grid()->setLayer(QStringLiteral("main"));
    }
    xAxis->setLabel(tr("feature 0"));
    yAxis->setLabel(tr("feature 1"));
    xAxis->setRange(-1, 1);
    yAxis->setRange(-1, 1);
}

void BoundaryView::fitAxes(const PlaneExtent& e)
{
    xAxis->setRange(e.xMin, e.xMax);
    yAxis->setRange(e.yMin, e.yMax);
}

void BoundaryView::setBoundary(const BoundaryGrid& grid)
{
    m_image = inspect::boundaryImage(grid);
    m_heat->setPixmap(QPixmap::fromImage(m_image));
    m_heat->topLeft->setCoords(grid.extent.xMin, grid.extent.yMax);
    m_heat->bottomRight->setCoords(grid.extent.xMax, grid.extent.yMin);
    m_heat->setVisible(true);
    const PlaneExtent& e = grid.extent;
    if (!m_hasExtent || e.xMin != m_extent.xMin || e.xMax != m_extent.xMax || e.yMin != m_extent.yMin
        || e.yMax != m_extent.yMax) {
        m_extent = e;
        m_hasExtent = true;
        fitAxes(e);
    }
}

void BoundaryView::clearBoundary()
{
    m_image = QImage();
    m_heat->setVisible(false);
    m_hasExtent = false;
}

void BoundaryView::rebuildGraphs(const PlanePoints& points, bool validation, int classes)
{
    std::vector<QCPGraph*>& graphs = validation ? m_validationGraphs : m_trainGraphs;
    for (QCPGraph* g : graphs)
        removeGraph(g);
    graphs.clear();
    for (int c = 0; c < classes; ++c) {
        QCPGraph* g = addGraph();
        g->setLineStyle(QCPGraph::lsNone);
        const QColor colour = classColour(c);
        // Training points filled with a white rim (Playground); validation points ringed in
        // black, so the held-out ones stand apart.
        QCPScatterStyle style(QCPScatterStyle::ssCircle, validation ? QPen(Qt::black, 1.4) : QPen(Qt::white, 1.0),
                              colour, validation ? 6.5 : 5.5);
        g->setScatterStyle(style);
        g->setName(validation ? tr("validation %1").arg(c) : tr("train %1").arg(c));
        QVector<double> xs, ys;
        for (size_t i = 0; i < points.labels.size() && 2 * i + 1 < points.xy.size(); ++i) {
            if (points.labels[i] != c)
                continue;
            xs << points.xy[2 * i];
            ys << points.xy[2 * i + 1];
        }
        g->setData(xs, ys, true);
        graphs.push_back(g);
    }
}

void BoundaryView::setPoints(const PlanePoints& train, const PlanePoints& validation, int classes)
{
    rebuildGraphs(train, false, classes);
    rebuildGraphs(validation, true, classes);
    if (!m_hasExtent && !train.xy.empty()) {
        PlaneExtent e{1e300, -1e300, 1e300, -1e300};
        for (size_t i = 0; i + 1 < train.xy.size(); i += 2) {
            e.xMin = std::min<double>(e.xMin, train.xy[i]);
            e.xMax = std::max<double>(e.xMax, train.xy[i]);
            e.yMin = std::min<double>(e.yMin, train.xy[i + 1]);
            e.yMax = std::max<double>(e.yMax, train.xy[i + 1]);
        }
        const double mx = 0.15 * (e.xMax - e.xMin), my = 0.15 * (e.yMax - e.yMin);
        fitAxes({e.xMin - mx, e.xMax + mx, e.yMin - my, e.yMax + my});
    }
}

void BoundaryView::setShowTrain(bool on)
{
    for (QCPGraph* g : m_trainGraphs)
        g->setVisible(on);
}

void BoundaryView::setShowValidation(bool on)
{
    for (QCPGraph* g : m_validationGraphs)
        g->setVisible(on);
}

} // namespace inspect
