#include "monitors_panel.h"

#include "editor_util.h"
#include "form_binder.h"

#include "nnlab/monitor_alert.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>

namespace {

using S = nnlab::ExperimentSpec;
using nnlab::MonitorAction;
using nnlab::MonitorRule;
using nnlab::MonitorSpec;

const MonitorRule kRules[] = {MonitorRule::NotFinite,       MonitorRule::Above,   MonitorRule::Below,
                              MonitorRule::AboveRunningMin, MonitorRule::BelowRunningMax, MonitorRule::Spike,
                              MonitorRule::Plateau,         MonitorRule::SlowThroughput};
const MonitorAction kActions[] = {MonitorAction::Annotate, MonitorAction::Notify,   MonitorAction::Stop,
                                  MonitorAction::StopKeepBest, MonitorAction::Rollback, MonitorAction::MultiplyLr};

QString actionDoc(MonitorAction action)
{
    switch (action) {
    case MonitorAction::Annotate: return MonitorsPanel::tr("A marker on the charts and a line in the Alerts dock only");
    case MonitorAction::Notify: return MonitorsPanel::tr("Also a desktop notification");
    case MonitorAction::Stop: return MonitorsPanel::tr("End the run early (as failed for not_finite)");
    case MonitorAction::StopKeepBest: return MonitorsPanel::tr("End the run and restore the best checkpoint's weights");
    case MonitorAction::Rollback:
        return MonitorsPanel::tr("Back to the last checkpoint with the learning rate × lr_factor, at most max_rollbacks "
                                 "times (then stop)");
    case MonitorAction::MultiplyLr: return MonitorsPanel::tr("Learning rate × lr_factor (reduce on plateau)");
    }
    return {};
}

QString withDefault(const QString& doc, const QString& value) { return editor::tooltipWithDefault(doc, value); }

// The rule at `i` of the spec, or the defaults (tooltips read a default-constructed spec).
const MonitorSpec& ruleAt(const S& s, size_t i)
{
    static const MonitorSpec defaults;
    return i < s.monitors.size() ? s.monitors[i] : defaults;
}

} // namespace

MonitorsPanel::MonitorsPanel(ExperimentDocument* doc, QWidget* parent) : QWidget(parent), m_doc(doc)
{
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("monitorList"));
    m_list->setToolTip(tr("The rules that watch a run's metrics and act when one crosses its threshold; "
                          "a run without rules gets none"));
    m_add = new QPushButton(tr("Add"), this);
    m_add->setObjectName(QStringLiteral("addMonitor"));
    m_add->setToolTip(tr("Add a rule: val/loss plateau → annotate"));
    m_duplicate = new QPushButton(tr("Duplicate"), this);
    m_duplicate->setObjectName(QStringLiteral("duplicateMonitor"));
    m_duplicate->setToolTip(tr("Add a copy of the selected rule after it"));
    m_remove = new QPushButton(tr("Remove"), this);
    m_remove->setObjectName(QStringLiteral("removeMonitor"));
    m_remove->setToolTip(tr("Remove the selected rule"));
    connect(m_add, &QPushButton::clicked, this, &MonitorsPanel::addRule);
    connect(m_duplicate, &QPushButton::clicked, this, &MonitorsPanel::duplicateRule);
    connect(m_remove, &QPushButton::clicked, this, &MonitorsPanel::removeRule);
    connect(m_list, &QListWidget::currentRowChanged, this, [this] {
        if (!m_refreshing)
            rebuildForm();
    });

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_add);
    buttons->addWidget(m_duplicate);
    buttons->addWidget(m_remove);
    buttons->addStretch(1);

    auto* top = new QWidget(this);
    auto* topColumn = new QVBoxLayout(top);
    topColumn->setContentsMargins(0, 0, 0, 0);
    topColumn->addWidget(m_list, 1);
    topColumn->addLayout(buttons);

    m_formHost = new QWidget(this);
    auto* hostColumn = new QVBoxLayout(m_formHost);
    hostColumn->setContentsMargins(0, 0, 0, 0);
    m_noRule = new QLabel(tr("No rule selected. With no rules, nothing watches the run, not even for a "
                             "non-finite loss."), m_formHost);
    m_noRule->setWordWrap(true);
    hostColumn->addWidget(m_noRule);
    hostColumn->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(m_formHost);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(top);
    splitter->addWidget(scroll);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 3);
    splitter->setSizes({130, 400});   // a few rules, and room for the form below
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(splitter);

    connect(m_doc, &ExperimentDocument::specChanged, this, &MonitorsPanel::refresh);
    refresh();
    if (m_list->count() > 0)
        selectRule(0);
}

