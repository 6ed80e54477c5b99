// Geometry of the network diagram, apart from painting so it can be reasoned about (and
// tested) alone: layers top to bottom, residual blocks as frames with a skip arrow around
// them into an adder, each edge labelled with the shape that flows along it.
#pragma once

#include "core/layer_path.h"

#include "nnlab/model_info.h"

#include <QColor>
#include <QPainterPath>
#include <QRectF>
#include <QString>
#include <QVector>

class QFontMetricsF;

struct DiagramLayout {
    struct Block {
        LayerPath path;
        QRectF rect;
        QString title;         // "conv2d", or "name · conv2d"
        QString detail;        // key options: "16 ch · 3×3 · pad 1"
        QString tooltip;
        QColor fill;
        bool frame = false;    // a residual block drawn around its layers
        bool problem = false;
    };
    struct Edge {
        QPointF from;
        QPointF to;
        QString label;         // the shape on this edge; empty: none
        bool known = true;     // false after a layer whose shape could not be inferred
        bool arrow = true;
    };
    struct Skip {
        QPainterPath path;     // from the split point around the frame into the adder
        QPointF labelCenter;   // on the vertical lane
        QString label;         // "identity", "1x1 proj", "linear proj"
        bool projection = false;
    };

    QVector<Block> blocks;     // a frame comes before the blocks inside it
    QVector<Edge> edges;
    QVector<Skip> skips;
    QVector<QPointF> adders;   // centres of the "+" nodes, radius kAdderRadius
    QRectF input;
    QRectF output;
    QString inputText;
    QString outputText;
    QRectF bounds;             // everything, labels included

    static constexpr double kAdderRadius = 9;
};

// Lays out `model` with the shapes of `info` and marks the layers `problems` point at.
DiagramLayout layoutDiagram(const nnlab::ModelSpec& model, const nnlab::ModelInfo& info,
                            const nnlab::Problems& problems, const QFontMetricsF& metrics);
