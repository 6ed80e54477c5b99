// A drawing of the network, updated as the experiment changes: blocks top to bottom with
// their key options, the output shape on each edge, residual blocks framed with their skip
// connection drawn around them ("identity" or the learned projection), problem layers in
// red. Clicking a block asks for it to be selected; the selected layer is highlighted.
#pragma once

#include "core/experiment_document.h"
#include "core/layer_path.h"
#include "diagram_layout.h"

#include <QScrollArea>

class DiagramCanvas;

class NetworkDiagram : public QScrollArea {
    Q_OBJECT
public:
    explicit NetworkDiagram(ExperimentDocument* doc, QWidget* parent = nullptr);

    // The widget the diagram is painted on; blockRect() and pathAt() use its coordinates.
    QWidget* canvas() const;
    QRect blockRect(const LayerPath& path) const;   // null when the layer is not drawn
    LayerPath pathAt(const QPoint& canvasPos) const;  // the innermost block there, or {}
    LayerPath selectedLayer() const { return m_selected; }
    const DiagramLayout& diagramLayout() const { return m_layout; }

public slots:
    void setSelectedLayer(const LayerPath& path);

signals:
    void layerClicked(const LayerPath& path);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    friend class DiagramCanvas;
    void relayout();
    void fitWidth();
    QPointF offset() const;   // canvas position of the layout's origin (before m_scale)

    ExperimentDocument* m_doc;
    DiagramCanvas* m_canvas;
    DiagramLayout m_layout;
    LayerPath m_selected;
    double m_scale = 1.0;     // layout units to canvas pixels
};