QStringList MonitorsPanel::knownMetrics()
{
    return {QStringLiteral("train/loss"), QStringLiteral("train/accuracy"), QStringLiteral("val/loss"),
            QStringLiteral("val/accuracy"), QStringLiteral("lr"),             QStringLiteral("grad_norm"),
            QStringLiteral("samples_per_sec"), QStringLiteral("step_time")};
}

QStringList MonitorsPanel::fieldsOf(MonitorRule rule)
{
    switch (rule) {
    case MonitorRule::NotFinite: return {};
    case MonitorRule::Above:
    case MonitorRule::Below: return {QStringLiteral("value")};
    case MonitorRule::AboveRunningMin:
    case MonitorRule::BelowRunningMax: return {QStringLiteral("coefficient")};
    case MonitorRule::Spike:
    case MonitorRule::SlowThroughput: return {QStringLiteral("coefficient"), QStringLiteral("window")};
    case MonitorRule::Plateau: return {QStringLiteral("min_delta"), QStringLiteral("patience")};
    }
    return {};
}

QString MonitorsPanel::ruleSummary(const MonitorSpec& m)
{
    QStringList actions;
    for (MonitorAction a : m.actions)
        actions << QString::fromLatin1(nnlab::toString(a));
    QString text = QStringLiteral("%1 %2 → %3")
                       .arg(QString::fromStdString(m.metric), QString::fromLatin1(nnlab::toString(m.rule)),
                            actions.isEmpty() ? tr("(no action)") : actions.join(QStringLiteral(", ")));
    return m.name.empty() ? text : QString::fromStdString(m.name) + QStringLiteral(": ") + text;
}

int MonitorsPanel::currentRule() const { return m_list->currentRow(); }

void MonitorsPanel::selectRule(int index) { m_list->setCurrentRow(index); }

std::string MonitorsPanel::path(const char* field) const
{
    return "monitors[" + std::to_string(m_formIndex) + "]" + (field[0] ? "." : "") + field;
}

// ---- list edits ----

void MonitorsPanel::addRule()
{
    MonitorSpec rule;
    rule.metric = "val/loss";
    rule.rule = MonitorRule::Plateau;
    rule.actions = {MonitorAction::Annotate};
    m_doc->apply(tr("Add monitor rule"), [&](S& s) { s.monitors.push_back(rule); });
    selectRule(static_cast<int>(m_doc->spec().monitors.size()) - 1);
}

void MonitorsPanel::duplicateRule()
{
    const int i = currentRule();
    if (i < 0 || i >= static_cast<int>(m_doc->spec().monitors.size()))
        return;
    m_doc->apply(tr("Duplicate monitor rule"), [i](S& s) {
        MonitorSpec copy = s.monitors[static_cast<size_t>(i)];
        if (!copy.name.empty())
            copy.name += "_copy";   // alerts name their rule: keep names apart
        s.monitors.insert(s.monitors.begin() + i + 1, copy);
    });
    selectRule(i + 1);
}

void MonitorsPanel::removeRule()
{
    const int i = currentRule();
    if (i < 0 || i >= static_cast<int>(m_doc->spec().monitors.size()))
        return;
    m_doc->apply(tr("Remove monitor rule"), [i](S& s) { s.monitors.erase(s.monitors.begin() + i); });
    selectRule(std::min(i, static_cast<int>(m_doc->spec().monitors.size()) - 1));
}

