#include "model_editor.h"

#include "editor_util.h"
#include "layer_form.h"
#include "model_edits.h"

#include "nnlab/layer_types.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSplitter>
#include <QStyle>
#include <QToolBar>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace {

constexpr int kPathRole = Qt::UserRole;

// "[1, 28, 28]", "1,28,28" and "1 28 28" all read as {1, 28, 28}.
bool readShape(const QString& text, std::vector<int64_t>& shape)
{
    shape.clear();
    const QStringList parts = QString(text).remove(QRegularExpression(QStringLiteral("[\\[\\]]")))
                                  .split(QRegularExpression(QStringLiteral("[,\\sx×]+")), Qt::SkipEmptyParts);
    for (const QString& part : parts) {
        bool ok = false;
        const qlonglong v = part.toLongLong(&ok);
        if (!ok)
            return false;
        shape.push_back(v);
    }
    return !shape.empty();
}

} // namespace

ModelEditor::ModelEditor(ExperimentDocument* doc, QWidget* parent)
    : QWidget(parent), m_doc(doc), m_tree(new QTreeWidget(this)), m_form(new LayerForm(doc, this)),
      m_input(new QLineEdit(this)), m_inputProblem(editor::makeProblemLabel(this)), m_totals(new QLabel(this)),
      m_modelProblems(editor::makeProblemLabel(this)), m_addMenu(new QMenu(tr("Add layer"), this))
{
    createActions();

    auto* toolbar = new QToolBar(this);
    m_toolbar = toolbar;
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->setIconSize(QSize(16, 16));
    auto* addButton = new QToolButton(toolbar);
    addButton->setMenu(m_addMenu);
    addButton->setPopupMode(QToolButton::InstantPopup);
    addButton->setText(tr("Add"));
    addButton->setIcon(style()->standardIcon(QStyle::SP_FileDialogNewFolder));
    addButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    addButton->setToolTip(tr("Add a layer after the selected one (into it when it is an empty residual block)"));
    toolbar->addWidget(addButton);
    toolbar->addActions({m_remove, m_duplicate, m_moveUp, m_moveDown, m_wrap});

    auto* inputRow = new QHBoxLayout;
    auto* inputLabel = new QLabel(tr("Input shape"), this);
    const QString inputTip = tr("Shape of one sample without the batch: [features] or [channels, height, width] "
                                "(default [1, 28, 28]); the data source fixes it for the built-in sets; empty: taken from the data");
    inputLabel->setToolTip(inputTip);
    m_input->setObjectName(QStringLiteral("input"));
    m_input->setToolTip(inputTip);
    m_input->setPlaceholderText(tr("from the data"));
    inputRow->addWidget(inputLabel);
    inputRow->addWidget(m_input, 1);
    connect(m_input, &QLineEdit::textEdited, this, [this](const QString& text) {
        std::vector<int64_t> shape;
        const bool ok = readShape(text, shape) || text.trimmed().isEmpty();   // empty: from the data
        m_input->setStyleSheet(ok ? QString() : QStringLiteral("QLineEdit { border: 1px solid #c0392b; }"));
        if (ok)
            m_doc->apply(tr("Set model input"), [&](nnlab::ExperimentSpec& s) { s.model.input = shape; },
                         editor::mergeIdFor("model.input"));
    });

    m_tree->setObjectName(QStringLiteral("layerTree"));
    m_tree->setAccessibleName(tr("layer tree"));   // the shortcuts dialog: "while the layer tree has focus"
    m_tree->setColumnCount(ColumnCount);
    m_tree->setHeaderLabels({tr("Layer"), tr("Output"), tr("Params"), tr("MACs")});
    m_tree->headerItem()->setToolTip(ShapeColumn, tr("Output shape of one sample"));
    m_tree->headerItem()->setToolTip(ParamsColumn, tr("Learned parameters (a block: everything in it)"));
    m_tree->headerItem()->setToolTip(MacsColumn, tr("Multiply-accumulates per sample (a block: everything in it)"));
    m_tree->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_tree->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_tree->addAction(m_addMenu->menuAction());
    m_tree->addActions({m_remove, m_duplicate, m_moveUp, m_moveDown, m_wrap});
    m_tree->header()->setStretchLastSection(false);
    m_tree->header()->setSectionResizeMode(NameColumn, QHeaderView::Stretch);
    for (int c = ShapeColumn; c < ColumnCount; ++c)
        m_tree->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    connect(m_tree, &QTreeWidget::itemSelectionChanged, this, &ModelEditor::onSelectionChanged);

    m_totals->setObjectName(QStringLiteral("totals"));
    m_totals->setWordWrap(true);
    m_modelProblems->setObjectName(QStringLiteral("modelProblems"));

    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addLayout(inputRow);
    topLayout->addWidget(m_inputProblem);
    topLayout->addWidget(m_tree, 1);
    topLayout->addWidget(m_totals);
    topLayout->addWidget(m_modelProblems);

    auto* formScroll = new QScrollArea(this);
    formScroll->setWidget(m_form);
    formScroll->setWidgetResizable(true);
    formScroll->setFrameShape(QFrame::NoFrame);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(top);
    splitter->addWidget(formScroll);
    // Half each: a layer's form (conv2d has eight fields) needs as much room as a typical tree.
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({400, 400});
    splitter->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(toolbar);
    layout->addWidget(splitter, 1);

    connect(m_doc, &ExperimentDocument::specChanged, this, &ModelEditor::refresh);
    refresh();
}

