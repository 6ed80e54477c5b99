// The Monitors panel: the rule list (add, duplicate, remove, each one undo step), the form of
// the selected rule (edits reach spec.monitors and undo; only the fields of its rule and
// actions show), tooltips with defaults, and validation problems under their field.
#include "core/experiment_document.h"
#include "editor/monitors_panel.h"
#include "editor/number_edit.h"

#include "nnlab/monitor_alert.h"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QTest>
#include <QUndoStack>

using nnlab::MonitorAction;
using nnlab::MonitorRule;

class TestEditorMonitors : public QObject {
    Q_OBJECT
private:
    template <class W> static W* field(MonitorsPanel& panel, const QString& name)
    {
        auto* w = panel.findChild<W*>(name);
        if (!w)
            qWarning("no field %s", qPrintable(name));
        return w;
    }
    static bool visible(MonitorsPanel& panel, const char* name)
    {
        QWidget* w = panel.findChild<QWidget*>(QString::fromLatin1(name));
        return w && w->isVisibleTo(&panel);
    }

private slots:
    void listsTheDefaultRule()
    {
        ExperimentDocument doc;
        MonitorsPanel panel(&doc);
        QCOMPARE(panel.ruleList()->count(), 1);
        QCOMPARE(panel.ruleList()->item(0)->text(), QStringLiteral("train/loss not_finite → stop"));
        QCOMPARE(panel.currentRule(), 0);
        QCOMPARE(field<QComboBox>(panel, "monitors[0].rule")->currentText(), QStringLiteral("not_finite"));
        QCOMPARE(field<QComboBox>(panel, "monitors[0].metric")->currentText(), QStringLiteral("train/loss"));
    }

    void everyFieldHasATooltipWithItsDefault()
    {
        ExperimentDocument doc;
        MonitorsPanel panel(&doc);
        int fields = 0;
        for (QWidget* w : panel.findChildren<QWidget*>()) {
            const QString name = w->objectName();
            if (!name.startsWith(QLatin1String("monitors[0].")) || name.endsWith(QLatin1String(".problem")))
                continue;
            ++fields;
            QVERIFY2(w->toolTip().contains(QStringLiteral("(default ")), qPrintable(name + ": " + w->toolTip()));
        }
        QCOMPARE(fields, 11);   // name, metric, rule, value, coefficient, window, min_delta, patience, actions, lr_factor, max_rollbacks
        QVERIFY(field<QWidget>(panel, "monitors[0].patience")->toolTip().contains(QStringLiteral("(default 5)")));
    }

