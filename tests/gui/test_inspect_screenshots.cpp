// Screenshots of the inspect docks from real stored runs (README). Skipped unless
// NNLAB_INSPECT_DB names a store holding the runs NNLAB_SPIRAL_RUN (spiral-mlp) and
// NNLAB_CNN_RUN (fashion-cnn); the PNGs go to NNLAB_SCREENSHOT_DIR (default: the source
// tree's resources/screenshots). Run under Xvfb for the desktop's fonts and style.
#include "confusion_panel.h"
#include "decision_boundary_panel.h"
#include "features_panel.h"
#include "layer_stats_panel.h"

#include "editor/image_grid.h"

#include <QSignalSpy>
#include <QSlider>
#include <QTabWidget>
#include <QTest>

using namespace inspect;

namespace {

QString env(const char* name) { return qEnvironmentVariable(name); }

QString shotPath(const QString& file)
{
    const QString dir = env("NNLAB_SCREENSHOT_DIR");
    return (dir.isEmpty() ? QStringLiteral(NNLAB_SOURCE_DIR "/resources/screenshots") : dir) + QLatin1Char('/') + file;
}

bool waitLoaded(QObject* panel, const char* signal, const std::function<bool()>& loading)
{
    QSignalSpy spy(panel, signal);
    for (int i = 0; i < 30 && loading(); ++i)
        spy.wait(10000);
    return !loading();
}

} // namespace

class TestInspectScreenshots : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void decisionBoundary();
    void layerStatistics();
    void confusionMatrix();
    void filtersAndFeatureMaps();

private:
    QString m_db;
};

void TestInspectScreenshots::initTestCase()
{
    m_db = env("NNLAB_INSPECT_DB");
    if (m_db.isEmpty())
        QSKIP("set NNLAB_INSPECT_DB, NNLAB_SPIRAL_RUN and NNLAB_CNN_RUN to take the screenshots");
}

void TestInspectScreenshots::decisionBoundary()
{
    DecisionBoundaryPanel panel;
    panel.resize(640, 620);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.showStoredRun(m_db, env("NNLAB_SPIRAL_RUN"));
    QVERIFY(waitLoaded(&panel, SIGNAL(loadingFinished()), [&] { return panel.isLoading(); }));
    QVERIFY2(panel.frameCount() > 2, qPrintable(panel.message()));
    const int position = env("NNLAB_BOUNDARY_POSITION").isEmpty() ? panel.frameCount() / 2 : env("NNLAB_BOUNDARY_POSITION").toInt();
    panel.setPosition(position);
    panel.redrawNow();
    QTest::qWait(100);
    qInfo("boundary: %d frames, shown step %lld", panel.frameCount(), static_cast<long long>(panel.shownStep()));
    QVERIFY(panel.grab().save(shotPath("decision-boundary.png")));
}

void TestInspectScreenshots::layerStatistics()
{
    LayerStatisticsPanel panel;
    panel.resize(1100, 700);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.showStoredRun(m_db, env("NNLAB_CNN_RUN"));
    QVERIFY(waitLoaded(&panel, SIGNAL(loadingFinished()), [&] { return panel.isLoading(); }));
    QVERIFY(!panel.data().isEmpty());
    panel.redrawNow();
    QTest::qWait(100);
    QVERIFY(panel.grab().save(shotPath("layer-stats.png")));
    panel.tabs()->setCurrentIndex(1);
    panel.distributions()->setLayer(panel.distributions()->layers().value(0));
    QTest::qWait(100);
    QVERIFY(panel.grab().save(shotPath("layer-distributions.png")));
}

void TestInspectScreenshots::confusionMatrix()
{
    ConfusionPanel panel;
    panel.resize(1100, 820);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.showStoredRun(m_db, env("NNLAB_CNN_RUN"));
    QVERIFY(waitLoaded(&panel, SIGNAL(loadingFinished()), [&] { return panel.isLoading(); }));
    QVERIFY(panel.hasReport());
    // The most frequent mistake, clicked.
    ConfusionMatrixView* m = panel.matrix();
    int bestA = 0, bestP = 1;
    for (int a = 0; a < m->classes(); ++a)
        for (int p = 0; p < m->classes(); ++p)
            if (a != p && m->count(a, p) > m->count(bestA, bestP))
                bestA = a, bestP = p;
    QTest::mouseClick(m, Qt::LeftButton, {}, m->cellRect(bestA, bestP).center());
    QVERIFY(panel.examplesGrid()->sampleCount() > 0);
    QTest::qWait(100);
    QVERIFY(panel.grab().save(shotPath("confusion-matrix.png")));
}

void TestInspectScreenshots::filtersAndFeatureMaps()
{
    FeaturesPanel panel;
    panel.resize(1100, 640);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.showStoredRun(m_db, env("NNLAB_CNN_RUN"));
    QVERIFY(waitLoaded(&panel, SIGNAL(loadingFinished()), [&] { return panel.isLoading(); }));
    QVERIFY2(panel.filters()->sampleCount() > 0, qPrintable(panel.status()));
    panel.setSample(3);
    QVERIFY(waitLoaded(&panel, SIGNAL(loadingFinished()), [&] { return panel.isLoading(); }));
    QVERIFY(panel.maps()->sampleCount() > 0);
    QTest::qWait(100);
    QVERIFY(panel.grab().save(shotPath("feature-maps.png")));
}

QTEST_MAIN(TestInspectScreenshots)
#include "test_inspect_screenshots.moc"
