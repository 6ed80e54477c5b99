// The workbench window end to end, offscreen: Train is gated by validation, a real run
// streams into the charts and lands in the runs table and the store, pause/resume/stop
// act within a batch, a stored run's experiment opens exactly as trained, every kind of
// edit undoes and redoes, and every shortcut is unique and listed in Help > Keyboard Shortcuts.
#include "main_window.h"
#include "shortcuts_dialog.h"
#include "training_bar.h"

#include "charts/charts_panel.h"
#include "core/experiment_document.h"
#include "core/training_controller.h"
#include "editor/layer_form.h"
#include "editor/model_editor.h"
#include "editor/number_edit.h"
#include "file_actions.h"
#include "runs/runs_model.h"
#include "runs/runs_panel.h"

#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QUndoStack>
#include <QListWidget>
#include <QtTest>

#include <functional>

namespace {
const QString kSpiral = QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json");

// The model editor's own edits, on the default experiment: [conv2d, relu, maxpool2d,
// residual[conv2d, batchnorm2d, relu], maxpool2d, flatten, linear].
struct EditorEdit {
    QString name;
    std::function<void(ModelEditor&)> run;
};

void trigger(QAction* action)
{
    QVERIFY2(action->isEnabled(), qPrintable(action->text()));
    action->trigger();
}

const std::vector<EditorEdit>& editorEdits()
{
    static const std::vector<EditorEdit> edits{
        {"add layer", [](ModelEditor& e) { e.selectLayer({5}); trigger(e.addLayerAction("dropout")); }},
        {"add layer into a residual", [](ModelEditor& e) { e.selectLayer({3, 1}); trigger(e.addLayerAction("dropout")); }},
        {"remove layer", [](ModelEditor& e) { e.selectLayer({1}); trigger(e.removeAction()); }},
        {"remove a residual block", [](ModelEditor& e) { e.selectLayer({3}); trigger(e.removeAction()); }},
        {"remove several layers", [](ModelEditor& e) { e.selectLayers({{1}, {2}}, {1}); trigger(e.removeAction()); }},
        {"duplicate layer", [](ModelEditor& e) { e.selectLayer({1}); trigger(e.duplicateAction()); }},
        {"duplicate a residual block", [](ModelEditor& e) { e.selectLayer({3}); trigger(e.duplicateAction()); }},
        {"move up", [](ModelEditor& e) { e.selectLayer({2}); trigger(e.moveUpAction()); }},
        {"move down", [](ModelEditor& e) { e.selectLayer({1}); trigger(e.moveDownAction()); }},
        {"move inside a residual", [](ModelEditor& e) { e.selectLayer({3, 2}); trigger(e.moveUpAction()); }},
        {"wrap in residual", [](ModelEditor& e) { e.selectLayers({{1}, {2}}, {1}); trigger(e.wrapInResidualAction()); }},
        {"model input", [](ModelEditor& e) {
             auto* input = e.findChild<QLineEdit*>(QStringLiteral("input"));
             QVERIFY(input);
             input->selectAll();
             QTest::keyClicks(input, QStringLiteral("1, 32, 32"));
         }},
    };
    return edits;
}

// Changes a form field's value as a user would, to a value it did not have.
void nudge(QWidget* widget)
{
    auto typeNumber = [](NumberEdit* edit) {
        const double v = edit->value();
        edit->selectAll();
        QTest::keyClicks(edit, QString::number(v == 0 ? 0.5 : v / 2, 'g', 12));
    };
    if (auto* log = qobject_cast<LogNumberEdit*>(widget))
        typeNumber(log->edit());
    else if (auto* number = qobject_cast<NumberEdit*>(widget))
        typeNumber(number);
    else if (auto* spin = qobject_cast<QSpinBox*>(widget))
        spin->setValue(spin->value() < spin->maximum() ? spin->value() + 1 : spin->value() - 1);
    else if (auto* decimal = qobject_cast<QDoubleSpinBox*>(widget))
        decimal->setValue(decimal->value() + decimal->singleStep() <= decimal->maximum()
                              ? decimal->value() + decimal->singleStep()
                              : decimal->value() - decimal->singleStep());
    else if (auto* check = qobject_cast<QCheckBox*>(widget))
        check->setChecked(!check->isChecked());
    else if (auto* combo = qobject_cast<QComboBox*>(widget))
        combo->setCurrentIndex((combo->currentIndex() + 1) % combo->count());
    else if (auto* line = qobject_cast<QLineEdit*>(widget))
        line->setText(line->text().isEmpty() ? QStringLiteral("edited") : line->text() + QLatin1Char('2'));
    else if (auto* list = qobject_cast<QListWidget*>(widget); list && list->count() > 0) {   // a checkable list
        QListWidgetItem* item = list->item(0);
        item->setCheckState(item->checkState() == Qt::Checked ? Qt::Unchecked : Qt::Checked);
    }
    else
        QFAIL(qPrintable(QStringLiteral("no way to edit %1 (%2)").arg(widget->objectName(), widget->metaObject()->className())));
}

// The form fields under `root`: each has a problem label named after its JSON path.
QStringList fieldPaths(const QWidget* root)
{
    QStringList paths;
    for (const QLabel* label : root->findChildren<QLabel*>()) {
        if (label->objectName().endsWith(QLatin1String(".problem")))
            paths << label->objectName().chopped(int(strlen(".problem")));
    }
    return paths;
}

void collectLayerPaths(const std::vector<nnlab::LayerSpec>& layers, const LayerPath& prefix, QList<LayerPath>& out)
{
    for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
        const LayerPath path = prefix + LayerPath{i};
        out << path;
        collectLayerPaths(layers[static_cast<size_t>(i)].layers, path, out);
    }
}