    void fieldsFollowTheRuleAndActions()
    {
        ExperimentDocument doc;
        MonitorsPanel panel(&doc);
        // not_finite reads no threshold.
        for (const char* name : {"monitors[0].value", "monitors[0].coefficient", "monitors[0].window",
                                 "monitors[0].min_delta", "monitors[0].patience", "monitors[0].lr_factor",
                                 "monitors[0].max_rollbacks"})
            QVERIFY2(!visible(panel, name), name);
        QVERIFY(visible(panel, "monitors[0].metric"));
        QVERIFY(visible(panel, "monitors[0].actions"));

        auto* rule = field<QComboBox>(panel, "monitors[0].rule");
        rule->setCurrentText(QStringLiteral("plateau"));
        QCOMPARE(doc.spec().monitors[0].rule, MonitorRule::Plateau);
        QVERIFY(visible(panel, "monitors[0].patience"));
        QVERIFY(visible(panel, "monitors[0].min_delta"));
        QVERIFY(!visible(panel, "monitors[0].value"));
        rule->setCurrentText(QStringLiteral("spike"));
        QVERIFY(visible(panel, "monitors[0].coefficient"));
        QVERIFY(visible(panel, "monitors[0].window"));
        QVERIFY(!visible(panel, "monitors[0].patience"));
        rule->setCurrentText(QStringLiteral("below"));
        QVERIFY(visible(panel, "monitors[0].value"));
        QVERIFY(!visible(panel, "monitors[0].coefficient"));

        // Actions: rollback brings lr_factor and max_rollbacks, multiply_lr only lr_factor.
        auto* actions = field<QListWidget>(panel, "monitors[0].actions");
        QCOMPARE(actions->count(), 6);
        QCOMPARE(actions->item(2)->text(), QStringLiteral("stop"));
        QCOMPARE(actions->item(2)->checkState(), Qt::Checked);
        actions->item(2)->setCheckState(Qt::Unchecked);                        // stop off
        actions->item(4)->setCheckState(Qt::Checked);                          // rollback on
        QCOMPARE(doc.spec().monitors[0].actions, std::vector<MonitorAction>{MonitorAction::Rollback});
        QVERIFY(visible(panel, "monitors[0].lr_factor"));
        QVERIFY(visible(panel, "monitors[0].max_rollbacks"));
        actions->item(4)->setCheckState(Qt::Unchecked);
        actions->item(5)->setCheckState(Qt::Checked);                          // multiply_lr
        QVERIFY(visible(panel, "monitors[0].lr_factor"));
        QVERIFY(!visible(panel, "monitors[0].max_rollbacks"));
        QCOMPARE(panel.ruleList()->item(0)->text(), QStringLiteral("train/loss below → multiply_lr"));

        // Undo walks back through each edit, the form following.
        doc.undoStack()->undo();
        doc.undoStack()->undo();
        QCOMPARE(doc.spec().monitors[0].actions, std::vector<MonitorAction>{MonitorAction::Rollback});
        QCOMPARE(actions->item(4)->checkState(), Qt::Checked);
        QVERIFY(visible(panel, "monitors[0].max_rollbacks"));
    }

    void editsUndoAsOneStepPerField()
    {
        ExperimentDocument doc;
        MonitorsPanel panel(&doc);
        field<QComboBox>(panel, "monitors[0].rule")->setCurrentText(QStringLiteral("plateau"));
        const int steps = doc.undoStack()->count();

        auto* patience = field<QSpinBox>(panel, "monitors[0].patience");
        QCOMPARE(patience->value(), 5);
        patience->setValue(6);
        patience->setValue(7);
        QCOMPARE(doc.spec().monitors[0].patience, 7);
        QCOMPARE(doc.undoStack()->count(), steps + 1);

        auto* metric = field<QComboBox>(panel, "monitors[0].metric");
        QVERIFY(metric->isEditable());
        metric->lineEdit()->selectAll();
        QTest::keyClicks(metric->lineEdit(), QStringLiteral("val/loss"));
        QCOMPARE(doc.spec().monitors[0].metric, std::string("val/loss"));
        QCOMPARE(doc.undoStack()->count(), steps + 2);   // typing merges into one step

        auto* name = field<QLineEdit>(panel, "monitors[0].name");
        QTest::keyClicks(name, QStringLiteral("early"));
        QCOMPARE(doc.spec().monitors[0].name, std::string("early"));
        QCOMPARE(panel.ruleList()->item(0)->text(), QStringLiteral("early: val/loss plateau → stop"));

        doc.undoStack()->undo();
        doc.undoStack()->undo();
        QCOMPARE(doc.spec().monitors[0].metric, std::string("train/loss"));
        QCOMPARE(metric->currentText(), QStringLiteral("train/loss"));
        doc.undoStack()->undo();
        QCOMPARE(doc.spec().monitors[0].patience, 5);
        QCOMPARE(patience->value(), 5);
    }