// ---- the list and the form follow the document ----

void MonitorsPanel::refresh()
{
    const auto& rules = m_doc->spec().monitors;
    const int count = static_cast<int>(rules.size());
    {
        m_refreshing = true;
        const QSignalBlocker blocker(m_list);
        const int current = m_list->currentRow();
        while (m_list->count() > count)
            delete m_list->takeItem(m_list->count() - 1);
        while (m_list->count() < count)
            m_list->addItem(QString());
        for (int i = 0; i < count; ++i) {
            QListWidgetItem* item = m_list->item(i);
            item->setText(ruleSummary(rules[static_cast<size_t>(i)]));
            const nnlab::Problems problems = m_doc->problemsAt("monitors[" + std::to_string(i) + "]");
            item->setForeground(problems.empty() ? palette().color(QPalette::Text) : QColor(0xb0, 0x00, 0x20));
            item->setToolTip(problems.empty() ? QString() : editor::problemMessages(problems));
        }
        m_list->setCurrentRow(std::min(current, count - 1));
        m_refreshing = false;
    }
    m_duplicate->setEnabled(m_list->currentRow() >= 0);
    m_remove->setEnabled(m_list->currentRow() >= 0);
    if (m_formIndex != m_list->currentRow() || m_formIndex >= count || !m_form)
        rebuildForm();
    else {
        m_binder->refresh();
        refreshCustomFields();
        updateVisibility();
    }
}