void ModelEditor::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    // Icons only when the labelled buttons would not fit (a narrow dock), instead of hiding
    // the last actions behind the toolbar's overflow arrow.
    if (m_textToolbarWidth == 0)
        m_textToolbarWidth = m_toolbar->sizeHint().width();
    m_toolbar->setToolButtonStyle(width() < m_textToolbarWidth + 12 ? Qt::ToolButtonIconOnly : Qt::ToolButtonTextBesideIcon);
}

void ModelEditor::createActions()
{
    // The palette: every layer type, grouped by category in the table's order.
    m_addMenu->setToolTipsVisible(true);
    QStringList categories;
    for (const auto& info : nnlab::layerTypes())
        if (!categories.contains(QString::fromStdString(info.category)))
            categories << QString::fromStdString(info.category);
    for (const QString& category : categories) {
        m_addMenu->addSection(category);
        for (const auto& info : nnlab::layerTypes()) {
            if (QString::fromStdString(info.category) != category)
                continue;
            const QString type = QString::fromStdString(info.type);
            QAction* action = m_addMenu->addAction(type);
            action->setToolTip(QString::fromStdString(info.doc));
            action->setStatusTip(QString::fromStdString(info.doc));
            connect(action, &QAction::triggered, this, [this, type] { addLayer(type); });
            m_addActions.insert(type, action);
        }
    }

    auto make = [this](const QString& text, QStyle::StandardPixmap icon, const QKeySequence& key, const QString& tip) {
        auto* action = new QAction(style()->standardIcon(icon), text, this);
        action->setShortcut(key);
        action->setShortcutContext(Qt::WidgetShortcut);   // only while the tree has focus
        action->setToolTip(tip + QStringLiteral(" (") + key.toString(QKeySequence::NativeText) + QLatin1Char(')'));
        return action;
    };
    m_remove = make(tr("Remove"), QStyle::SP_TrashIcon, QKeySequence::Delete, tr("Remove the selected layers"));
    m_duplicate = make(tr("Duplicate"), QStyle::SP_FileDialogContentsView, QKeySequence(tr("Ctrl+D")),
                       tr("Insert copies of the selected layers after them"));
    m_moveUp = make(tr("Move up"), QStyle::SP_ArrowUp, QKeySequence(tr("Alt+Up")), tr("Move the selected layers up"));
    m_moveUp->setIconText(tr("Up"));   // the toolbar's short label
    m_moveDown = make(tr("Move down"), QStyle::SP_ArrowDown, QKeySequence(tr("Alt+Down")), tr("Move the selected layers down"));
    m_moveDown->setIconText(tr("Down"));
    // Ctrl+G groups in drawing and diagram tools; Ctrl+R is the window's Train.
    m_wrap = make(tr("Wrap in residual"), QStyle::SP_DirLinkIcon, QKeySequence(tr("Ctrl+G")),
                  tr("Put the selected consecutive layers into a residual block, which adds its input to their output"));
    connect(m_remove, &QAction::triggered, this, &ModelEditor::removeSelected);
    connect(m_duplicate, &QAction::triggered, this, &ModelEditor::duplicateSelected);
    connect(m_moveUp, &QAction::triggered, this, [this] { moveSelected(-1); });
    connect(m_moveDown, &QAction::triggered, this, [this] { moveSelected(1); });
    connect(m_wrap, &QAction::triggered, this, &ModelEditor::wrapSelected);
}

