// Confusion Matrix and Filters docks: cell clicks show that cell's examples, per-class
// precision and recall, live matrices, and the filter and feature-map pictures.
#include "confusion_panel.h"
#include "feature_images.h"

#include "editor/image_grid.h"

#include <qcustomplot.h>

#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include <cmath>

using namespace inspect;

namespace {

// 3 classes, 4 x 4 grey images: true class 2 is mistaken for class 0 three times.
nnlab::ConfusionReport report()
{
    nnlab::ConfusionReport r;
    r.classes = 3;
    r.classNames = {"cat", "dog", "bird"};
    r.sampleShape = {1, 4, 4};
    r.matrix = {5, 1, 0,  //
                0, 6, 0,  //
                3, 0, 7};
    r.scores.accuracy = 18.0 / 22.0;
    r.examples.resize(9);
    for (int i = 0; i < 3; ++i) {
        nnlab::ConfusionExample e;
        e.index = 100 + i;
        e.raw.assign(16, 40.0f * i);
        e.probability = 0.9f - 0.1f * i;
        e.trueProbability = 0.05f;
        r.examples[2 * 3 + 0].push_back(e);
    }
    nnlab::ConfusionExample right;
    right.index = 7;
    right.raw.assign(16, 255.0f);
    right.probability = 0.99f;
    r.examples[1 * 3 + 1].push_back(right);
    return r;
}

void clickCell(ConfusionMatrixView* view, int actual, int predicted)
{
    QTest::mouseClick(view, Qt::LeftButton, {}, view->cellRect(actual, predicted).center());
}

} // namespace

class TestInspectConfusion : public QObject {
    Q_OBJECT
private slots:
    void scoresOfAKnownMatrix();
    void clickMapsToItsCell();
    void clickShowsThatCellsExamples();
    void liveMatrixWithoutExamples();
    void filterPictures();
    void featureMapPictures();
};

void TestInspectConfusion::scoresOfAKnownMatrix()
{
    const auto s = classScores({5, 1, 0, 0, 6, 0, 3, 0, 7}, 3);
    QCOMPARE(s.size(), size_t(3));
    QCOMPARE(s[0].recall, 5.0 / 6.0);
    QCOMPARE(s[0].precision, 5.0 / 8.0);
    QCOMPARE(s[1].precision, 6.0 / 7.0);
    QCOMPARE(s[2].recall, 0.7);
    QCOMPARE(s[2].precision, 1.0);
    QCOMPARE(s[2].support, int64_t(10));
    // A class never predicted and never seen: no precision or recall to speak of.
    const auto empty = classScores({4, 0, 0, 0}, 2);
    QVERIFY(std::isnan(empty[1].precision) && std::isnan(empty[1].recall));
    QVERIFY(classScores({1, 2, 3}, 2)[0].support == 0);   // wrong size: nothing
}

void TestInspectConfusion::clickMapsToItsCell()
{
    ConfusionMatrixView view;
    view.resize(400, 400);
    view.setMatrix({5, 1, 0, 0, 6, 0, 3, 0, 7}, 3, {"cat", "dog", "bird"});
    QSignalSpy clicked(&view, &ConfusionMatrixView::cellClicked);
    for (int a = 0; a < 3; ++a)
        for (int p = 0; p < 3; ++p) {
            const QRect cell = view.cellRect(a, p);
            QVERIFY(!cell.isEmpty());
            QCOMPARE(view.cellAt(cell.center()), std::make_pair(a, p));
            QCOMPARE(view.cellAt(cell.topLeft() + QPoint(1, 1)), std::make_pair(a, p));
        }
    clickCell(&view, 2, 0);
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(clicked.at(0).at(0).toInt(), 2);
    QCOMPARE(clicked.at(0).at(1).toInt(), 0);
    QCOMPARE(view.selectedCell(), std::make_pair(2, 0));
    QTest::mouseClick(&view, Qt::LeftButton, {}, QPoint(2, 2));   // the labels, not a cell
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(view.count(2, 0), int64_t(3));
    QCOMPARE(view.className(2), QString("bird"));
}

void TestInspectConfusion::clickShowsThatCellsExamples()
{
    ConfusionPanel panel;
    panel.resize(900, 700);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.setReport("run-a", report());
    QSignalSpy shown(&panel, &ConfusionPanel::examplesShown);
    clickCell(panel.matrix(), 2, 0);
    QCOMPARE(shown.count(), 1);
    QCOMPARE(shown.at(0).at(2).toInt(), 3);
    ImageGrid* grid = panel.examplesGrid();
    QCOMPARE(grid->sampleCount(), 3);
    // Most confident first, as the report orders them; each image is the example's pixels.
    QVERIFY2(grid->samples()[0].label.contains("#100") && grid->samples()[0].label.contains("90%"),
             qPrintable(grid->samples()[0].label));
    QCOMPARE(grid->samples()[2].image.size(), QSize(4, 4));
    QCOMPARE(qGray(grid->samples()[2].image.pixel(1, 1)), 80);
    QVERIFY2(panel.examplesCaption().contains("bird predicted as cat") && panel.examplesCaption().contains("3 samples"),
             qPrintable(panel.examplesCaption()));

    // Another cell: its own examples (a correct one here); an empty cell: none.
    clickCell(panel.matrix(), 1, 1);
    QCOMPARE(grid->sampleCount(), 1);
    QCOMPARE(qGray(grid->samples()[0].image.pixel(0, 0)), 255);
    clickCell(panel.matrix(), 0, 2);
    QCOMPARE(grid->sampleCount(), 0);
    QCOMPARE(shown.last().at(2).toInt(), 0);

    // Per-class precision and recall, as a table and as bars.
    QTableWidget* table = panel.scoresTable();
    QCOMPARE(table->rowCount(), 3);
    QCOMPARE(table->item(2, 0)->text(), QString("2 bird"));
    QCOMPARE(table->item(2, 1)->text(), QString("100.0%"));
    QCOMPARE(table->item(2, 2)->text(), QString("70.0%"));
    QCOMPARE(table->item(0, 1)->text(), QString("62.5%"));
    QCOMPARE(table->item(2, 3)->text(), QString("10"));
    auto* recall = qobject_cast<QCPBars*>(panel.scoresChart()->plottable(1));
    QCOMPARE(recall->data()->size(), 3);
    QCOMPARE(recall->data()->at(2)->value, 0.7);
}

