#include "diagram_layout.h"

#include "editor_util.h"

#include "nnlab/layer_types.h"

#include <QFontMetricsF>
#include <QHash>

#include <algorithm>

namespace {

constexpr double kBoxWidth = 200;
constexpr double kBoxHeight = 40;
constexpr double kGap = 30;           // vertical edge between two items: room for a shape label
constexpr double kFrameInset = 12;    // a frame's margin around its widest content
constexpr double kLevel = 30;         // extra half-width per nesting level: the inner lane lives there
constexpr double kLaneOffset = 15;    // skip lane distance left of its frame
constexpr double kTitleHeight = 22;
constexpr double kNodeHeight = 28;

int nestingHeight(const nnlab::LayerSpec& layer)
{
    if (layer.layers.empty() && layer.type != "residual")
        return 0;
    int inner = 0;
    for (const auto& child : layer.layers)
        inner = std::max(inner, nestingHeight(child));
    return inner + 1;
}

class Builder {
public:
    Builder(const nnlab::ModelInfo& info, const nnlab::Problems& problems, const QFontMetricsF& metrics, DiagramLayout& out)
        : m_problems(problems), m_metrics(metrics), m_out(out)
    {
        for (const auto& row : info.layers)
            (row.type == "shortcut" ? m_shortcuts : m_rows).insert(QString::fromStdString(row.path), &row);
    }

    // Places `layers` below y (the bottom of whatever is above) and returns the new bottom.
    // `shape`/`known` describe what flows in; they come back describing what flows out.
    double list(const std::vector<nnlab::LayerSpec>& layers, const LayerPath& prefix, double y, QString& shape,
                bool& known, bool labelFirst)
    {
        for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
            LayerPath path = prefix;
            path << i;
            const bool showLabel = i > 0 || labelFirst;
            const nnlab::LayerSpec& layer = layers[static_cast<size_t>(i)];
            y = layer.type == "residual" ? residual(layer, path, y, shape, showLabel, known)
                                         : single(layer, path, y, showLabel ? shape : QString(), known);
            const nnlab::LayerInfo* row = m_rows.value(QString::fromStdString(jsonPath(path)));
            known = known && row && !row->outputShape.empty();
            shape = known ? editor::shapeText(row->outputShape) : QStringLiteral("?");
        }
        return y;
    }

    void edge(QPointF from, QPointF to, const QString& label, bool known, bool arrow = true)
    {
        m_out.edges.push_back({from, to, label, known, arrow});
        if (!label.isEmpty()) {
            const QSizeF size = m_metrics.size(0, label);
            include(QRectF(QPointF(to.x() + 6, (from.y() + to.y() - size.height()) / 2), size));
        }
    }

    void include(const QRectF& rect) { m_out.bounds = m_out.bounds.isNull() ? rect : m_out.bounds.united(rect); }

private:
    DiagramLayout::Block makeBlock(const nnlab::LayerSpec& layer, const LayerPath& path, const QRectF& rect)
    {
        DiagramLayout::Block block;
        block.path = path;
        block.rect = rect;
        block.title = QString::fromStdString(layer.type);
        if (!layer.name.empty())
            block.title = QString::fromStdString(layer.name) + QStringLiteral(" · ") + block.title;
        block.detail = editor::layerSummary(layer);
        const auto* info = nnlab::findLayerType(layer.type);
        block.fill = editor::categoryColor(info ? info->category : std::string());
        QStringList tip;
        if (info)
            tip << QString::fromStdString(info->doc);
        if (const nnlab::LayerInfo* row = m_rows.value(QString::fromStdString(jsonPath(path))); row && !row->outputShape.empty())
            tip << QStringLiteral("%1 → %2 · %3 parameters · %4 MACs")
                       .arg(editor::shapeText(row->inputShape), editor::shapeText(row->outputShape),
                            editor::formatCount(row->parameters), editor::formatCompact(double(row->macs)));
        const nnlab::Problems problems = editor::layerProblems(m_problems, path);
        block.problem = !problems.empty();
        for (const auto& p : problems)
            tip << QString::fromStdString(p.text());
        block.tooltip = tip.join(QLatin1Char('\n'));
        return block;
    }

    double single(const nnlab::LayerSpec& layer, const LayerPath& path, double y, const QString& label, bool known)
    {
        const QRectF rect(-kBoxWidth / 2, y + kGap, kBoxWidth, kBoxHeight);
        edge({0, y}, {0, rect.top()}, label, known);
        m_out.blocks.push_back(makeBlock(layer, path, rect));
        include(rect);
        return rect.bottom();
    }

