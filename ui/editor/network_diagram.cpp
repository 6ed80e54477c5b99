#include "network_diagram.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace {

constexpr double kMargin = 16;
constexpr double kMinScale = 0.7;   // smaller text stops being readable
const QColor kInk(0x44, 0x4b, 0x55);
const QColor kProblem(0xc0, 0x39, 0x2b);
const QColor kSelected(0x2a, 0x7a, 0xe2);

void arrowHead(QPainter& p, QPointF tip, QPointF from)
{
    const QPointF d = tip - from;
    const double len = std::hypot(d.x(), d.y());
    if (len < 1e-6)
        return;
    const QPointF u = d / len, n(-u.y(), u.x());
    const QPointF base = tip - u * 7;
    const QPointF points[3] = {tip, base + n * 3.5, base - n * 3.5};
    p.setBrush(p.pen().color());
    p.drawPolygon(points, 3);
}

} // namespace

// Paints the layout and turns clicks and tooltip requests into layer paths. Not a QObject:
// the diagram owns the signals.
class DiagramCanvas : public QWidget {
public:
    explicit DiagramCanvas(NetworkDiagram* diagram) : QWidget(diagram), m_diagram(diagram)
    {
        setMouseTracking(true);
    }

protected:
    void paintEvent(QPaintEvent*) override;
    void mousePressEvent(QMouseEvent* event) override
    {
        if (event->button() != Qt::LeftButton)
            return;
        const LayerPath path = m_diagram->pathAt(event->position().toPoint());
        if (!path.isEmpty())
            emit m_diagram->layerClicked(path);
    }
    void mouseReleaseEvent(QMouseEvent* event) override { event->accept(); }
    void mouseMoveEvent(QMouseEvent* event) override
    {
        setCursor(m_diagram->pathAt(event->position().toPoint()).isEmpty() ? Qt::ArrowCursor : Qt::PointingHandCursor);
    }
    bool event(QEvent* event) override
    {
        if (event->type() == QEvent::ToolTip) {
            auto* help = static_cast<QHelpEvent*>(event);
            const LayerPath path = m_diagram->pathAt(help->pos());
            for (const auto& block : m_diagram->m_layout.blocks)
                if (!path.isEmpty() && block.path == path) {
                    QToolTip::showText(help->globalPos(), block.tooltip, this);
                    return true;
                }
            QToolTip::hideText();
            event->ignore();
            return true;
        }
        return QWidget::event(event);
    }

private:
    void paintBlock(QPainter& p, const DiagramLayout::Block& block, bool selected);
    void paintNode(QPainter& p, const QRectF& rect, const QString& text);

    NetworkDiagram* m_diagram;
};

