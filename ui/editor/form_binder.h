// Binds form fields to one value of the experiment each, both ways: a user edit becomes one
// ExperimentDocument::apply (keystrokes in one field merge into one undo step), refresh()
// shows the document's values without recording edits, and each field shows the validation
// problems at its JSON path in a red line under it.
#pragma once

#include "core/experiment_document.h"

#include <QObject>
#include <QStringList>

#include <functional>
#include <string>
#include <vector>

class LogNumberEdit;
class NumberEdit;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QSpinBox;

class FormBinder : public QObject {
    Q_OBJECT
public:
    template <class T> using Get = std::function<T(const nnlab::ExperimentSpec&)>;
    template <class T> using Set = std::function<void(nnlab::ExperimentSpec&, T)>;

    // Rows go into `form`. Each editor's objectName is its JSON path ("optimizer.lr").
    FormBinder(ExperimentDocument* doc, QFormLayout* form, QObject* parent);

    // Tooltips get " (default X)" from a default-constructed spec unless the doc names its own
    // default; turn that off where the defaults live elsewhere (layer options).
    void setAppendDefaults(bool on) { m_appendDefaults = on; }

    QSpinBox* addInt(const QString& label, const std::string& path, int64_t min, int64_t max,
                     const QString& doc, Get<int64_t> get, Set<int64_t> set);
    QDoubleSpinBox* addDecimal(const QString& label, const std::string& path, double min, double max,
                               double step, int decimals, const QString& doc, Get<double> get, Set<double> set);
    NumberEdit* addNumber(const QString& label, const std::string& path, const QString& doc,
                          Get<double> get, Set<double> set);
    LogNumberEdit* addLogNumber(const QString& label, const std::string& path, const QString& doc,
                                Get<double> get, Set<double> set);
    QCheckBox* addBool(const QString& label, const std::string& path, const QString& doc,
                       Get<bool> get, Set<bool> set);
    QComboBox* addChoice(const QString& label, const std::string& path, const QStringList& choices,
                         const QString& doc, Get<std::string> get, Set<std::string> set);
    // A text field; `trailing` (a Browse button) sits to its right.
    QLineEdit* addText(const QString& label, const std::string& path, const QString& doc,
                       Get<std::string> get, Set<std::string> set, QWidget* trailing = nullptr);

    // Qt 6.4.2's QFormLayout writes past its arrays (valgrind) when a form has hidden rows
    // and a row spanning both columns: keep spanning widgets out of a form that hides rows.
    void setRowVisible(const std::string& path, bool visible);
    QWidget* editor(const std::string& path) const;
    QLabel* problemLabel(const std::string& path) const;

    // Shows the document's values and problems; edits made meanwhile are ignored.
    void refresh();
    // Records an edit unless a refresh is running (widgets echo the values refresh sets).
    // `merge`: consecutive edits of this path become one undo step (typing, not toggling).
    void commit(const std::string& path, const QString& what,
                const std::function<void(nnlab::ExperimentSpec&)>& edit, bool merge = true);

private:
    struct Row {
        std::string path;
        QWidget* editor = nullptr;
        QWidget* field = nullptr;   // editor plus its problem label: the form's field column
        QLabel* label = nullptr;
        QLabel* problem = nullptr;
        std::function<void(const nnlab::ExperimentSpec&)> show;
    };
    void addRow(const QString& label, const std::string& path, QWidget* editor, QWidget* trailing,
                const QString& tooltip, std::function<void(const nnlab::ExperimentSpec&)> show);
    template <class T> QString tooltip(const QString& doc, const Get<T>& get) const;

    ExperimentDocument* m_doc;
    QFormLayout* m_form;
    std::vector<Row> m_rows;
    bool m_refreshing = false;
    bool m_appendDefaults = true;
};
