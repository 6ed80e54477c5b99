// The sensitivity heat map: a click on a cell emits its layer's path in the experiment (what
// the model editor selects), colours order by the accuracy drop, and the view refuses a bad
// ladder of sparsities before anything runs.
#include "compress/sensitivity_map.h"
#include "compress/sensitivity_view.h"

#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

namespace {

nnlab::SensitivityResult result()
{
    nnlab::SensitivityResult r;
    r.sourceRunId = "run-7";
    r.baseAccuracy = 0.88;
    r.split = "validation";
    r.layers = {{"0", "conv2d", {0}, 160}, {"3.body.0", "conv2d", {3, 0}, 4640}, {"6", "linear", {6}, 100480}};
    nnlab::SensitivitySetting s20{nnlab::SensitivityKind::Sparsity, 0.2};
    nnlab::SensitivitySetting s80{nnlab::SensitivityKind::Sparsity, 0.8};
    nnlab::SensitivitySetting int8{nnlab::SensitivityKind::Int8, 0.0};
    r.settings = {s20, s80, int8};
    const auto cell = [](double accuracy) {
        nnlab::SensitivityCell c;
        c.accuracy = accuracy;
        c.drop = 0.88 - accuracy;
        return c;
    };
    nnlab::SensitivityCell failed;
    failed.error = "the quantized back end cannot run this layer";
    r.cells = {{cell(0.879), cell(0.70), cell(0.878)},
               {cell(0.881), cell(0.84), failed},
               {cell(0.88), cell(0.86), cell(0.879)}};
    return r;
}

} // namespace

class TestCompressSensitivity : public QObject {
    Q_OBJECT
private slots:
    void cellClickEmitsTheLayerPath()
    {
        SensitivityMap map;
        map.setResult(result());
        map.resize(map.sizeHint());
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        QSignalSpy spy(&map, &SensitivityMap::layerClicked);
        QTest::mouseClick(&map, Qt::LeftButton, {}, map.cellRect(1, 2).center());
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).value<QList<int>>(), (QList<int>{3, 0}));
        QCOMPARE(spy.at(0).at(1).toString(), QString("3.body.0"));
        QTest::mouseClick(&map, Qt::LeftButton, {}, map.cellRect(2, 0).center());
        QCOMPARE(spy.at(1).at(0).value<QList<int>>(), QList<int>{6});
        // The labels' column and the header select nothing.
        QTest::mouseClick(&map, Qt::LeftButton, {}, QPoint(3, 3));
        QCOMPARE(spy.count(), 2);
    }

    void viewForwardsTheRunAndPath()
    {
        SensitivityView view;
        view.setResult(result());
        view.resize(700, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy spy(&view, &SensitivityView::layerSelected);
        QTest::mouseClick(view.map(), Qt::LeftButton, {}, view.map()->cellRect(0, 1).center());
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toString(), QString("run-7"));
        QCOMPARE(spy.at(0).at(1).value<QList<int>>(), QList<int>{0});
    }

    void coloursFollowTheDrop()
    {
        const auto cell = [](double drop) {
            nnlab::SensitivityCell c;
            c.accuracy = 0.5;
            c.drop = drop;
            return c;
        };
        const QColor none = SensitivityMap::colourFor(cell(0.0), 0.18);
        const QColor some = SensitivityMap::colourFor(cell(0.04), 0.18);
        const QColor most = SensitivityMap::colourFor(cell(0.18), 0.18);
        QCOMPARE(none, QColor(Qt::white));
        QVERIFY(some.green() < none.green() && most.green() < some.green());   // redder as it drops
        const QColor gain = SensitivityMap::colourFor(cell(-0.01), 0.18);
        QVERIFY(gain.blue() > gain.red());
        QCOMPARE(SensitivityMap::colourFor(nnlab::SensitivityCell{}, 0.18), QColor(220, 220, 220));   // not run
    }

    void refusesABadLadder()
    {
        SensitivityView view;
        view.setRun("run-7", "fashion cnn");
        QString problem;
        QVERIFY(view.options(&problem));
        view.sparsitiesEdit()->setText("0.2, half");
        QVERIFY(!view.options(&problem));
        QVERIFY(problem.contains("\"half\" is not a number"));
        QVERIFY(!view.runButton()->isEnabled());
        view.sparsitiesEdit()->setText("0.2,1.5");
        QVERIFY(!view.options(&problem));
        QVERIFY2(problem.contains("1.5"), qPrintable(problem));
        view.sparsitiesEdit()->setText("0.3,0.6");
        const auto options = view.options(&problem);
        QVERIFY(options);
        QCOMPARE(options->sparsities, (std::vector<double>{0.3, 0.6}));
        QVERIFY(view.runButton()->isEnabled());
    }
};

QTEST_MAIN(TestCompressSensitivity)
#include "test_compress_sensitivity.moc"
