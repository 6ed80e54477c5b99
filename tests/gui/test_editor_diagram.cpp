// The network diagram: its layout follows the spec (skip arrows, projections, shapes on the
// edges, problem blocks), clicks select layers in the editor, and selection highlights back.
#include "core/experiment_document.h"
#include "editor/model_editor.h"
#include "editor/network_diagram.h"

#include <QScrollBar>
#include <QSpinBox>
#include <QTest>
#include <QUndoStack>

namespace {

QStringList edgeLabels(const DiagramLayout& layout)
{
    QStringList out;
    for (const auto& e : layout.edges)
        if (!e.label.isEmpty())
            out << e.label;
    return out;
}

} // namespace

class TestEditorDiagram : public QObject {
    Q_OBJECT
private slots:
    void layoutOfTheDefaultModel()
    {
        ExperimentDocument doc;   // the Fashion-MNIST CNN with one residual block
        NetworkDiagram diagram(&doc);
        const DiagramLayout& layout = diagram.diagramLayout();
        // 7 top-level layers, 3 inside the block.
        QCOMPARE(layout.blocks.size(), 10);
        QCOMPARE(layout.skips.size(), 1);
        QCOMPARE(layout.adders.size(), 1);
        QCOMPARE(layout.skips[0].label, QStringLiteral("identity"));
        QVERIFY(!layout.skips[0].projection);
        const QStringList labels = edgeLabels(layout);
        QVERIFY(labels.contains(QStringLiteral("[1, 28, 28]")));
        QVERIFY(labels.contains(QStringLiteral("[16, 14, 14]")));
        QVERIFY(labels.contains(QStringLiteral("[784]")));
        QCOMPARE(labels.last(), QStringLiteral("[10]"));
        QCOMPARE(layout.outputText, QStringLiteral("output [10]"));

        // Blocks are stacked top to bottom, and the block's layers sit inside its frame.
        const QRect frame = diagram.blockRect({3});
        QVERIFY(diagram.blockRect({0}).bottom() < diagram.blockRect({1}).top());
        QVERIFY(frame.contains(diagram.blockRect({3, 0})));
        QVERIFY(frame.contains(diagram.blockRect({3, 2})));
        QVERIFY(diagram.blockRect({3, 2}).bottom() < frame.bottom());
        QVERIFY(diagram.blockRect({4}).top() > frame.bottom());
        QVERIFY(diagram.blockRect({9}).isNull());
    }

    void projectionAndProblemsFollowEdits()
    {
        ExperimentDocument doc;
        NetworkDiagram diagram(&doc);
        doc.apply(QStringLiteral("widen"), [](nnlab::ExperimentSpec& s) { s.model.layers[3].layers[0].options["out_channels"] = 32; });
        QCOMPARE(diagram.diagramLayout().skips[0].label, QStringLiteral("1x1 proj"));
        QVERIFY(diagram.diagramLayout().skips[0].projection);

        // Without flatten, the linear layer is a problem block and later shapes are unknown.
        doc.apply(QStringLiteral("drop flatten"), [](nnlab::ExperimentSpec& s) { s.model.layers.erase(s.model.layers.begin() + 5); });
        bool linearMarked = false;
        for (const auto& block : diagram.diagramLayout().blocks)
            if (block.path == LayerPath{5})
                linearMarked = block.problem && block.tooltip.contains(QStringLiteral("flatten"));
        QVERIFY(linearMarked);
        QCOMPARE(diagram.diagramLayout().outputText, QStringLiteral("output ?"));
        QVERIFY(!diagram.diagramLayout().edges.last().known);

        doc.undoStack()->undo();
        QCOMPARE(diagram.diagramLayout().outputText, QStringLiteral("output [10]"));
    }

    void clickSelectsAndSelectionHighlights()
    {
        ExperimentDocument doc;
        ModelEditor editor(&doc);
        NetworkDiagram diagram(&doc);
        connect(&editor, &ModelEditor::selectionChangedTo, &diagram, &NetworkDiagram::setSelectedLayer);
        connect(&diagram, &NetworkDiagram::layerClicked, &editor, &ModelEditor::selectLayer);
        diagram.resize(420, 500);   // shorter than the drawing: it scrolls
        diagram.show();
        QVERIFY(QTest::qWaitForWindowExposed(&diagram));
        QVERIFY(diagram.canvas()->height() > diagram.viewport()->height());

        // A layer inside the residual block: the innermost block under the cursor wins.
        QTest::mouseClick(diagram.canvas(), Qt::LeftButton, {}, diagram.blockRect({3, 1}).center());
        QCOMPARE(editor.currentLayer(), LayerPath({3, 1}));
        QCOMPARE(diagram.selectedLayer(), LayerPath({3, 1}));
        QVERIFY(editor.findChild<QWidget*>(QStringLiteral("eps")));   // batchnorm2d's form

        // The frame's title row selects the block itself.
        const QRect frame = diagram.blockRect({3});
        QTest::mouseClick(diagram.canvas(), Qt::LeftButton, {}, QPoint(frame.right() - 12, frame.top() + 8));
        QCOMPARE(editor.currentLayer(), LayerPath({3}));

        // Far below the drawing: nothing.
        QTest::mouseClick(diagram.canvas(), Qt::LeftButton, {}, QPoint(2, 2));
        QCOMPARE(editor.currentLayer(), LayerPath({3}));

        // Selecting in the tree highlights (and scrolls to) the block.
        editor.selectLayer({6});
        QCOMPARE(diagram.selectedLayer(), LayerPath({6}));
        const QRect last = diagram.blockRect({6});
        const int top = diagram.verticalScrollBar()->value();
        QVERIFY(last.top() >= top && last.bottom() <= top + diagram.viewport()->height());
    }
};

QTEST_MAIN(TestEditorDiagram)
#include "test_editor_diagram.moc"
