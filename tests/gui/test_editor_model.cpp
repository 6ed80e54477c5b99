// The model editor driven through its own actions and form widgets, checked against the
// document's spec, the tree's columns and the undo stack.
#include "core/experiment_document.h"
#include "editor/layer_form.h"
#include "editor/model_editor.h"
#include "editor/model_edits.h"

#include "nnlab/layer_types.h"

#include <QAction>
#include <QCheckBox>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSpinBox>
#include <QTest>
#include <QTreeWidget>
#include <QUndoStack>

namespace {

nnlab::LayerSpec layer(const std::string& type, std::map<std::string, double> options = {},
                       std::vector<nnlab::LayerSpec> children = {})
{
    nnlab::LayerSpec spec = makeLayer(type);
    for (const auto& [key, value] : options)
        spec.options[key] = value;
    spec.layers = std::move(children);
    return spec;
}

nnlab::ExperimentSpec withLayers(std::vector<nnlab::LayerSpec> layers)
{
    nnlab::ExperimentSpec spec = nnlab::defaultExperiment();
    spec.model.layers = std::move(layers);
    return spec;
}

QStringList types(const std::vector<nnlab::LayerSpec>& layers)
{
    QStringList out;
    for (const auto& l : layers)
        out << QString::fromStdString(l.type);
    return out;
}

} // namespace

class TestEditorModel : public QObject {
    Q_OBJECT
private:
    template <class T> T* field(ModelEditor& editor, const char* name)
    {
        T* widget = editor.form()->findChild<T*>(QString::fromLatin1(name));
        if (!widget)
            qWarning("no form field %s", name);
        return widget;
    }

private slots:
    void paletteHasEveryLayerType()
    {
        ExperimentDocument doc;
        ModelEditor editor(&doc);
        for (const auto& info : nnlab::layerTypes()) {
            QAction* action = editor.addLayerAction(QString::fromStdString(info.type));
            QVERIFY2(action, info.type.c_str());
            QVERIFY(!action->toolTip().isEmpty());
            QVERIFY(editor.addMenu()->actions().contains(action));
        }
        QVERIFY(!editor.addLayerAction(QStringLiteral("no_such_layer")));
    }

    void buildsModelThroughActionsAndForm()
    {
        ExperimentDocument doc;
        doc.reset(withLayers({}));
        ModelEditor editor(&doc);
        QVERIFY(!doc.isValid());   // no layers yet

        editor.addLayerAction(QStringLiteral("conv2d"))->trigger();
        QCOMPARE(editor.currentLayer(), LayerPath({0}));
        field<QSpinBox>(editor, "out_channels")->setValue(8);
        field<QSpinBox>(editor, "kernel_size")->setValue(3);
        field<QSpinBox>(editor, "padding")->setValue(1);
        editor.addLayerAction(QStringLiteral("relu"))->trigger();
        editor.addLayerAction(QStringLiteral("flatten"))->trigger();
        editor.addLayerAction(QStringLiteral("linear"))->trigger();
        QCOMPARE(editor.currentLayer(), LayerPath({3}));
        field<QSpinBox>(editor, "out_features")->setValue(10);
        field<QCheckBox>(editor, "bias")->setChecked(false);
        field<QLineEdit>(editor, "name")->setText(QStringLiteral("head"));

        const auto& layers = doc.spec().model.layers;
        QCOMPARE(types(layers), QStringList({"conv2d", "relu", "flatten", "linear"}));
        QCOMPARE(layers[0].intOption("out_channels"), 8);
        QCOMPARE(layers[0].intOption("padding"), 1);
        QCOMPARE(layers[3].intOption("out_features"), 10);
        QCOMPARE(layers[3].flag("bias"), false);
        QCOMPARE(layers[3].name, std::string("head"));
        QVERIFY2(doc.isValid(), doc.problems().empty() ? "" : doc.problems().front().text().c_str());

        QCOMPARE(editor.itemAt({0})->text(ModelEditor::ShapeColumn), QStringLiteral("[8, 28, 28]"));
        QCOMPARE(editor.itemAt({2})->text(ModelEditor::ShapeColumn), QStringLiteral("[6272]"));
        QCOMPARE(editor.itemAt({3})->text(ModelEditor::ShapeColumn), QStringLiteral("[10]"));
        QCOMPARE(editor.itemAt({3})->text(ModelEditor::ParamsColumn), QStringLiteral("62,720"));   // no bias
        QCOMPARE(editor.itemAt({0})->text(ModelEditor::ParamsColumn), QStringLiteral("80"));
        QVERIFY(editor.itemAt({3})->text(ModelEditor::NameColumn).startsWith(QStringLiteral("head : linear")));
        QVERIFY(editor.totalsLabel()->text().contains(QStringLiteral("62,800")));
    }