void MonitorsPanel::rebuildForm()
{
    delete m_form;
    m_form = nullptr;
    delete m_binder;
    m_binder = nullptr;
    m_metric = nullptr;
    m_actions = nullptr;
    m_formIndex = m_list->currentRow();
    const bool any = m_formIndex >= 0 && m_formIndex < static_cast<int>(m_doc->spec().monitors.size());
    m_noRule->setVisible(!any);
    m_duplicate->setEnabled(any);
    m_remove->setEnabled(any);
    if (!any) {
        m_formIndex = -1;
        return;
    }

    m_form = new QWidget(m_formHost);
    auto* form = new QFormLayout(m_form);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setContentsMargins(0, 0, 0, 0);
    m_binder = new FormBinder(m_doc, form, this);
    m_binder->setAppendDefaults(false);   // the defaults are a MonitorSpec's, named in each doc
    const MonitorSpec defaults;
    const size_t i = static_cast<size_t>(m_formIndex);

    m_binder->addText(tr("Name"), path("name"),
                      withDefault(tr("Shown in alerts; empty = \"<metric> <rule>\""), tr("empty")),
                      [i](const S& s) { return ruleAt(s, i).name; },
                      [i](S& s, std::string v) { s.monitors[i].name = v; });

    // The metric: a known tag from the list, or any other recorded tag typed in.
    m_metric = new QComboBox(m_form);
    m_metric->setEditable(true);
    m_metric->setInsertPolicy(QComboBox::NoInsert);
    m_metric->addItems(knownMetrics());
    m_metric->setObjectName(QString::fromStdString(path("metric")));
    const QString metricTip = withDefault(tr("The recorded tag the rule watches; train/* at each logging window, "
                                             "val/* after each evaluation"),
                                          QString::fromStdString(defaults.metric));
    m_metric->setToolTip(metricTip);
    m_metricProblem = editor::makeProblemLabel(m_form);
    m_metricProblem->setObjectName(QString::fromStdString(path("metric")) + QStringLiteral(".problem"));
    auto* metricField = new QWidget(m_form);
    auto* metricColumn = new QVBoxLayout(metricField);
    metricColumn->setContentsMargins(0, 0, 0, 0);
    metricColumn->setSpacing(2);
    metricColumn->addWidget(m_metric);
    metricColumn->addWidget(m_metricProblem);
    auto* metricLabel = new QLabel(tr("Metric"), m_form);
    metricLabel->setToolTip(metricTip);
    metricLabel->setBuddy(m_metric);
    form->addRow(metricLabel, metricField);
    connect(m_metric, &QComboBox::currentTextChanged, this, [this, i](const QString& v) {
        if (!m_refreshing && m_binder)
            m_binder->commit(path("metric"), QString(), [&](S& s) { s.monitors[i].metric = v.toStdString(); });
    });

    QStringList ruleNames;
    for (MonitorRule r : kRules)
        ruleNames << QString::fromLatin1(nnlab::toString(r));
    m_binder->addChoice(tr("Rule"), path("rule"), ruleNames,
                        withDefault(tr("not_finite: NaN or infinite; above / below: past a fixed value; above_min / "
                                       "below_max: past coefficient × the running min / max; spike: above coefficient × "
                                       "the moving average; plateau: no improvement for patience evaluations; "
                                       "slow_throughput: below coefficient × the moving median"),
                                    QString::fromLatin1(nnlab::toString(defaults.rule))),
                        [i](const S& s) { return std::string(nnlab::toString(ruleAt(s, i).rule)); },
                        [i](S& s, std::string v) {
                            if (auto r = nnlab::monitorRuleFromString(v))
                                s.monitors[i].rule = *r;
                        });
    m_binder->addNumber(tr("Value"), path("value"),
                        withDefault(tr("above, below: the fixed threshold"), editor::formatNumber(defaults.value)),
                        [i](const S& s) { return ruleAt(s, i).value; },
                        [i](S& s, double v) { s.monitors[i].value = v; });
    m_binder->addNumber(tr("Coefficient"), path("coefficient"),
                        withDefault(tr("Threshold = coefficient × the running min / max, moving average or median; > 0"),
                                    editor::formatNumber(defaults.coefficient)),
                        [i](const S& s) { return ruleAt(s, i).coefficient; },
                        [i](S& s, double v) { s.monitors[i].coefficient = v; });
    m_binder->addInt(tr("Window"), path("window"), 0, 1000000,
                     withDefault(tr("spike, slow_throughput: values in the moving average / median, >= 1"),
                                 QString::number(defaults.window)),
                     [i](const S& s) { return ruleAt(s, i).window; },
                     [i](S& s, int64_t v) { s.monitors[i].window = v; });
    m_binder->addNumber(tr("Min delta"), path("min_delta"),
                        withDefault(tr("plateau: a smaller improvement does not count, >= 0"),
                                    editor::formatNumber(defaults.minDelta)),
                        [i](const S& s) { return ruleAt(s, i).minDelta; },
                        [i](S& s, double v) { s.monitors[i].minDelta = v; });
    m_binder->addInt(tr("Patience"), path("patience"), 0, 1000000,
                     withDefault(tr("plateau: evaluations (points of the metric) without improvement, >= 1"),
                                 QString::number(defaults.patience)),
                     [i](const S& s) { return ruleAt(s, i).patience; },
                     [i](S& s, int64_t v) { s.monitors[i].patience = v; });

    // Actions: a checkable list, at least one.
    m_actions = new QListWidget(m_form);
    m_actions->setObjectName(QString::fromStdString(path("actions")));
    for (MonitorAction a : kActions) {
        auto* item = new QListWidgetItem(QString::fromLatin1(nnlab::toString(a)), m_actions);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        item->setCheckState(Qt::Unchecked);
        item->setToolTip(actionDoc(a));
    }
    m_actions->setFixedHeight(m_actions->sizeHintForRow(0) * m_actions->count() + 2 * m_actions->frameWidth() + 2);
    const QString actionsTip = withDefault(tr("What the rule does when it fires, one or more"),
                                           QString::fromLatin1(nnlab::toString(defaults.actions.front())));
    m_actions->setToolTip(actionsTip);
    m_actionsProblem = editor::makeProblemLabel(m_form);
    m_actionsProblem->setObjectName(QString::fromStdString(path("actions")) + QStringLiteral(".problem"));
    auto* actionsField = new QWidget(m_form);
    auto* actionsColumn = new QVBoxLayout(actionsField);
    actionsColumn->setContentsMargins(0, 0, 0, 0);
    actionsColumn->setSpacing(2);
    actionsColumn->addWidget(m_actions);
    actionsColumn->addWidget(m_actionsProblem);
    auto* actionsLabel = new QLabel(tr("Actions"), m_form);
    actionsLabel->setToolTip(actionsTip);
    form->addRow(actionsLabel, actionsField);
    connect(m_actions, &QListWidget::itemChanged, this, [this] { commitActions(); });

    m_binder->addNumber(tr("LR factor"), path("lr_factor"),
                        withDefault(tr("rollback, multiply_lr: the learning rate is multiplied by this, > 0"),
                                    editor::formatNumber(defaults.lrFactor)),
                        [i](const S& s) { return ruleAt(s, i).lrFactor; },
                        [i](S& s, double v) { s.monitors[i].lrFactor = v; });
    m_binder->addInt(tr("Max rollbacks"), path("max_rollbacks"), 0, 1000000,
                     withDefault(tr("rollback: at most this many, then the run stops; >= 1"),
                                 QString::number(defaults.maxRollbacks)),
                     [i](const S& s) { return ruleAt(s, i).maxRollbacks; },
                     [i](S& s, int64_t v) { s.monitors[i].maxRollbacks = v; });

    static_cast<QVBoxLayout*>(m_formHost->layout())->insertWidget(0, m_form);
    m_binder->refresh();
    refreshCustomFields();
    updateVisibility();
}

