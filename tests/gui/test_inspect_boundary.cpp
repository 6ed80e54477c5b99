// Decision Boundary dock: the heat map's colours, snapshot checks, the scrub slider, the
// "needs a 2-D data set" state and coalesced redraws, on hand-made snapshots.
#include "boundary_image.h"
#include "decision_boundary_panel.h"

#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include <cmath>

using namespace inspect;

namespace {

// A [classes, r, r] DecisionBoundary snapshot: every cell sure of class 0 except the ones set.
nnlab::Snapshot boundary(int64_t step, int classes = 3, int r = 4)
{
    nnlab::Snapshot s;
    s.kind = nnlab::SnapshotKind::DecisionBoundary;
    s.step = step;
    s.shape = {classes, r, r};
    s.values.assign(static_cast<size_t>(classes * r * r), 0.0f);
    for (int i = 0; i < r * r; ++i)
        s.values[static_cast<size_t>(i)] = 1.0f;
    s.meta = R"({"resolution":4,"classes":3,"x":[-2,2],"y":[-1,3]})";
    return s;
}

void setCell(nnlab::Snapshot& s, int ix, int iy, const std::vector<float>& probabilities)
{
    const int r = static_cast<int>(s.shape[1]);
    for (size_t c = 0; c < probabilities.size(); ++c)
        s.values[(c * r + iy) * r + ix] = probabilities[c];
}

double distance(QColor a, QColor b)
{
    return std::hypot(a.redF() - b.redF(), a.greenF() - b.greenF(), a.blueF() - b.blueF());
}

nnlab::ExperimentSpec spiralSpec()
{
    nnlab::ExperimentSpec spec;
    spec.data.source = "spiral";
    spec.data.samples = 200;
    spec.data.classes = 3;
    spec.data.validationFraction = 0.25;
    return spec;
}

} // namespace

class TestInspectBoundary : public QObject {
    Q_OBJECT
private slots:
    void sureCellHasItsClassColour();
    void unsureCellsArePaler();
    void badSnapshotsAreRefusedWithAReason();
    void extentAndOrientation();
    void livePointsAndScrubSlider();
    void redrawsAreCoalesced();
    void needsTwoDimensionalData();
    void neuronGridShowsEachUnit();
};

void TestInspectBoundary::sureCellHasItsClassColour()
{
    nnlab::Snapshot s = boundary(10);
    setCell(s, 1, 0, {0.0f, 0.0f, 1.0f});      // sure of class 2
    setCell(s, 3, 2, {0.1f, 0.8f, 0.1f});      // fairly sure of class 1
    const auto grid = unpackBoundary(s);
    QVERIFY(grid);
    // Full strength: a sure cell is exactly its class's colour. Row 0 of the grid is the
    // image's bottom row.
    const QImage full = boundaryImage(*grid, 1.0);
    QCOMPARE(full.size(), QSize(4, 4));
    QCOMPARE(QColor(full.pixel(1, 3)), classColour(2));
    QCOMPARE(QColor(full.pixel(0, 0)), classColour(0));
    // The default (paler) strength: the nearest class colour is still the winner's.
    const QImage shown = boundaryImage(*grid);
    for (auto [x, y, winner] : {std::tuple{1, 3, 2}, std::tuple{3, 1, 1}, std::tuple{0, 0, 0}}) {
        const QColor pixel(shown.pixel(x, y));
        int nearest = 0;
        for (int c = 1; c < 3; ++c)
            if (distance(pixel, classColour(c)) < distance(pixel, classColour(nearest)))
                nearest = c;
        QCOMPARE(nearest, winner);
    }
}

void TestInspectBoundary::unsureCellsArePaler()
{
    nnlab::Snapshot s = boundary(10);
    setCell(s, 0, 0, {1.0f / 3, 1.0f / 3, 1.0f / 3});
    setCell(s, 1, 0, {0.6f, 0.2f, 0.2f});
    const QImage image = boundaryImage(*unpackBoundary(s), 1.0);
    QCOMPARE(QColor(image.pixel(0, 3)), QColor(Qt::white));   // uniform: no opinion
    const QColor unsure(image.pixel(1, 3)), sure(image.pixel(2, 3));
    QVERIFY(distance(unsure, Qt::white) < distance(sure, Qt::white));
    QVERIFY(distance(unsure, classColour(0)) < distance(unsure, classColour(1)));
}