    void formWidgetsFollowTheLayerTable()
    {
        ExperimentDocument doc;
        doc.reset(withLayers({layer("conv2d"), layer("maxpool2d"), layer("dropout")}));
        ModelEditor editor(&doc);
        editor.selectLayer({0});
        const auto* info = nnlab::findLayerType("conv2d");
        for (const auto& opt : info->options) {
            QWidget* w = editor.form()->findChild<QWidget*>(QString::fromStdString(opt.key));
            QVERIFY2(w, opt.key.c_str());
            QVERIFY2(w->toolTip().contains(QStringLiteral("default")), qPrintable(w->toolTip()));
            if (auto* spin = qobject_cast<QSpinBox*>(w)) {
                QCOMPARE(spin->minimum(), int(opt.min));
                QCOMPARE(spin->maximum(), int(opt.max));
            }
        }
        editor.selectLayer({1});
        QCOMPARE(field<QSpinBox>(editor, "stride")->specialValueText(), QStringLiteral("= kernel_size"));
        editor.selectLayer({2});
        QVERIFY(field<QLineEdit>(editor, "p"));   // a float option takes any number text
    }

    void spinBoxTypingIsOneUndoStep()
    {
        ExperimentDocument doc;
        doc.reset(withLayers({layer("conv2d"), layer("flatten"), layer("linear", {{"out_features", 10}})}));
        ModelEditor editor(&doc);
        editor.selectLayer({0});
        QSpinBox* spin = field<QSpinBox>(editor, "out_channels");
        const int before = doc.undoStack()->count();
        spin->setValue(3);
        spin->setValue(32);
        spin->setValue(320);
        QCOMPARE(doc.undoStack()->count(), before + 1);
        QCOMPARE(doc.spec().model.layers[0].intOption("out_channels"), 320);
        doc.undoStack()->undo();
        QCOMPARE(doc.spec().model.layers[0].intOption("out_channels"), 16);
        QCOMPARE(spin->value(), 16);   // the form follows undo
    }