void DiagramCanvas::paintEvent(QPaintEvent*)
{
    const DiagramLayout& layout = m_diagram->m_layout;
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().base());
    p.translate(m_diagram->offset());
    p.scale(m_diagram->m_scale, m_diagram->m_scale);

    // Frames first, so edges and blocks inside them paint on top.
    for (const auto& block : layout.blocks)
        if (block.frame)
            paintBlock(p, block, block.path == m_diagram->m_selected);

    QFont small = font();
    small.setPointSizeF(font().pointSizeF() * 0.88);
    const QFontMetricsF smallMetrics(small);
    for (const auto& edge : layout.edges) {
        QPen pen(edge.known ? kInk : QColor(0xa0, 0xa4, 0xaa), 1.3);
        if (!edge.known)
            pen.setStyle(Qt::DashLine);
        p.setPen(pen);
        p.drawLine(edge.from, edge.to);
        if (edge.arrow)
            arrowHead(p, edge.to, edge.from);
        if (!edge.label.isEmpty()) {
            p.setFont(small);
            p.setPen(edge.known ? QColor(0x5a, 0x60, 0x68) : QColor(0xa0, 0xa4, 0xaa));
            const QSizeF size = smallMetrics.size(0, edge.label);
            p.drawText(QRectF(QPointF(edge.to.x() + 6, (edge.from.y() + edge.to.y() - size.height()) / 2), size),
                       Qt::AlignLeft | Qt::AlignVCenter, edge.label);
        }
    }

    for (const auto& skip : layout.skips) {
        QPen pen(QColor(0x4a, 0x66, 0x90), 1.4);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        p.drawPath(skip.path);
        const QPointF end = skip.path.currentPosition();
        arrowHead(p, end, end - QPointF(5, 0));
        p.drawEllipse(skip.path.elementAt(0), 2.5, 2.5);   // the split point on the main line
        // The label sits on the lane, rotated along it, on a patch of background; a lane too
        // short for it goes without.
        if (smallMetrics.horizontalAdvance(skip.label) + 8 > skip.path.boundingRect().height() - 16)
            continue;
        p.save();
        p.translate(skip.labelCenter);
        p.rotate(-90);
        p.setFont(small);
        const QSizeF size = smallMetrics.size(0, skip.label) + QSizeF(8, 2);
        const QRectF box(-size.width() / 2, -size.height() / 2, size.width(), size.height());
        p.setPen(Qt::NoPen);
        p.setBrush(palette().base());
        p.drawRect(box);
        p.setPen(skip.projection ? QColor(0x8a, 0x4b, 0x08) : QColor(0x4a, 0x66, 0x90));
        p.drawText(box, Qt::AlignCenter, skip.label);
        p.restore();
    }

    const double r = DiagramLayout::kAdderRadius;
    for (const QPointF& c : layout.adders) {
        p.setPen(QPen(kInk, 1.3));
        p.setBrush(palette().base());
        p.drawEllipse(c, r, r);
        p.drawLine(c - QPointF(r * 0.5, 0), c + QPointF(r * 0.5, 0));
        p.drawLine(c - QPointF(0, r * 0.5), c + QPointF(0, r * 0.5));
    }

    for (const auto& block : layout.blocks)
        if (!block.frame)
            paintBlock(p, block, block.path == m_diagram->m_selected);
    paintNode(p, layout.input, layout.inputText);
    paintNode(p, layout.output, layout.outputText);
}

void DiagramCanvas::paintBlock(QPainter& p, const DiagramLayout::Block& block, bool selected)
{
    QColor border = block.problem ? kProblem : block.fill.darker(block.frame ? 150 : 160);
    double width = block.problem ? 1.8 : 1.0;
    if (selected) {
        border = kSelected;
        width = 2.6;
    }
    QColor fill = block.frame ? QColor(0xf6, 0xf7, 0xf9) : block.fill;
    if (block.problem)
        fill = block.frame ? QColor(0xfd, 0xf0, 0xef) : QColor(0xfb, 0xdc, 0xd9);
    p.setPen(QPen(border, width));
    p.setBrush(fill);
    p.drawRoundedRect(block.rect, block.frame ? 9 : 6, block.frame ? 9 : 6);

    QFont bold = font();
    bold.setBold(true);
    if (block.frame) {
        // The title sits in the frame's top-right corner, clear of the main line and the lane.
        QFont small = bold;
        small.setPointSizeF(font().pointSizeF() * 0.88);
        p.setFont(small);
        p.setPen(block.problem ? kProblem : QColor(0x5a, 0x60, 0x68));
        const QRectF title(block.rect.center().x() + 10, block.rect.top() + 2, block.rect.width() / 2 - 18, 20);
        p.drawText(title, Qt::AlignRight | Qt::AlignVCenter,
                   QFontMetricsF(small).elidedText(block.title, Qt::ElideRight, title.width()));
        return;
    }
    const QRectF inner = block.rect.adjusted(6, 2, -6, -2);
    p.setPen(block.problem ? kProblem : QColor(0x20, 0x24, 0x2a));
    p.setFont(bold);
    const QFontMetricsF boldMetrics(bold);
    if (block.detail.isEmpty()) {
        p.drawText(inner, Qt::AlignCenter, boldMetrics.elidedText(block.title, Qt::ElideRight, inner.width()));
        return;
    }
    const QRectF top(inner.left(), inner.top(), inner.width(), inner.height() / 2 + 1);
    const QRectF bottom(inner.left(), inner.center().y(), inner.width(), inner.height() / 2);
    p.drawText(top, Qt::AlignHCenter | Qt::AlignBottom, boldMetrics.elidedText(block.title, Qt::ElideRight, inner.width()));
    QFont small = font();
    small.setPointSizeF(font().pointSizeF() * 0.9);
    p.setFont(small);
    p.setPen(block.problem ? kProblem : QColor(0x40, 0x46, 0x50));
    p.drawText(bottom, Qt::AlignHCenter | Qt::AlignTop,
               QFontMetricsF(small).elidedText(block.detail, Qt::ElideRight, inner.width()));
}

