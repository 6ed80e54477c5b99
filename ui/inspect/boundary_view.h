// The decision-boundary plot: the boundary heat map (boundary_image.h) as a pixmap stretched
// over its extent in data coordinates, behind the training points (filled) and validation
// points (ringed) in their class colours. A QCPColorMap maps one scalar through a gradient;
// blending several class colours by probability needs an RGB image, hence the pixmap item.
#pragma once

#include "boundary_image.h"

#include <qcustomplot.h>

#include <vector>

namespace inspect {

// Points of a 2-D data set in raw feature units.
struct PlanePoints {
    std::vector<float> xy;        // x0, y0, x1, y1, ...
    std::vector<int64_t> labels;  // one per point
};

class BoundaryView : public QCustomPlot {
    Q_OBJECT
public:
    explicit BoundaryView(QWidget* parent = nullptr);

    // Replaces the heat map; the axes take its extent (once, or when it changes).
    void setBoundary(const BoundaryGrid& grid);
    void clearBoundary();
    void setPoints(const PlanePoints& train, const PlanePoints& validation, int classes);
    void setShowTrain(bool on);
    void setShowValidation(bool on);
    const QImage& boundaryImage() const { return m_image; }
    QCPItemPixmap* heatMap() const { return m_heat; }

private:
    void fitAxes(const PlaneExtent& extent);
    void rebuildGraphs(const PlanePoints& points, bool validation, int classes);

    QCPItemPixmap* m_heat = nullptr;
    QImage m_image;
    PlaneExtent m_extent;
    bool m_hasExtent = false;
    std::vector<QCPGraph*> m_trainGraphs;
    std::vector<QCPGraph*> m_validationGraphs;
};

} // namespace inspect