QAction* ModelEditor::addLayerAction(const QString& type) const { return m_addActions.value(type); }

void ModelEditor::refresh()
{
    const nnlab::ExperimentSpec& spec = m_doc->spec();
    std::vector<int64_t> shown;
    // Text that already reads as the input ("1 28 28" typed just now) stays as typed.
    if (!readShape(m_input->text(), shown) || shown != spec.model.input) {
        m_input->setText(spec.model.input.empty() ? QString() : editor::shapeText(spec.model.input));
        m_input->setStyleSheet(QString());
    }
    editor::setProblemText(m_inputProblem, editor::problemMessages(m_doc->problemsAt("model.input")));
    rebuildTree();
    updateTotals();
}

void ModelEditor::rebuildTree()
{
    m_rebuilding = true;
    m_tree->clear();
    addItems(nullptr, m_doc->spec().model.layers, {});
    m_tree->expandAll();
    m_rebuilding = false;
    // Keep the selection on the same places; paths that are gone fall away.
    QList<LayerPath> kept;
    for (const LayerPath& p : m_selected)
        if (itemAt(p))
            kept << p;
    LayerPath current = m_current;
    while (!current.isEmpty() && !itemAt(current)) {
        // A removed last layer: select the one before, else the enclosing block.
        if (current.last() > 0)
            current.last() -= 1;
        else
            current.removeLast();
    }
    selectLayers(kept.isEmpty() && !current.isEmpty() ? QList<LayerPath>{current} : kept, current);
}

void ModelEditor::addItems(QTreeWidgetItem* parent, const std::vector<nnlab::LayerSpec>& layers, const LayerPath& prefix)
{
    const nnlab::ModelInfo& info = m_doc->modelInfo();
    for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
        const nnlab::LayerSpec& layer = layers[static_cast<size_t>(i)];
        LayerPath path = prefix;
        path << i;
        const std::string base = jsonPath(path);
        auto* item = parent ? new QTreeWidgetItem(parent) : new QTreeWidgetItem(m_tree);
        item->setData(NameColumn, kPathRole, QVariant::fromValue(path));

        QString text = QString::fromStdString(layer.type);
        if (!layer.name.empty())
            text = QString::fromStdString(layer.name) + QStringLiteral(" : ") + text;
        const QString summary = editor::layerSummary(layer);
        if (!summary.isEmpty())
            text += QStringLiteral("   ") + summary;
        item->setText(NameColumn, text);

        // The row's own shape; parameters and MACs of everything under it (a block's total).
        const nnlab::LayerInfo* own = nullptr;
        int64_t params = 0, macs = 0;
        for (const auto& row : info.layers) {
            if (row.path == base && row.type != "shortcut")
                own = &row;
            if (row.path == base || row.path.compare(0, base.size() + 1, base + ".") == 0) {
                params += row.parameters;
                macs += row.macs;
            }
        }
        const bool known = own && !own->outputShape.empty();
        item->setText(ShapeColumn, known ? editor::shapeText(own->outputShape) : QStringLiteral("—"));
        item->setText(ParamsColumn, known ? editor::formatCount(params) : QString());
        item->setText(MacsColumn, known ? editor::formatCompact(static_cast<double>(macs)) : QString());
        for (int c = ParamsColumn; c < ColumnCount; ++c)
            item->setTextAlignment(c, Qt::AlignRight | Qt::AlignVCenter);
        if (!known)
            item->setForeground(ShapeColumn, palette().brush(QPalette::Disabled, QPalette::Text));

        const nnlab::Problems problems = editor::layerProblems(m_doc->problems(), path);
        if (!problems.empty()) {
            QStringList lines;
            for (const auto& p : problems)
                lines << QString::fromStdString(p.text());
            item->setIcon(NameColumn, style()->standardIcon(QStyle::SP_MessageBoxWarning));
            for (int c = 0; c < ColumnCount; ++c) {
                item->setForeground(c, QColor(0xc0, 0x39, 0x2b));
                item->setToolTip(c, lines.join(QLatin1Char('\n')));
            }
        } else if (const auto* typeInfo = nnlab::findLayerType(layer.type)) {
            item->setToolTip(NameColumn, QString::fromStdString(typeInfo->doc));
        }

        if (!layer.layers.empty())
            addItems(item, layer.layers, path);
        for (const auto& row : info.layers) {
            if (row.path != base || row.type != "shortcut")
                continue;
            auto* shortcut = new QTreeWidgetItem(item);
            shortcut->setFlags(Qt::ItemIsEnabled);   // part of the block, not a layer to select
            shortcut->setText(NameColumn, row.outputShape.size() == 1 ? tr("shortcut: linear projection")
                                                                      : tr("shortcut: 1x1 conv projection"));
            shortcut->setToolTip(NameColumn, tr("The block's layers change the shape, so the skip connection "
                                                "learns a projection to add the input to their output"));
            shortcut->setText(ShapeColumn, editor::shapeText(row.outputShape));
            shortcut->setText(ParamsColumn, editor::formatCount(row.parameters));
            shortcut->setText(MacsColumn, editor::formatCompact(static_cast<double>(row.macs)));
            QFont italic = shortcut->font(NameColumn);
            italic.setItalic(true);
            for (int c = 0; c < ColumnCount; ++c) {
                shortcut->setFont(c, italic);
                shortcut->setForeground(c, palette().brush(QPalette::Disabled, QPalette::Text));
                if (c >= ParamsColumn)
                    shortcut->setTextAlignment(c, Qt::AlignRight | Qt::AlignVCenter);
            }
        }
    }
}

