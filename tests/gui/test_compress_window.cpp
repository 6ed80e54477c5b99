// The compression lab in the workbench window: a click on a heat-map cell opens the analysed
// run's experiment and selects that layer in the model editor; Compare compression in the
// Runs dock shows the Compression dock; a click on a Pareto point selects its run there.
#include "main_window.h"

#include "compress/background_task.h"
#include "compress/compression_panel.h"
#include "compress/pareto_chart.h"
#include "compress/pareto_view.h"
#include "compress/sensitivity_map.h"
#include "compress/sensitivity_view.h"
#include "editor/model_editor.h"
#include "runs/runs_panel.h"

#include "nnlab/run_recorder.h"
#include "nnlab/spec_json.h"

#include <QAction>
#include <QDockWidget>
#include <QFile>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

class TestCompressWindow : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_run;

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("nnlab-tests");
        QCoreApplication::setApplicationName("test_compress_window");
        QFile file(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
        QVERIFY(file.open(QIODevice::ReadOnly));
        const std::string json = file.readAll().toStdString();
        const nnlab::ParseResult parsed = nnlab::parseExperiment(json);
        QVERIFY(parsed.complete);
        auto recorder = nnlab::RunRecorder::open(m_dir.filePath("runs.db").toStdString());
        QVERIFY(recorder.ok());
        auto begun = recorder.value->begin(parsed.spec, json);
        QVERIFY(begun.ok());
        m_run = QString::fromStdString(begun.value);
        nnlab::TrainResult done;
        done.status = nnlab::TrainStatus::Finished;
        QVERIFY(recorder.value->finish(done).ok());
    }

    void heatMapCellSelectsTheLayer()
    {
        MainWindow window(m_dir.filePath("runs.db"));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* panel = window.findChild<CompressionPanel*>();
        QVERIFY(panel);
        nnlab::SensitivityResult result;
        result.sourceRunId = m_run.toStdString();
        result.baseAccuracy = 0.87;
        result.layers = {{"0", "conv2d", {0}, 160}, {"3.body.0", "conv2d", {3, 0}, 2320}};
        result.settings = {{nnlab::SensitivityKind::Sparsity, 0.5}};
        nnlab::SensitivityCell cell;
        cell.accuracy = 0.80;
        cell.drop = 0.07;
        result.cells = {{cell}, {cell}};
        panel->sensitivity()->setResult(result);
        panel->setCurrentIndex(CompressionPanel::SensitivityTab);
        auto* dock = window.findChild<QDockWidget*>("compressionDock");
        QVERIFY(dock);
        dock->setFloating(true);
        dock->resize(700, 400);
        dock->show();
        QVERIFY(QTest::qWaitForWindowExposed(dock));
        SensitivityMap* map = panel->sensitivity()->map();
        QTest::mouseClick(map, Qt::LeftButton, {}, map->cellRect(1, 0).center());
        QCOMPARE(window.modelEditor()->currentLayer(), (LayerPath{3, 0}));
        QCOMPARE(window.document()->spec().name, std::string("fashion-cnn"));
        QTest::mouseClick(map, Qt::LeftButton, {}, map->cellRect(0, 0).center());
        QCOMPARE(window.modelEditor()->currentLayer(), LayerPath{0});
    }

    void runsDockAndParetoLinked()
    {
        MainWindow window(m_dir.filePath("runs.db"));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* panel = window.findChild<CompressionPanel*>();
        auto* dock = window.findChild<QDockWidget*>("compressionDock");
        window.runs()->refresh();
        window.runs()->selectRuns({m_run});
        QVERIFY(window.runs()->action("compareCompression")->isEnabled());
        window.runs()->action("compareCompression")->trigger();
        QVERIFY(dock->isVisible());
        QCOMPARE(panel->currentIndex(), int(CompressionPanel::ParetoTab));
        panel->pareto()->task()->waitForEnd(60000);   // no checkpoint here: the load fails, which is fine
        // Rows given directly: a click on a point selects the run in the Runs dock.
        nnlab::CompareRow row;
        row.runId = m_run.toStdString();
        row.name = "fashion-cnn";
        row.measurement.testAccuracy = 0.86;
        row.measurement.fileBytes = 45000;
        nnlab::CompareRow other = row;
        other.runId = "19990101-000000-000000000000";
        other.measurement.testAccuracy = 0.80;
        other.measurement.fileBytes = 20000;
        panel->pareto()->setRows({row, other});
        window.runs()->selectRuns({});
        dock->setFloating(true);
        dock->resize(800, 600);
        QVERIFY(QTest::qWaitForWindowExposed(dock));
        panel->pareto()->chart()->replot();
        QTest::mouseClick(panel->pareto()->chart(), Qt::LeftButton, {}, panel->pareto()->chart()->pixelOf(m_run).toPoint());
        QCOMPARE(window.runs()->selectedRuns(), QStringList{m_run});
        // And the selection comes back as the point's ring.
        QCOMPARE(panel->pareto()->chart()->highlightedRuns(), QStringList{m_run});
    }
};

QTEST_MAIN(TestCompressWindow)
#include "test_compress_window.moc"
