// The monitor rules of the experiment (spec.monitors): a list of rules, each shown as
// "train/loss not_finite → stop", with add, duplicate and remove, and a form for the selected
// rule that shows only the fields its rule and actions use. Every change is one undoable
// ExperimentDocument::apply; fields are named by their JSON path ("monitors[1].patience"), so
// validation problems show under them.
#pragma once

#include "core/experiment_document.h"

#include <QWidget>

class FormBinder;
class QComboBox;
class QFormLayout;
class QLabel;
class QListWidget;
class QPushButton;

class MonitorsPanel : public QWidget {
    Q_OBJECT
public:
    explicit MonitorsPanel(ExperimentDocument* doc, QWidget* parent = nullptr);

    QListWidget* ruleList() const { return m_list; }
    int currentRule() const;
    void selectRule(int index);

    // "name: train/loss not_finite → stop": the list's line for a rule.
    static QString ruleSummary(const nnlab::MonitorSpec& monitor);
    // The tags a run records, offered by the metric field (any other tag may be typed).
    static QStringList knownMetrics();

    // The fields a rule reads ("value", "coefficient", "window", "min_delta", "patience").
    static QStringList fieldsOf(nnlab::MonitorRule rule);

public slots:
    void addRule();
    void duplicateRule();
    void removeRule();

private:
    void refresh();
    void rebuildForm();
    void refreshCustomFields();
    void updateVisibility();
    void commitActions();
    std::string path(const char* field) const;

    ExperimentDocument* m_doc;
    QListWidget* m_list = nullptr;
    QPushButton* m_add = nullptr;
    QPushButton* m_duplicate = nullptr;
    QPushButton* m_remove = nullptr;
    QWidget* m_formHost = nullptr;
    QWidget* m_form = nullptr;        // the selected rule's form, rebuilt when the selection moves
    FormBinder* m_binder = nullptr;
    QComboBox* m_metric = nullptr;
    QLabel* m_metricProblem = nullptr;
    QListWidget* m_actions = nullptr;
    QLabel* m_actionsProblem = nullptr;
    QLabel* m_noRule = nullptr;
    int m_formIndex = -1;             // the rule the form edits
    bool m_refreshing = false;
};