void TestInspectConfusion::liveMatrixWithoutExamples()
{
    ConfusionPanel panel;
    panel.resize(800, 600);
    panel.beginLiveRun("run-b");
    nnlab::Snapshot s;
    s.kind = nnlab::SnapshotKind::ConfusionMatrix;
    s.name = "validation";
    s.step = 300;
    s.shape = {2, 2};
    s.values = {40, 10, 5, 45};
    s.meta = R"({"classes":2,"class_names":["no","yes"],"epoch":1,"samples":100})";
    panel.addSnapshots("other-run", {s});
    QCOMPARE(panel.matrix()->classes(), 0);
    panel.addSnapshots("run-b", {s});
    QCOMPARE(panel.matrix()->classes(), 2);
    QCOMPARE(panel.matrix()->count(1, 0), int64_t(5));
    QCOMPARE(panel.matrix()->className(1), QString("yes"));
    QCOMPARE(panel.scoresTable()->item(1, 2)->text(), QString("90.0%"));
    // An older evaluation arriving late does not replace a newer one.
    nnlab::Snapshot old = s;
    old.step = 100;
    old.values = {1, 1, 1, 1};
    panel.addSnapshots("run-b", {old});
    QCOMPARE(panel.matrix()->count(1, 0), int64_t(5));
    QCOMPARE(panel.matrixStep(), int64_t(300));
    // A click says where the examples come from instead of showing none silently.
    QSignalSpy shown(&panel, &ConfusionPanel::examplesShown);
    panel.matrix()->selectCell(1, 0);
    QCOMPARE(shown.count(), 1);
    QVERIFY2(panel.examplesCaption().contains("Examples"), qPrintable(panel.examplesCaption()));
}

void TestInspectConfusion::filterPictures()
{
    nnlab::FilterBank bank;
    bank.layerPath = "0";
    bank.shape = {2, 1, 2, 2};
    bank.values = {0.0f, 0.5f, -0.5f, 0.25f,   // filter 0: max |w| 0.5
                   0.0f, 0.0f, 0.0f, 0.0f};
    const QImage f0 = filterImage(bank, 0);
    QCOMPARE(f0.size(), QSize(2, 2));
    QCOMPARE(qGray(f0.pixel(0, 0)), 128);    // 0 is mid-grey
    QCOMPARE(qGray(f0.pixel(1, 0)), 255);    // the largest positive weight white
    QCOMPARE(qGray(f0.pixel(0, 1)), 1);      // its negative black
    QCOMPARE(qGray(filterImage(bank, 1).pixel(1, 1)), 128);   // an all-zero filter stays grey
    QVERIFY(filterImage(bank, 2).isNull());
    bank.shape = {1, 3, 1, 1};
    bank.values = {1.0f, -1.0f, 0.0f};
    const QColor rgb = filterImage(bank, 0).pixelColor(0, 0);
    QCOMPARE(rgb, QColor(255, 1, 128));
}

void TestInspectConfusion::featureMapPictures()
{
    nnlab::FeatureMaps maps;
    maps.shape = {2, 1, 3};
    maps.values = {-1.0f, 0.0f, 1.0f, 5.0f, 5.0f, 5.0f};
    maps.minimum = {-1.0f, 5.0f};
    maps.maximum = {1.0f, 5.0f};
    QCOMPARE(featureMapCount(maps), 2);
    const QImage m0 = featureMapImage(maps, 0);
    QCOMPARE(m0.size(), QSize(3, 1));
    QCOMPARE(qGray(m0.pixel(0, 0)), 0);
    QCOMPARE(qGray(m0.pixel(1, 0)), 128);
    QCOMPARE(qGray(m0.pixel(2, 0)), 255);
    QCOMPARE(qGray(featureMapImage(maps, 1).pixel(0, 0)), 0);   // a constant map: no range
    nnlab::FeatureMaps vector;
    vector.shape = {10};
    vector.values = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    QCOMPARE(featureMapCount(vector), 1);
    const QImage v = featureMapImage(vector, 0);
    QCOMPARE(v.size(), QSize(4, 3));   // near-square
    QCOMPARE(qGray(v.pixel(1, 2)), 255);   // value 9 at (9 % 4, 9 / 4)
}

QTEST_MAIN(TestInspectConfusion)
#include "test_inspect_confusion.moc"