void DiagramCanvas::paintNode(QPainter& p, const QRectF& rect, const QString& text)
{
    p.setPen(QPen(QColor(0x90, 0x96, 0xa0), 1));
    p.setBrush(QColor(0xee, 0xf0, 0xf3));
    p.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2);
    p.setPen(QColor(0x30, 0x34, 0x3a));
    p.setFont(font());
    p.drawText(rect, Qt::AlignCenter, text);
}

NetworkDiagram::NetworkDiagram(ExperimentDocument* doc, QWidget* parent)
    : QScrollArea(parent), m_doc(doc), m_canvas(new DiagramCanvas(this))
{
    setWidget(m_canvas);
    setWidgetResizable(true);
    setBackgroundRole(QPalette::Base);
    setToolTip(QString());
    connect(m_doc, &ExperimentDocument::specChanged, this, &NetworkDiagram::relayout);
    relayout();
}

QWidget* NetworkDiagram::canvas() const { return m_canvas; }

void NetworkDiagram::relayout()
{
    m_layout = layoutDiagram(m_doc->spec().model, m_doc->modelInfo(), m_doc->problems(), QFontMetricsF(font()));
    fitWidth();
    m_canvas->update();
}

void NetworkDiagram::resizeEvent(QResizeEvent* event)
{
    QScrollArea::resizeEvent(event);
    fitWidth();
}

void NetworkDiagram::fitWidth()
{
    // Shrink (not below kMinScale) rather than scroll sideways in a narrow dock; long models
    // scroll vertically.
    const QSizeF bounds = m_layout.bounds.size();
    const double available = viewport()->width() - 2 * kMargin;
    m_scale = bounds.width() > 0 ? std::clamp(available / bounds.width(), kMinScale, 1.0) : 1.0;
    const QSizeF size = bounds * m_scale + QSizeF(2 * kMargin, 2 * kMargin);
    m_canvas->setMinimumSize(static_cast<int>(std::ceil(size.width())), static_cast<int>(std::ceil(size.height())));
    m_canvas->update();
}

QPointF NetworkDiagram::offset() const
{
    // Centred when the viewport is wider than the drawing; pinned to the margin otherwise.
    const QRectF& b = m_layout.bounds;
    const double x = std::max(kMargin, (m_canvas->width() - b.width() * m_scale) / 2) - b.left() * m_scale;
    return {std::round(x), std::round(kMargin - b.top() * m_scale)};
}

QRect NetworkDiagram::blockRect(const LayerPath& path) const
{
    for (const auto& block : m_layout.blocks)
        if (block.path == path)
            return QRectF(offset() + block.rect.topLeft() * m_scale, block.rect.size() * m_scale).toAlignedRect();
    return {};
}

LayerPath NetworkDiagram::pathAt(const QPoint& canvasPos) const
{
    const QPointF at = (QPointF(canvasPos) - offset()) / m_scale;
    // Blocks inside a frame come after it: the last hit is the innermost.
    for (auto it = m_layout.blocks.crbegin(); it != m_layout.blocks.crend(); ++it)
        if (it->rect.contains(at))
            return it->path;
    return {};
}

void NetworkDiagram::setSelectedLayer(const LayerPath& path)
{
    if (path == m_selected)
        return;
    m_selected = path;
    const QRect rect = blockRect(path);
    if (!rect.isNull())
        ensureVisible(rect.center().x(), rect.center().y(), rect.width() / 2 + 10, rect.height() / 2 + 10);
    m_canvas->update();
}
