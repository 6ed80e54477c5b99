// Small helpers the editor panels share: number formatting, tooltips, merge ids for undo,
// and matching validation problems to the layer or field they concern.
#pragma once

#include "core/layer_path.h"

#include "nnlab/layer_types.h"
#include "nnlab/spec.h"

#include <QColor>
#include <QString>

class QLabel;
class QWidget;

namespace editor {

// Shortest text that reads back to the same double ("0.001", "1e-05", "3").
QString formatNumber(double value);
// "1,234,567" for parameter counts.
QString formatCount(int64_t value);
// "2.41M", "380k", "512" for multiply-accumulates.
QString formatCompact(double value);
QString shapeText(const std::vector<int64_t>& shape);

// A stable, non-negative id for ExperimentDocument::apply's mergeId, so consecutive edits of
// one field (each keystroke in a spin box) become one undo step.
int mergeIdFor(const std::string& path);

// "doc (default X)"; `doc` is left alone when it already names its default.
QString tooltipWithDefault(const QString& doc, const QString& defaultText);
// The tooltip of a layer option: its doc, default and valid range on one line.
QString optionTooltip(const nnlab::OptionInfo& option);

// The problems that concern this layer itself or one of its options, not its children
// (a residual's body rows carry their own).
nnlab::Problems layerProblems(const nnlab::Problems& all, const LayerPath& path);
// The problems whose path is exactly `path` (a field).
nnlab::Problems fieldProblems(const nnlab::Problems& all, const std::string& path);
// Problem messages one a line, without the path (shown next to the thing they concern).
QString problemMessages(const nnlab::Problems& problems);
// "Fix first: model.layers[3]: expects a flat input ... (and 2 more)", for a disabled Train
// button's tooltip or a status line; empty when there are none.
QString blockingReason(const nnlab::Problems& problems);

// A red, word-wrapped label shown under a field while it has problems.
QLabel* makeProblemLabel(QWidget* parent);
void setProblemText(QLabel* label, const QString& text);

// Short summary of a layer's key options: "16 ch · k3 · pad 1".
QString layerSummary(const nnlab::LayerSpec& layer);
// A pastel colour per layer category for the diagram.
QColor categoryColor(const std::string& category);
// Up to ten distinguishable colours for classes (plots, labels).
QColor classColor(int index);

} // namespace editor
