// The model editor: the layer tree (residual blocks nest) with each layer's output shape,
// parameters and MACs, the model's totals and problems, the layer actions (add from a palette
// of every type, remove, duplicate, move, wrap in residual) and the selected layer's form.
#pragma once

#include "core/experiment_document.h"
#include "core/layer_path.h"

#include <QMap>
#include <QWidget>

class LayerForm;
class QAction;
class QLabel;
class QLineEdit;
class QMenu;
class QToolBar;
class QTreeWidget;
class QTreeWidgetItem;

class ModelEditor : public QWidget {
    Q_OBJECT
public:
    enum Column { NameColumn, ShapeColumn, ParamsColumn, MacsColumn, ColumnCount };

    explicit ModelEditor(ExperimentDocument* doc, QWidget* parent = nullptr);

    // The actions, for menus, toolbars and tests. Each acts on the tree's selection.
    QAction* addLayerAction(const QString& type) const;   // one per layer type; nullptr if unknown
    QMenu* addMenu() const { return m_addMenu; }          // the palette, grouped by category
    QAction* removeAction() const { return m_remove; }
    QAction* duplicateAction() const { return m_duplicate; }
    QAction* moveUpAction() const { return m_moveUp; }
    QAction* moveDownAction() const { return m_moveDown; }
    QAction* wrapInResidualAction() const { return m_wrap; }

    QTreeWidget* tree() const { return m_tree; }
    LayerForm* form() const { return m_form; }
    QLabel* totalsLabel() const { return m_totals; }
    QTreeWidgetItem* itemAt(const LayerPath& path) const;   // nullptr when absent
    LayerPath currentLayer() const;
    QList<LayerPath> selectedLayers() const;

public slots:
    // Inserts a layer of `type` after the current one (into it when it is an empty residual).
    void addLayer(const QString& type);
    void selectLayer(const LayerPath& path);
    void selectLayers(const QList<LayerPath>& paths, const LayerPath& current);

signals:
    void selectionChangedTo(const LayerPath& path);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void createActions();
    void refresh();
    void rebuildTree();
    void addItems(QTreeWidgetItem* parent, const std::vector<nnlab::LayerSpec>& layers, const LayerPath& prefix);
    void updateTotals();
    void updateActions();
    void onSelectionChanged();
    void removeSelected();
    void duplicateSelected();
    void moveSelected(int delta);
    void wrapSelected();

    ExperimentDocument* m_doc;
    QTreeWidget* m_tree;
    LayerForm* m_form;
    QLineEdit* m_input;
    QLabel* m_inputProblem;
    QLabel* m_totals;
    QLabel* m_modelProblems;
    QMenu* m_addMenu;
    QToolBar* m_toolbar = nullptr;
    int m_textToolbarWidth = 0;     // the toolbar's width with labelled buttons
    QMap<QString, QAction*> m_addActions;
    QAction* m_remove = nullptr;
    QAction* m_duplicate = nullptr;
    QAction* m_moveUp = nullptr;
    QAction* m_moveDown = nullptr;
    QAction* m_wrap = nullptr;
    LayerPath m_current;             // survives tree rebuilds
    QList<LayerPath> m_selected;
    bool m_rebuilding = false;
};