    void duplicateMoveRemoveWrap()
    {
        ExperimentDocument doc;
        doc.reset(withLayers({layer("conv2d", {{"out_channels", 8}, {"padding", 1}}), layer("relu"), layer("dropout"), layer("flatten"),
                              layer("linear", {{"out_features", 10}})}));
        ModelEditor editor(&doc);
        const nnlab::ExperimentSpec initial = doc.spec();

        editor.selectLayer({2});
        QVERIFY(editor.moveUpAction()->isEnabled());
        editor.moveUpAction()->trigger();
        QCOMPARE(types(doc.spec().model.layers), QStringList({"conv2d", "dropout", "relu", "flatten", "linear"}));
        QCOMPARE(editor.currentLayer(), LayerPath({1}));
        editor.moveDownAction()->trigger();
        QCOMPARE(types(doc.spec().model.layers), QStringList({"conv2d", "relu", "dropout", "flatten", "linear"}));
        QCOMPARE(editor.currentLayer(), LayerPath({2}));

        editor.selectLayer({0});
        QVERIFY(!editor.moveUpAction()->isEnabled());
        editor.duplicateAction()->trigger();
        QCOMPARE(types(doc.spec().model.layers), QStringList({"conv2d", "conv2d", "relu", "dropout", "flatten", "linear"}));
        QCOMPARE(editor.currentLayer(), LayerPath({1}));
        QCOMPARE(doc.spec().model.layers[1].intOption("out_channels"), 8);

        editor.selectLayer({3});
        editor.removeAction()->trigger();
        QCOMPARE(types(doc.spec().model.layers), QStringList({"conv2d", "conv2d", "relu", "flatten", "linear"}));
        QCOMPARE(editor.currentLayer(), LayerPath({3}));   // the next layer moves into the place

        editor.selectLayers({{1}, {2}}, {1});
        QVERIFY(editor.wrapInResidualAction()->isEnabled());
        editor.wrapInResidualAction()->trigger();
        const auto& layers = doc.spec().model.layers;
        QCOMPARE(types(layers), QStringList({"conv2d", "residual", "flatten", "linear"}));
        QCOMPARE(types(layers[1].layers), QStringList({"conv2d", "relu"}));
        QCOMPARE(editor.currentLayer(), LayerPath({1}));
        QVERIFY2(doc.isValid(), doc.problems().empty() ? "" : doc.problems().front().text().c_str());
        // 8 -> 8 channels: the skip connection is the identity, no shortcut row.
        QCOMPARE(editor.itemAt({1})->childCount(), 2);

        // Widening the block's conv needs a projection: a shortcut row appears.
        editor.selectLayer({1, 0});
        field<QSpinBox>(editor, "out_channels")->setValue(12);
        QCOMPARE(editor.itemAt({1})->childCount(), 3);
        QVERIFY(editor.itemAt({1})->child(2)->text(ModelEditor::NameColumn).contains(QStringLiteral("1x1 conv")));
        QCOMPARE(editor.itemAt({1})->text(ModelEditor::ShapeColumn), QStringLiteral("[12, 28, 28]"));

        // Adding with a layer inside the block selected adds into the block.
        editor.selectLayer({1, 1});
        editor.addLayer(QStringLiteral("batchnorm2d"));
        QCOMPARE(types(doc.spec().model.layers[1].layers), QStringList({"conv2d", "relu", "batchnorm2d"}));
        QCOMPARE(editor.currentLayer(), LayerPath({1, 2}));
        const nnlab::ExperimentSpec final = doc.spec();

        // Undo every step back to the start, then redo them all: the spec is exactly restored.
        while (doc.undoStack()->canUndo())
            doc.undoStack()->undo();
        QVERIFY(doc.spec() == initial);
        QCOMPARE(editor.tree()->topLevelItemCount(), 5);
        while (doc.undoStack()->canRedo())
            doc.undoStack()->redo();
        QVERIFY(doc.spec() == final);
    }

    void removeSeveralAndTheLastLayer()
    {
        ExperimentDocument doc;
        doc.reset(withLayers({layer("flatten"), layer("linear"), layer("relu"), layer("linear", {{"out_features", 10}})}));
        ModelEditor editor(&doc);
        editor.selectLayers({{0}, {2}}, {0});
        QVERIFY(!editor.wrapInResidualAction()->isEnabled());   // not consecutive
        editor.removeAction()->trigger();
        QCOMPARE(types(doc.spec().model.layers), QStringList({"linear", "linear"}));
        editor.selectLayer({1});
        editor.removeAction()->trigger();
        QCOMPARE(editor.currentLayer(), LayerPath({0}));   // nothing after it: the one before
    }

