// The property form of one layer: its name and every option of its type from the layer-type
// table, with the widget that suits the option's kind and range, a tooltip with its doc and
// default, and the layer's validation problems under the field they concern.
#pragma once

#include "core/experiment_document.h"
#include "core/layer_path.h"

#include <QWidget>

class FormBinder;
class QFormLayout;
class QLabel;
class QLineEdit;

class LayerForm : public QWidget {
    Q_OBJECT
public:
    explicit LayerForm(ExperimentDocument* doc, QWidget* parent = nullptr);

    // Shows the layer at `path` (empty: none). Rebuilds the fields only when the layer's type
    // or place changed, so a field keeps focus while its own edits come back from the document.
    void setLayer(const LayerPath& path);
    LayerPath layer() const { return m_path; }

private:
    void rebuild();
    void refresh();

    ExperimentDocument* m_doc;
    LayerPath m_path;
    std::string m_type;        // type the fields were built for
    QLabel* m_title;
    QLabel* m_typeDoc;
    QLabel* m_stats;
    QLabel* m_problems;        // problems of the layer itself, not of one option
    QWidget* m_fields = nullptr;
    FormBinder* m_binder = nullptr;
    QLineEdit* m_name = nullptr;
};