    double residual(const nnlab::LayerSpec& layer, const LayerPath& path, double y, const QString& inShape,
                    bool showLabel, bool known)
    {
        const double half = kBoxWidth / 2 + kFrameInset + kLevel * (nestingHeight(layer) - 1);
        const double top = y + kGap;
        edge({0, y}, {0, top}, showLabel ? inShape : QString(), known, false);
        const int frameIndex = m_out.blocks.size();
        m_out.blocks.push_back(makeBlock(layer, path, QRectF()));
        m_out.blocks[frameIndex].frame = true;

        // The body's first edge runs from the frame's top through the title row, where the
        // skip connection splits off.
        QString shape = inShape;
        bool bodyKnown = known;
        double bottom = top;
        if (!layer.layers.empty()) {
            bottom = list(layer.layers, path, top, shape, bodyKnown, false);
        } else {
            // An empty block (just added): keep room for the skip lane to read as one.
            bottom = top + kTitleHeight + kGap;
            edge({0, top}, {0, bottom}, QString(), known, false);
            shape = QStringLiteral("?");
            bodyKnown = false;
        }
        const double r = DiagramLayout::kAdderRadius;
        const QPointF adder(0, bottom + kGap + r);
        edge({0, bottom}, {0, adder.y() - r}, shape, bodyKnown);
        m_out.adders.push_back(adder);
        const double frameBottom = adder.y() + r + 10;
        edge({0, adder.y() + r}, {0, frameBottom}, QString(), bodyKnown, false);

        const QRectF frame(-half, top, 2 * half, frameBottom - top);
        m_out.blocks[frameIndex].rect = frame;
        include(frame);

        DiagramLayout::Skip skip;
        const double lane = -half - kLaneOffset;
        const double split = top + kTitleHeight / 2;
        skip.path.moveTo(0, split);
        skip.path.lineTo(lane + 8, split);
        skip.path.quadTo(lane, split, lane, split + 8);
        skip.path.lineTo(lane, adder.y() - 8);
        skip.path.quadTo(lane, adder.y(), lane + 8, adder.y());
        skip.path.lineTo(-r, adder.y());
        skip.labelCenter = QPointF(lane, (split + adder.y()) / 2);
        const QString key = QString::fromStdString(jsonPath(path));
        const nnlab::LayerInfo* own = m_rows.value(key);
        const nnlab::LayerInfo* shortcut = m_shortcuts.value(key);
        skip.projection = shortcut != nullptr;
        if (!own || own->outputShape.empty())
            skip.label = QStringLiteral("skip");   // the body's shape is unknown: so is the kind
        else if (!shortcut)
            skip.label = QStringLiteral("identity");
        else
            skip.label = shortcut->outputShape.size() == 1 ? QStringLiteral("linear proj") : QStringLiteral("1x1 proj");
        m_out.skips.push_back(skip);
        include(QRectF(lane - m_metrics.height(), split, 2 * m_metrics.height(), adder.y() - split));
        return frameBottom;
    }

    QHash<QString, const nnlab::LayerInfo*> m_rows;
    QHash<QString, const nnlab::LayerInfo*> m_shortcuts;
    const nnlab::Problems& m_problems;
    const QFontMetricsF& m_metrics;
    DiagramLayout& m_out;
};

} // namespace

DiagramLayout layoutDiagram(const nnlab::ModelSpec& model, const nnlab::ModelInfo& info,
                            const nnlab::Problems& problems, const QFontMetricsF& metrics)
{
    DiagramLayout out;
    Builder builder(info, problems, metrics, out);
    // An input left to the data shows the data's shape once the document knows it.
    const std::vector<int64_t>& input = model.input.empty() && !info.layers.empty() ? info.layers.front().inputShape
                                                                                    : model.input;
    out.inputText = QStringLiteral("input ") + (input.empty() ? QStringLiteral("from the data") : editor::shapeText(input));
    out.input = QRectF(-kBoxWidth / 2, 0, kBoxWidth, kNodeHeight);
    builder.include(out.input);

    QString shape = input.empty() ? QStringLiteral("?") : editor::shapeText(input);
    bool known = true;
    const double bottom = builder.list(model.layers, {}, out.input.bottom(), shape, known, true);
    known = known && info.ok && !info.outputShape.empty();
    out.output = QRectF(-kBoxWidth / 2, bottom + kGap, kBoxWidth, kNodeHeight);
    builder.edge({0, bottom}, {0, out.output.top()}, known ? editor::shapeText(info.outputShape) : QStringLiteral("?"), known);
    out.outputText = model.layers.empty() ? QStringLiteral("output (no layers yet)")
                     : known             ? QStringLiteral("output ") + editor::shapeText(info.outputShape)
                                         : QStringLiteral("output ?");
    builder.include(out.output);
    return out;
}