// Every action of the window, its docks and their widgets, found without the dialog's help.
QSet<QAction*> allActions(const QMainWindow& window)
{
    QSet<QAction*> actions;
    for (QAction* a : window.findChildren<QAction*>())
        actions << a;
    for (const QWidget* w : window.findChildren<QWidget*>())
        for (QAction* a : w->actions())
            actions << a;
    for (QAction* a : window.actions())
        actions << a;
    return actions;
}
} // namespace

class TestWorkbench : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString db() const { return m_dir.filePath("runs.db"); }

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);   // QSettings away from the user's
        QCoreApplication::setOrganizationName("nnlab-tests");
        QCoreApplication::setApplicationName("test_workbench");
    }

    void opensOnTheDefaultExperiment()
    {
        MainWindow window(db());
        QCOMPARE(window.document()->spec(), nnlab::defaultExperiment());
        QVERIFY(window.trainingBar()->trainAction()->isEnabled());
        QVERIFY(!window.trainingBar()->pauseAction()->isEnabled());
        QCOMPARE(window.databasePath(), db());
    }

    void invalidOptionDisablesTrainWithItsMessage()
    {
        MainWindow window(db());
        window.document()->apply("kernel", [](nnlab::ExperimentSpec& s) { s.model.layers[0].options["kernel_size"] = 40; });
        QAction* train = window.trainingBar()->trainAction();
        QVERIFY(!train->isEnabled());
        QVERIFY2(train->toolTip().contains("model.layers[0].kernel_size"), qPrintable(train->toolTip()));
        QVERIFY(window.trainingBar()->blockedReason().contains("does not fit"));
        window.document()->undoStack()->undo();
        QVERIFY(train->isEnabled());
        QVERIFY(window.trainingBar()->blockedReason().isEmpty());
    }

    void trainsSpiralIntoChartsRunsAndStore()
    {
        MainWindow window(db());
        window.show();
        QVERIFY(window.fileActions()->open(kSpiral));
        window.document()->apply("epochs", [](nnlab::ExperimentSpec& s) { s.training.epochs = 8; });
        QSignalSpy finished(window.controller(), &TrainingController::runFinished);
        window.trainingBar()->trainAction()->trigger();
        QVERIFY(!window.trainingBar()->trainAction()->isEnabled());   // one run at a time
        QVERIFY(finished.wait(60000));
        const QString runId = finished.at(0).at(0).toString();
        QCOMPARE(finished.at(0).at(1).value<nnlab::TrainStatus>(), nnlab::TrainStatus::Finished);
        QVERIFY(!runId.isEmpty());

        // The charts received the streamed points; the table shows the finished run.
        window.charts()->replotNow();
        QVERIFY(window.charts()->graphPointCount(ChartsPanel::LossChart, runId, "train/loss") > 20);
        QVERIFY(window.charts()->graphPointCount(ChartsPanel::AccuracyChart, runId, "val/accuracy") == 8);
        const int row = window.runs()->model()->rowOf(runId);
        QVERIFY(row >= 0);
        QCOMPARE(window.runs()->model()->runAt(row)->status, nnlab::RunStatus::Finished);

        // The store has the experiment exactly as trained.
        nnlab::StoreOptions options;
        options.readOnly = true;
        auto store = nnlab::RunStore::open(db().toStdString(), options);
        QVERIFY(store.ok());
        auto run = store.value->getRun(runId.toStdString());
        QVERIFY(run.ok());
        const nnlab::ParseResult stored = nnlab::parseExperiment(run.value.experimentJson);
        QVERIFY(stored.ok());
        QVERIFY(stored.spec == window.document()->spec());

        // Opening the stored experiment gives exactly what was trained.
        const nnlab::ExperimentSpec trained = window.document()->spec();
        window.document()->reset(nnlab::defaultExperiment());
        emit window.runs()->openExperimentRequested(runId, QString::fromStdString(run.value.experimentJson));
        QCOMPARE(window.document()->spec(), trained);
    }

    void pauseResumeStop()
    {
        MainWindow window(db());
        window.show();
        QVERIFY(window.fileActions()->open(kSpiral));
        window.document()->apply("long", [](nnlab::ExperimentSpec& s) { s.training.epochs = 100000; });
        QSignalSpy progress(window.controller(), &TrainingController::progressChanged);
        QSignalSpy events(window.controller(), &TrainingController::eventOccurred);
        QSignalSpy finished(window.controller(), &TrainingController::runFinished);
        window.trainingBar()->trainAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 3, 30000);

        window.trainingBar()->pauseAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(window.controller()->isPaused(), 2000);
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(events.begin(), events.end(), [](const QList<QVariant>& e) {
                                     return e.at(1).value<nnlab::EventKind>() == nnlab::EventKind::Paused;
                                 }), 5000);
        QCOMPARE(window.trainingBar()->pauseAction()->text(), QString("&Resume"));
        const int seen = progress.count();
        QTest::qWait(400);
        QCOMPARE(progress.count(), seen);   // no progress while paused

        window.trainingBar()->pauseAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > seen + 2, 10000);
        window.trainingBar()->stopAction()->trigger();
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.at(0).at(1).value<nnlab::TrainStatus>(), nnlab::TrainStatus::Cancelled);
        QTRY_VERIFY(window.trainingBar()->trainAction()->isEnabled());
    }

    // One row per edit the window offers: the model editor's actions, and every form field of
    // the Data and Hyperparameters docks and of each layer's form, found by their widgets (a
    // field added later gets its row without touching this test).
    void undoRedoEveryEdit_data()
    {
        QTest::addColumn<QString>("edit");       // a row of editorEdits(), or empty
        QTest::addColumn<LayerPath>("layer");    // the layer whose form holds `field`, or empty
        QTest::addColumn<QString>("field");      // a form field's JSON path, or a layer form's key
        for (const EditorEdit& e : editorEdits())
            QTest::newRow(qPrintable(e.name)) << e.name << LayerPath{} << QString();

        MainWindow window(db());
        ModelEditor* editor = window.modelEditor();
        int panelFields = 0;
        for (const QString& path : fieldPaths(&window)) {
            if (editor->isAncestorOf(window.findChild<QLabel*>(path + QStringLiteral(".problem"))))
                continue;   // the layer form's, listed per layer below
            QTest::newRow(qPrintable(QStringLiteral("field ") + path)) << QString() << LayerPath{} << path;
            ++panelFields;
        }
        QVERIFY(panelFields >= 25);   // data, optimizer, schedule and training settings

        QList<LayerPath> layers;
        collectLayerPaths(window.document()->spec().model.layers, {}, layers);
        for (const LayerPath& layer : layers) {
            editor->selectLayer(layer);
            for (const QString& path : fieldPaths(editor->form()))
                QTest::newRow(qPrintable(QStringLiteral("layer ") + path))
                    << QString() << layer << path.section(QLatin1Char('.'), -1);
        }
    }

    void undoRedoEveryEdit()
    {
        QFETCH(QString, edit);
        QFETCH(LayerPath, layer);
        QFETCH(QString, field);
        MainWindow window(db());
        ExperimentDocument* doc = window.document();
        const nnlab::ExperimentSpec before = doc->spec();
        const int steps = doc->undoStack()->count();

        if (!edit.isEmpty()) {
            const auto& edits = editorEdits();
            const auto it = std::find_if(edits.begin(), edits.end(), [&](const EditorEdit& e) { return e.name == edit; });
            QVERIFY(it != edits.end());
            it->run(*window.modelEditor());
        } else {
            QWidget* root = &window;
            if (!layer.isEmpty()) {
                window.modelEditor()->selectLayer(layer);
                root = window.modelEditor()->form();
            }
            QWidget* widget = root->findChild<QWidget*>(field);
            QVERIFY2(widget, qPrintable(field));
            nudge(widget);
        }
        if (QTest::currentTestFailed())
            return;

        const nnlab::ExperimentSpec after = doc->spec();
        QVERIFY2(after != before, "the edit changed nothing");
        QCOMPARE(doc->undoStack()->count(), steps + 1);   // one edit, one undo step
        QVERIFY(window.isWindowModified());
        doc->undoStack()->undo();
        QVERIFY2(doc->spec() == before, nnlab::experimentToJson(doc->spec()).c_str());
        QVERIFY(!window.isWindowModified());
        doc->undoStack()->redo();
        QVERIFY2(doc->spec() == after, nnlab::experimentToJson(doc->spec()).c_str());
    }

    // No key sequence starts two actions, and Help > Keyboard Shortcuts lists every action
    // that has one, with its keys, under its menu or dock.
    void shortcutsAreUniqueAndListed()
    {
        MainWindow window(db());
        const QSet<QAction*> actions = allActions(window);
        QMap<QKeySequence, QAction*> owner;
        for (QAction* action : actions) {
            for (const QKeySequence& key : action->shortcuts()) {
                if (QAction* other = owner.value(key))
                    QFAIL(qPrintable(QStringLiteral("%1 starts both \"%2\" and \"%3\"")
                                         .arg(key.toString(), other->text(), action->text())));
                owner.insert(key, action);
            }
        }
        QCOMPARE(owner.value(QKeySequence(QStringLiteral("Ctrl+R"))), window.trainingBar()->trainAction());
        QCOMPARE(owner.value(QKeySequence(QStringLiteral("F5"))), window.trainingBar()->trainAction());
        QCOMPARE(owner.value(QKeySequence(QStringLiteral("Ctrl+G"))), window.modelEditor()->wrapInResidualAction());
        QCOMPARE(owner.value(QKeySequence(QStringLiteral("F1"))), window.shortcutsAction());

        window.show();
        window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&window));
        QTest::keyClick(&window, Qt::Key_F1);   // the key itself, as a user opens it
        ShortcutsDialog* dialog = window.shortcutsDialog();
        QVERIFY(dialog);
        QTRY_VERIFY(dialog->isVisible());
        QMap<QAction*, QTreeWidgetItem*> listed;
        QTreeWidget* tree = dialog->tree();
        for (int g = 0; g < tree->topLevelItemCount(); ++g)
            for (int i = 0; i < tree->topLevelItem(g)->childCount(); ++i) {
                QTreeWidgetItem* item = tree->topLevelItem(g)->child(i);
                auto* action = qobject_cast<QAction*>(item->data(ShortcutsDialog::ActionColumn, Qt::UserRole).value<QObject*>());
                QVERIFY2(action && !listed.contains(action), qPrintable(item->text(ShortcutsDialog::ActionColumn)));
                listed.insert(action, item);
            }
        QVERIFY(owner.size() >= 15);
        for (QAction* action : owner) {
            QVERIFY2(listed.contains(action), qPrintable(action->text() + QStringLiteral(" is not listed")));
            QTreeWidgetItem* item = listed.value(action);
            QCOMPARE(item->text(ShortcutsDialog::ActionColumn), actionName(action));
            for (const QKeySequence& key : action->shortcuts())
                QVERIFY(item->text(ShortcutsDialog::ShortcutColumn).contains(key.toString(QKeySequence::NativeText)));
        }
        QCOMPARE(listed.size(), int(QSet<QAction*>(owner.begin(), owner.end()).size()));
        auto groupOf = [&](QAction* a) { return listed.value(a)->parent()->text(ShortcutsDialog::ActionColumn); };
        QCOMPARE(groupOf(window.trainingBar()->trainAction()), QStringLiteral("Train"));
        QCOMPARE(groupOf(window.shortcutsAction()), QStringLiteral("Help"));
        QCOMPARE(groupOf(window.modelEditor()->wrapInResidualAction()), QStringLiteral("Model dock"));
        QCOMPARE(listed.value(window.modelEditor()->wrapInResidualAction())->text(ShortcutsDialog::ScopeColumn),
                 QStringLiteral("while the layer tree has focus"));
    }

    void saveAndReopen()
    {
        MainWindow window(db());
        const QString path = m_dir.filePath("saved.json");
        window.document()->apply("name", [](nnlab::ExperimentSpec& s) { s.name = "renamed"; });
        QVERIFY(window.fileActions()->saveAs(path));
        QVERIFY(!window.document()->isModified());
        MainWindow other(db());
        QVERIFY(other.fileActions()->open(path));
        QCOMPARE(other.document()->spec(), window.document()->spec());
        QVERIFY(other.fileActions()->recentFiles().contains(QFileInfo(path).absoluteFilePath()));
    }
};

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