    void addDuplicateRemoveAndUndo()
    {
        ExperimentDocument doc;
        MonitorsPanel panel(&doc);
        const int steps = doc.undoStack()->count();
        panel.findChild<QPushButton*>(QStringLiteral("addMonitor"))->click();
        QCOMPARE(doc.spec().monitors.size(), size_t(2));
        QCOMPARE(panel.currentRule(), 1);
        QCOMPARE(panel.ruleList()->item(1)->text(), QStringLiteral("val/loss plateau → annotate"));
        // The form now edits the new rule, under its own paths.
        auto* patience = field<QSpinBox>(panel, "monitors[1].patience");
        QVERIFY(patience);
        QVERIFY(!panel.findChild<QWidget*>(QStringLiteral("monitors[0].patience")));
        patience->setValue(3);
        QCOMPARE(doc.spec().monitors[1].patience, 3);

        panel.findChild<QPushButton*>(QStringLiteral("duplicateMonitor"))->click();
        QCOMPARE(doc.spec().monitors.size(), size_t(3));
        QCOMPARE(doc.spec().monitors[2], doc.spec().monitors[1]);
        QCOMPARE(panel.currentRule(), 2);

        panel.selectRule(0);
        panel.findChild<QPushButton*>(QStringLiteral("removeMonitor"))->click();
        QCOMPARE(doc.spec().monitors.size(), size_t(2));
        QCOMPARE(doc.spec().monitors[0].rule, MonitorRule::Plateau);
        QCOMPARE(doc.undoStack()->count(), steps + 4);

        doc.undoStack()->setIndex(steps);
        QCOMPARE(doc.spec().monitors, nnlab::defaultMonitors());
        QCOMPARE(panel.ruleList()->count(), 1);
        QCOMPARE(panel.currentRule(), 0);
        QVERIFY(field<QComboBox>(panel, "monitors[0].rule"));

        // No rules at all: an empty form, and nothing to duplicate or remove.
        panel.findChild<QPushButton*>(QStringLiteral("removeMonitor"))->click();
        QVERIFY(doc.spec().monitors.empty());
        QCOMPARE(panel.currentRule(), -1);
        QVERIFY(!panel.findChild<QPushButton*>(QStringLiteral("removeMonitor"))->isEnabled());
        QVERIFY(!panel.findChild<QWidget*>(QStringLiteral("monitors[0].rule")));
    }

    void problemsShowUnderTheirField_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("message");
        QTest::newRow("patience") << "monitors[1].patience" << "must be >= 1, got 0";
        QTest::newRow("coefficient") << "monitors[1].coefficient" << "must be > 0";
        QTest::newRow("metric") << "monitors[1].metric" << "unknown metric";
        QTest::newRow("actions") << "monitors[1].actions" << "at least one action";
    }

    void problemsShowUnderTheirField()
    {
        QFETCH(QString, field);
        QFETCH(QString, message);
        ExperimentDocument doc;
        MonitorsPanel panel(&doc);
        panel.addRule();
        QVERIFY2(doc.problemsAt("monitors").empty(), doc.problemsAt("monitors").empty() ? "" : doc.problemsAt("monitors")[0].message.c_str());
        if (field.endsWith(QLatin1String("patience"))) {
            panel.findChild<QSpinBox*>(field)->setValue(0);
        } else if (field.endsWith(QLatin1String("coefficient"))) {
            panel.findChild<QComboBox*>(QStringLiteral("monitors[1].rule"))->setCurrentText(QStringLiteral("above_min"));
            auto* edit = panel.findChild<NumberEdit*>(field);
            edit->selectAll();
            QTest::keyClicks(edit, QStringLiteral("-2"));
            QTest::keyClick(edit, Qt::Key_Return);
        } else if (field.endsWith(QLatin1String("metric"))) {
            auto* metric = panel.findChild<QComboBox*>(field);
            metric->lineEdit()->selectAll();
            QTest::keyClicks(metric->lineEdit(), QStringLiteral("gradnorm"));
        } else {
            panel.findChild<QListWidget*>(field)->item(0)->setCheckState(Qt::Unchecked);
        }
        auto* problem = panel.findChild<QLabel*>(field + QStringLiteral(".problem"));
        QVERIFY(problem);
        QVERIFY2(problem->text().contains(message), qPrintable(problem->text()));
        QVERIFY(problem->isVisibleTo(&panel));
        QCOMPARE(panel.ruleList()->item(1)->foreground().color(), QColor(0xb0, 0x00, 0x20));
        QVERIFY(panel.ruleList()->item(1)->toolTip().contains(message));
    }
};

QTEST_MAIN(TestEditorMonitors)
#include "test_editor_monitors.moc"