    void problemsShowOnTheLayerAndField()
    {
        ExperimentDocument doc;
        doc.reset(withLayers({layer("conv2d", {{"out_channels", 8}}), layer("relu"), layer("linear", {{"out_features", 10}})}));
        ModelEditor editor(&doc);
        QVERIFY(!doc.isValid());
        QTreeWidgetItem* linear = editor.itemAt({2});
        QVERIFY(linear->toolTip(ModelEditor::NameColumn).contains(QStringLiteral("add a flatten layer")));
        QVERIFY(!linear->icon(ModelEditor::NameColumn).isNull());
        QCOMPARE(linear->foreground(ModelEditor::NameColumn).color(), QColor(0xc0, 0x39, 0x2b));
        QVERIFY(editor.itemAt({0})->toolTip(ModelEditor::NameColumn).isEmpty()
                || !editor.itemAt({0})->toolTip(ModelEditor::NameColumn).contains(QStringLiteral("flatten")));

        // The layer-level problem shows in the form of that layer.
        editor.selectLayer({2});
        bool shown = false;
        for (QLabel* label : editor.form()->findChildren<QLabel*>())
            shown = shown || (!label->isHidden() && label->text().contains(QStringLiteral("add a flatten layer")));
        QVERIFY(shown);

        // An option's problem shows under its field.
        editor.selectLayer({0});
        field<QSpinBox>(editor, "kernel_size")->setValue(40);
        auto* problem = editor.form()->findChild<QLabel*>(QStringLiteral("model.layers[0].kernel_size.problem"));
        QVERIFY(problem);
        QVERIFY(!problem->isHidden());
        QVERIFY2(problem->text().contains(QStringLiteral("does not fit")), qPrintable(problem->text()));
        field<QSpinBox>(editor, "kernel_size")->setValue(3);
        QVERIFY(problem->isHidden());

        // Fixing the model clears the marks.
        editor.selectLayer({1});
        editor.addLayer(QStringLiteral("flatten"));
        QVERIFY(doc.isValid());
        QVERIFY(editor.itemAt({3})->icon(ModelEditor::NameColumn).isNull());
    }

    void inputShapeField()
    {
        ExperimentDocument doc;
        ModelEditor editor(&doc);
        auto* input = editor.findChild<QLineEdit*>(QStringLiteral("input"));
        QVERIFY(input);
        QCOMPARE(input->text(), QStringLiteral("[1, 28, 28]"));
        input->selectAll();
        QTest::keyClicks(input, QStringLiteral("3, 32, 32"));
        QCOMPARE(doc.spec().model.input, (std::vector<int64_t>{3, 32, 32}));
        bool shown = false;
        for (QLabel* label : editor.findChildren<QLabel*>())
            shown = shown || (!label->isHidden() && label->text().contains(QStringLiteral("fashion-mnist")));
        QVERIFY(shown);   // the data source fixes the input shape
    }

    void siblingRanges_data()
    {
        QTest::addColumn<QList<LayerPath>>("paths");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<int>("first");
        QTest::addColumn<int>("last");
        QTest::newRow("one") << QList<LayerPath>{{2}} << true << 2 << 2;
        QTest::newRow("run, any order") << QList<LayerPath>{{3}, {1}, {2}} << true << 1 << 3;
        QTest::newRow("gap") << QList<LayerPath>{{1}, {3}} << false << -1 << -1;
        QTest::newRow("different parents") << QList<LayerPath>{{1}, {1, 0}} << false << -1 << -1;
        QTest::newRow("nested run") << QList<LayerPath>{{4, 0}, {4, 1}} << true << 0 << 1;
        QTest::newRow("empty") << QList<LayerPath>{} << false << -1 << -1;
    }

    void siblingRanges()
    {
        QFETCH(QList<LayerPath>, paths);
        QFETCH(bool, valid);
        QFETCH(int, first);
        QFETCH(int, last);
        const auto range = modeledits::siblingRange(paths);
        QCOMPARE(range.isValid(), valid);
        if (valid) {
            QCOMPARE(range.first, first);
            QCOMPARE(range.last, last);
        }
    }

    void insertIntoEmptyResidual()
    {
        nnlab::ModelSpec model;
        model.layers = {layer("residual")};
        const LayerPath inside = modeledits::insertLayer(model, {0}, layer("relu"));
        QCOMPARE(inside, LayerPath({0, 0}));
        const LayerPath after = modeledits::insertLayer(model, {0}, layer("relu"));
        QCOMPARE(after, LayerPath({1}));   // a block with layers: the new one goes after it
        QCOMPARE(modeledits::insertLayer(model, {}, layer("tanh")), LayerPath({2}));
    }
};

QTEST_MAIN(TestEditorModel)
#include "test_editor_model.moc"
