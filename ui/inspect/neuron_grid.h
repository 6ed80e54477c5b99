// Each hidden neuron's own decision boundary, as Playground shows them: per recorded layer a
// row of small heat maps (boundary_image.h neuronImage), one a unit, each on its own colour
// scale (orange negative, white 0, blue positive).
#pragma once

#include "boundary_image.h"

#include <QWidget>

#include <vector>

namespace inspect {

class NeuronGrid : public QWidget {
    Q_OBJECT
public:
    explicit NeuronGrid(QWidget* parent = nullptr);

    // One grid per layer (NeuronBoundary snapshots), in the order to draw them.
    void setLayers(const std::vector<BoundaryGrid>& layers);
    int layerCount() const { return static_cast<int>(m_rows.size()); }
    int unitCount() const;
    QImage unitImage(int layer, int unit) const;

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    struct Row {
        QString title;
        std::vector<QImage> units;
    };
    int columnsFor(int width) const;
    std::vector<Row> m_rows;
};

} // namespace inspect