void MonitorsPanel::refreshCustomFields()
{
    if (!m_metric || m_formIndex < 0 || m_formIndex >= static_cast<int>(m_doc->spec().monitors.size()))
        return;
    m_refreshing = true;
    const MonitorSpec& rule = m_doc->spec().monitors[static_cast<size_t>(m_formIndex)];
    {
        const QSignalBlocker blocker(m_metric);
        const QString metric = QString::fromStdString(rule.metric);
        if (m_metric->currentText() != metric)
            m_metric->setCurrentText(metric);
    }
    {
        const QSignalBlocker blocker(m_actions);
        for (int k = 0; k < m_actions->count(); ++k) {
            const bool on = std::find(rule.actions.begin(), rule.actions.end(), kActions[k]) != rule.actions.end();
            m_actions->item(k)->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        }
    }
    const nnlab::Problems& all = m_doc->problems();
    editor::setProblemText(m_metricProblem, editor::problemMessages(editor::fieldProblems(all, path("metric"))));
    editor::setProblemText(m_actionsProblem, editor::problemMessages(editor::fieldProblems(all, path("actions"))));
    m_refreshing = false;
}

void MonitorsPanel::commitActions()
{
    if (m_refreshing || !m_binder)
        return;
    std::vector<MonitorAction> actions;
    for (int k = 0; k < m_actions->count(); ++k)
        if (m_actions->item(k)->checkState() == Qt::Checked)
            actions.push_back(kActions[k]);
    const size_t i = static_cast<size_t>(m_formIndex);
    m_binder->commit(path("actions"), QString(), [&](S& s) { s.monitors[i].actions = actions; }, false);
}

void MonitorsPanel::updateVisibility()
{
    if (!m_binder || m_formIndex < 0 || m_formIndex >= static_cast<int>(m_doc->spec().monitors.size()))
        return;
    const MonitorSpec& rule = m_doc->spec().monitors[static_cast<size_t>(m_formIndex)];
    const QStringList used = fieldsOf(rule.rule);
    for (const char* field : {"value", "coefficient", "window", "min_delta", "patience"})
        m_binder->setRowVisible(path(field), used.contains(QLatin1String(field)));
    auto has = [&](MonitorAction a) { return std::find(rule.actions.begin(), rule.actions.end(), a) != rule.actions.end(); };
    m_binder->setRowVisible(path("lr_factor"), has(MonitorAction::Rollback) || has(MonitorAction::MultiplyLr));
    m_binder->setRowVisible(path("max_rollbacks"), has(MonitorAction::Rollback));
}