void ModelEditor::updateTotals()
{
    const nnlab::ModelInfo& info = m_doc->modelInfo();
    if (info.ok) {
        m_totals->setText(tr("Total: <b>%1</b> parameters · <b>%2</b> MACs per sample · output %3")
                              .arg(editor::formatCount(info.parameters),
                                   editor::formatCompact(static_cast<double>(info.macs)),
                                   editor::shapeText(info.outputShape)));
    } else {
        m_totals->setText(tr("Total so far: %1 parameters · %2 MACs per sample (up to the first problem)")
                              .arg(editor::formatCount(info.parameters),
                                   editor::formatCompact(static_cast<double>(info.macs))));
    }

    // Problems of the model as a whole ("model.layers": the output does not suit the loss)
    // go here; those of a layer are on its row, those of the input under the input field.
    QStringList lines;
    int layerProblemCount = 0;
    for (const auto& p : m_doc->problems()) {
        if (p.path == "model" || p.path == "model.layers")
            lines << QString::fromStdString(p.message);
        else if (p.path.compare(0, 13, "model.layers[") == 0)
            ++layerProblemCount;
    }
    if (layerProblemCount == 1)
        lines << tr("1 problem on the layer marked in red; hover the row for details");
    else if (layerProblemCount > 1)
        lines << tr("%1 problems on the layers marked in red; hover a row for details").arg(layerProblemCount);
    editor::setProblemText(m_modelProblems, lines.join(QLatin1Char('\n')));
}

QTreeWidgetItem* ModelEditor::itemAt(const LayerPath& path) const
{
    if (path.isEmpty() || path.first() < 0 || path.first() >= m_tree->topLevelItemCount())
        return nullptr;
    QTreeWidgetItem* item = m_tree->topLevelItem(path.first());
    for (int i = 1; i < path.size(); ++i) {
        // Children are the block's layers, then (optionally) its shortcut row.
        if (path[i] < 0 || path[i] >= item->childCount())
            return nullptr;
        item = item->child(path[i]);
        if (!(item->flags() & Qt::ItemIsSelectable))
            return nullptr;
    }
    return item;
}

LayerPath ModelEditor::currentLayer() const { return m_current; }

QList<LayerPath> ModelEditor::selectedLayers() const { return m_selected; }

void ModelEditor::selectLayer(const LayerPath& path)
{
    selectLayers(path.isEmpty() ? QList<LayerPath>{} : QList<LayerPath>{path}, path);
}

void ModelEditor::selectLayers(const QList<LayerPath>& paths, const LayerPath& current)
{
    {
        const QSignalBlocker blocker(m_tree);
        m_tree->clearSelection();
        for (const LayerPath& p : paths)
            if (QTreeWidgetItem* item = itemAt(p))
                item->setSelected(true);
        QTreeWidgetItem* item = itemAt(current);
        m_tree->setCurrentItem(item, NameColumn, QItemSelectionModel::NoUpdate);
        if (item)
            m_tree->scrollToItem(item);
    }
    m_tree->viewport()->update();
    onSelectionChanged();
}