void TestInspectBoundary::badSnapshotsAreRefusedWithAReason()
{
    nnlab::Snapshot s = boundary(7);
    s.values.pop_back();
    QString error;
    QVERIFY(!unpackBoundary(s, &error));
    QVERIFY2(error.contains("47 values") && error.contains("step 7"), qPrintable(error));
    s = boundary(7);
    s.meta = R"({"x":[1,-1],"y":[0,1]})";
    QVERIFY(!unpackBoundary(s, &error));
    QVERIFY2(error.contains("\"x\""), qPrintable(error));
    s = boundary(7);
    s.shape = {3, 4, 5};
    QVERIFY(!unpackBoundary(s, &error));
    QVERIFY2(error.contains("[channels, R, R]"), qPrintable(error));
}

void TestInspectBoundary::extentAndOrientation()
{
    DecisionBoundaryPanel panel;
    panel.resize(500, 600);
    panel.beginLiveRun("run-a", spiralSpec());
    QSignalSpy loaded(&panel, &DecisionBoundaryPanel::loadingFinished);
    QVERIFY(loaded.wait(20000) || !panel.isLoading());
    panel.addSnapshots("run-a", {boundary(20)});
    panel.redrawNow();
    // The pixmap spans the snapshot's extent: top-left (x_min, y_max), bottom-right (x_max, y_min).
    QCPItemPixmap* heat = panel.view()->heatMap();
    QVERIFY(heat->visible());
    QCOMPARE(heat->topLeft->coords(), QPointF(-2, 3));
    QCOMPARE(heat->bottomRight->coords(), QPointF(2, -1));
    QCOMPARE(panel.view()->xAxis->range().lower, -2.0);
    QCOMPARE(panel.view()->yAxis->range().upper, 3.0);
}

void TestInspectBoundary::livePointsAndScrubSlider()
{
    DecisionBoundaryPanel panel;
    panel.resize(500, 600);
    QSignalSpy loaded(&panel, &DecisionBoundaryPanel::loadingFinished);
    panel.beginLiveRun("run-a", spiralSpec());
    QVERIFY(loaded.wait(20000));
    QVERIFY(panel.isTwoD());
    QVERIFY(panel.message().isEmpty());
    // Training and validation points, one graph a class each: 150 + 50 of 200.
    int points = 0;
    for (int i = 0; i < panel.view()->graphCount(); ++i)
        points += panel.view()->graph(i)->dataCount();
    QCOMPARE(panel.view()->graphCount(), 6);
    QCOMPARE(points, 200);

    // Snapshots of another run are ignored.
    panel.addSnapshots("other-run", {boundary(5)});
    QCOMPARE(panel.frameCount(), 0);

    std::vector<nnlab::Snapshot> batch;
    for (int i = 1; i <= 10; ++i)
        batch.push_back(boundary(20 * i));
    batch.push_back(nnlab::Snapshot{nnlab::SnapshotKind::WeightHistogram, "0", 200, {2}, {1, 2}, "{}"});
    panel.addSnapshots("run-a", batch);
    QCOMPARE(panel.frameCount(), 10);
    for (int i = 0; i < 10; ++i)
        QCOMPARE(panel.stepAt(i), int64_t(20 * (i + 1)));
    QCOMPARE(panel.stepAt(10), int64_t(-1));
    QCOMPARE(panel.stepAt(-1), int64_t(-1));
    // Following: the slider sits at the newest, and the redraw shows it.
    QCOMPARE(panel.slider()->maximum(), 9);
    QCOMPARE(panel.position(), 9);
    panel.redrawNow();
    QCOMPARE(panel.shownStep(), int64_t(200));

    // Scrubbed back, it stays there while new boundaries arrive.
    panel.setPosition(3);
    panel.redrawNow();
    QCOMPARE(panel.shownStep(), int64_t(80));
    panel.addSnapshots("run-a", {boundary(220)});
    panel.redrawNow();
    QCOMPARE(panel.position(), 3);
    QCOMPARE(panel.shownStep(), int64_t(80));
    // Back at the right end, it follows again.
    panel.setPosition(panel.slider()->maximum());
    panel.addSnapshots("run-a", {boundary(240)});
    panel.redrawNow();
    QCOMPARE(panel.shownStep(), int64_t(240));

    // A resumed run replays steps: a boundary at an earlier step drops the later ones.
    panel.addSnapshots("run-a", {boundary(100)});
    QCOMPARE(panel.frameCount(), 5);
    QCOMPARE(panel.stepAt(4), int64_t(100));
}

