#include "form_binder.h"

#include "editor_util.h"
#include "number_edit.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace {

QString defaultText(int64_t v) { return QString::number(v); }
QString defaultText(double v) { return editor::formatNumber(v); }
QString defaultText(bool v) { return v ? QStringLiteral("on") : QStringLiteral("off"); }
QString defaultText(const std::string& v) { return v.empty() ? QStringLiteral("empty") : QString::fromStdString(v); }

int clampToInt(int64_t v)
{
    return static_cast<int>(std::clamp<int64_t>(v, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

} // namespace

FormBinder::FormBinder(ExperimentDocument* doc, QFormLayout* form, QObject* parent)
    : QObject(parent), m_doc(doc), m_form(form)
{
}

template <class T>
QString FormBinder::tooltip(const QString& doc, const Get<T>& get) const
{
    if (!m_appendDefaults)
        return doc;
    return editor::tooltipWithDefault(doc, defaultText(get(nnlab::ExperimentSpec{})));
}

void FormBinder::addRow(const QString& label, const std::string& path, QWidget* editorWidget, QWidget* trailing,
                        const QString& tip, std::function<void(const nnlab::ExperimentSpec&)> show)
{
    auto* field = new QWidget(m_form->parentWidget());
    auto* column = new QVBoxLayout(field);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(2);
    if (trailing) {
        auto* line = new QHBoxLayout;
        line->addWidget(editorWidget, 1);
        line->addWidget(trailing);
        column->addLayout(line);
    } else {
        column->addWidget(editorWidget);
    }
    QLabel* problem = editor::makeProblemLabel(field);
    problem->setObjectName(QString::fromStdString(path) + QStringLiteral(".problem"));
    column->addWidget(problem);

    editorWidget->setObjectName(QString::fromStdString(path));
    editorWidget->setToolTip(tip);
    auto* labelWidget = new QLabel(label, m_form->parentWidget());
    labelWidget->setToolTip(tip);
    labelWidget->setBuddy(editorWidget);
    m_form->addRow(labelWidget, field);
    m_rows.push_back({path, editorWidget, field, labelWidget, problem, std::move(show)});
}

QSpinBox* FormBinder::addInt(const QString& label, const std::string& path, int64_t min, int64_t max,
                             const QString& doc, Get<int64_t> get, Set<int64_t> set)
{
    auto* box = new QSpinBox;
    box->setRange(clampToInt(min), clampToInt(max));
    box->setAccelerated(true);
    connect(box, qOverload<int>(&QSpinBox::valueChanged), this, [this, path, set](int v) {
        commit(path, QString(), [&](nnlab::ExperimentSpec& s) { set(s, v); });
    });
    addRow(label, path, box, nullptr, tooltip(doc, get), [box, get](const nnlab::ExperimentSpec& s) {
        const int v = clampToInt(get(s));
        if (box->value() != v)
            box->setValue(v);
    });
    return box;
}

QDoubleSpinBox* FormBinder::addDecimal(const QString& label, const std::string& path, double min, double max,
                                       double step, int decimals, const QString& doc, Get<double> get, Set<double> set)
{
    auto* box = new QDoubleSpinBox;
    box->setDecimals(decimals);
    box->setRange(min, max);
    box->setSingleStep(step);
    connect(box, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this, path, set](double v) {
        commit(path, QString(), [&](nnlab::ExperimentSpec& s) { set(s, v); });
    });
    addRow(label, path, box, nullptr, tooltip(doc, get), [box, get](const nnlab::ExperimentSpec& s) {
        const double v = get(s);
        if (box->value() != v)
            box->setValue(v);
    });
    return box;
}

NumberEdit* FormBinder::addNumber(const QString& label, const std::string& path, const QString& doc,
                                  Get<double> get, Set<double> set)
{
    auto* edit = new NumberEdit;
    connect(edit, &NumberEdit::valueEdited, this, [this, path, set](double v) {
        commit(path, QString(), [&](nnlab::ExperimentSpec& s) { set(s, v); });
    });
    addRow(label, path, edit, nullptr, tooltip(doc, get),
           [edit, get](const nnlab::ExperimentSpec& s) { edit->setValue(get(s)); });
    return edit;
}

LogNumberEdit* FormBinder::addLogNumber(const QString& label, const std::string& path, const QString& doc,
                                        Get<double> get, Set<double> set)
{
    auto* edit = new LogNumberEdit;
    connect(edit, &LogNumberEdit::valueEdited, this, [this, path, set](double v) {
        commit(path, QString(), [&](nnlab::ExperimentSpec& s) { set(s, v); });
    });
    addRow(label, path, edit, nullptr, tooltip(doc, get),
           [edit, get](const nnlab::ExperimentSpec& s) { edit->setValue(get(s)); });
    return edit;
}

QCheckBox* FormBinder::addBool(const QString& label, const std::string& path, const QString& doc,
                               Get<bool> get, Set<bool> set)
{
    auto* box = new QCheckBox;
    connect(box, &QCheckBox::toggled, this, [this, path, set](bool v) {
        commit(path, QString(), [&](nnlab::ExperimentSpec& s) { set(s, v); }, false);
    });
    addRow(label, path, box, nullptr, tooltip(doc, get), [box, get](const nnlab::ExperimentSpec& s) {
        if (box->isChecked() != get(s))
            box->setChecked(get(s));
    });
    return box;
}

QComboBox* FormBinder::addChoice(const QString& label, const std::string& path, const QStringList& choices,
                                 const QString& doc, Get<std::string> get, Set<std::string> set)
{
    auto* box = new QComboBox;
    box->addItems(choices);
    connect(box, &QComboBox::currentTextChanged, this, [this, path, set](const QString& v) {
        if (!v.isEmpty())
            commit(path, QString(), [&](nnlab::ExperimentSpec& s) { set(s, v.toStdString()); }, false);
    });
    const QString tip = tooltip(doc, get) + QStringLiteral("; one of ") + choices.join(QStringLiteral(", "));
    addRow(label, path, box, nullptr, tip, [box, get](const nnlab::ExperimentSpec& s) {
        box->setCurrentIndex(box->findText(QString::fromStdString(get(s))));
    });
    return box;
}

QLineEdit* FormBinder::addText(const QString& label, const std::string& path, const QString& doc,
                               Get<std::string> get, Set<std::string> set, QWidget* trailing)
{
    auto* edit = new QLineEdit;
    connect(edit, &QLineEdit::textChanged, this, [this, path, set](const QString& v) {
        commit(path, QString(), [&](nnlab::ExperimentSpec& s) { set(s, v.toStdString()); });
    });
    addRow(label, path, edit, trailing, tooltip(doc, get), [edit, get](const nnlab::ExperimentSpec& s) {
        const QString v = QString::fromStdString(get(s));
        if (edit->text() != v)
            edit->setText(v);
    });
    return edit;
}

void FormBinder::setRowVisible(const std::string& path, bool visible)
{
    for (const Row& row : m_rows)
        if (row.path == path)
            m_form->setRowVisible(row.field, visible);
}

QWidget* FormBinder::editor(const std::string& path) const
{
    for (const Row& row : m_rows)
        if (row.path == path)
            return row.editor;
    return nullptr;
}

QLabel* FormBinder::problemLabel(const std::string& path) const
{
    for (const Row& row : m_rows)
        if (row.path == path)
            return row.problem;
    return nullptr;
}

void FormBinder::refresh()
{
    m_refreshing = true;
    const nnlab::ExperimentSpec& spec = m_doc->spec();
    for (const Row& row : m_rows) {
        {
            const QSignalBlocker blocker(row.editor);
            row.show(spec);
        }
        editor::setProblemText(row.problem, editor::problemMessages(editor::fieldProblems(m_doc->problems(), row.path)));
    }
    m_refreshing = false;
}

void FormBinder::commit(const std::string& path, const QString& what,
                        const std::function<void(nnlab::ExperimentSpec&)>& edit, bool merge)
{
    if (m_refreshing)
        return;
    const QString text = what.isEmpty() ? QStringLiteral("Set ") + QString::fromStdString(path) : what;
    m_doc->apply(text, edit, merge ? editor::mergeIdFor(path) : -1);
}