void ModelEditor::onSelectionChanged()
{
    if (m_rebuilding)
        return;
    m_selected.clear();
    for (QTreeWidgetItem* item : m_tree->selectedItems())
        m_selected << item->data(NameColumn, kPathRole).value<LayerPath>();
    std::sort(m_selected.begin(), m_selected.end());
    QTreeWidgetItem* current = m_tree->currentItem();
    if (current && current->isSelected())
        m_current = current->data(NameColumn, kPathRole).value<LayerPath>();
    else
        m_current = m_selected.isEmpty() ? LayerPath{} : m_selected.first();
    m_form->setLayer(m_current);
    updateActions();
    emit selectionChangedTo(m_current);
}

namespace {

// The layers duplicate, move and wrap act on: the selection when it is a run of siblings;
// the current layer when nothing is selected; nothing for a scattered selection.
modeledits::SiblingRange rangeFor(const QList<LayerPath>& selected, const LayerPath& current)
{
    if (selected.isEmpty())
        return current.isEmpty() ? modeledits::SiblingRange{} : modeledits::siblingRange({current});
    return modeledits::siblingRange(selected);
}

} // namespace

void ModelEditor::updateActions()
{
    const auto range = rangeFor(m_selected, m_current);
    const nnlab::ModelSpec& model = m_doc->spec().model;
    m_remove->setEnabled(!m_selected.isEmpty());
    m_duplicate->setEnabled(range.isValid());
    m_wrap->setEnabled(range.isValid());
    m_moveUp->setEnabled(modeledits::canMove(model, range, -1));
    m_moveDown->setEnabled(modeledits::canMove(model, range, 1));
}

void ModelEditor::addLayer(const QString& type)
{
    if (!nnlab::findLayerType(type.toStdString()))
        return;
    LayerPath inserted;
    const LayerPath after = m_current;
    m_doc->apply(tr("Add %1").arg(type), [&](nnlab::ExperimentSpec& s) {
        inserted = modeledits::insertLayer(s.model, after, makeLayer(type.toStdString()));
    });
    selectLayer(inserted);
}

void ModelEditor::removeSelected()
{
    const QList<LayerPath> paths = m_selected.isEmpty() && !m_current.isEmpty() ? QList<LayerPath>{m_current} : m_selected;
    if (paths.isEmpty())
        return;
    LayerPath next;
    m_doc->apply(paths.size() == 1 ? tr("Remove layer") : tr("Remove %1 layers").arg(paths.size()),
                 [&](nnlab::ExperimentSpec& s) { next = modeledits::removeLayers(s.model, paths); });
    selectLayer(next);
}

void ModelEditor::duplicateSelected()
{
    const auto range = rangeFor(m_selected, m_current);
    if (!range.isValid())
        return;
    modeledits::SiblingRange copies;
    m_doc->apply(tr("Duplicate layers"), [&](nnlab::ExperimentSpec& s) { copies = modeledits::duplicateRange(s.model, range); });
    if (copies.isValid())
        selectLayers(copies.paths(), copies.at(copies.first));
}

void ModelEditor::moveSelected(int delta)
{
    const auto range = rangeFor(m_selected, m_current);
    if (!modeledits::canMove(m_doc->spec().model, range, delta))
        return;
    modeledits::SiblingRange moved;
    m_doc->apply(delta < 0 ? tr("Move layers up") : tr("Move layers down"),
                 [&](nnlab::ExperimentSpec& s) { moved = modeledits::moveRange(s.model, range, delta); });
    LayerPath current = m_current;
    if (!current.isEmpty() && current.mid(0, current.size() - 1) == range.parent)
        current.last() += delta;
    selectLayers(moved.paths(), current);
}

void ModelEditor::wrapSelected()
{
    const auto range = rangeFor(m_selected, m_current);
    if (!range.isValid())
        return;
    LayerPath block;
    m_doc->apply(tr("Wrap in residual"), [&](nnlab::ExperimentSpec& s) { block = modeledits::wrapInResidual(s.model, range); });
    selectLayer(block);
}