void TestInspectBoundary::redrawsAreCoalesced()
{
    DecisionBoundaryPanel panel;
    QSignalSpy loaded(&panel, &DecisionBoundaryPanel::loadingFinished);
    panel.beginLiveRun("run-b", spiralSpec());
    QVERIFY(loaded.wait(20000));
    QTest::qWait(2 * DecisionBoundaryPanel::kRedrawIntervalMs);   // the points' redraw is done
    const int before = panel.redrawCount();
    // 500 batches in a burst (as fast as a trainer could send them) ...
    for (int i = 1; i <= 500; ++i)
        panel.addSnapshots("run-b", {boundary(i)});
    QCOMPARE(panel.redrawCount(), before);   // ... draw nothing yet ...
    QTRY_COMPARE(panel.redrawCount(), before + 1);   // ... then once, with the newest.
    QCOMPARE(panel.shownStep(), int64_t(500));
    QTest::qWait(2 * DecisionBoundaryPanel::kRedrawIntervalMs);
    QCOMPARE(panel.redrawCount(), before + 1);
}

void TestInspectBoundary::needsTwoDimensionalData()
{
    DecisionBoundaryPanel panel;
    nnlab::ExperimentSpec images;   // fashion-mnist: 1 x 28 x 28 inputs
    panel.beginLiveRun("run-c", images);
    QVERIFY(!panel.isTwoD());
    QVERIFY2(panel.message().contains("2-D data set"), qPrintable(panel.message()));
    panel.addSnapshots("run-c", {boundary(20)});
    QCOMPARE(panel.frameCount(), 0);

    nnlab::ExperimentSpec regression = spiralSpec();
    regression.loss = "mse";
    panel.beginLiveRun("run-d", regression);
    QVERIFY(!panel.isTwoD());
    QVERIFY(panel.message().contains("classifier"));
}

void TestInspectBoundary::neuronGridShowsEachUnit()
{
    DecisionBoundaryPanel panel;
    QSignalSpy loaded(&panel, &DecisionBoundaryPanel::loadingFinished);
    panel.beginLiveRun("run-e", spiralSpec());
    QVERIFY(loaded.wait(20000));
    nnlab::Snapshot neurons;
    neurons.kind = nnlab::SnapshotKind::NeuronBoundary;
    neurons.name = "1";
    neurons.step = 20;
    neurons.shape = {2, 2, 2};
    // Unit 0: negative at the bottom row, positive at the top; unit 1 all zero.
    neurons.values = {-1.0f, -1.0f, 2.0f, 2.0f, 0, 0, 0, 0};
    neurons.meta = R"({"resolution":2,"units":2,"layer_type":"relu","linear":"0","x":[-1,1],"y":[-1,1]})";
    panel.addSnapshots("run-e", {boundary(20), neurons});
    panel.redrawNow();
    QCOMPARE(panel.neurons()->layerCount(), 1);
    QCOMPARE(panel.neurons()->unitCount(), 2);
    const QImage unit0 = panel.neurons()->unitImage(0, 0);
    QCOMPARE(QColor(unit0.pixel(0, 0)), classColour(1));          // top row: +2, the unit's maximum
    const QColor bottom(unit0.pixel(0, 1));                        // -1: half-way to orange
    QVERIFY(distance(bottom, classColour(0)) < distance(bottom, classColour(1)));
    QVERIFY(distance(bottom, Qt::white) > 0.1);
    QCOMPARE(QColor(panel.neurons()->unitImage(0, 1).pixel(1, 1)), QColor(Qt::white));
}

QTEST_MAIN(TestInspectBoundary)
#include "test_inspect_boundary.moc"
