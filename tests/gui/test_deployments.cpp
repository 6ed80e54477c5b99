// The Deployments dock end to end: a trained run deployed from the Runs dock starts
// `nnlab-cli serve` as a child process, its live stats stream into the dock, test-set images
// keep the drift monitors quiet while inverted images fire them (an alert in the dock), and
// Stop ends the server. Images dropped on a run's row ask for predictions, and the
// predictions dialog classifies them with the run's model.
#include "main_window.h"

#include "charts/charts_panel.h"
#include "core/experiment_document.h"
#include "core/training_controller.h"
#include "file_actions.h"
#include "training_bar.h"

#include "deploy/deployment.h"
#include "deploy/deployments_dock.h"
#include "deploy/predictions_dialog.h"
#include "runs/runs_filter.h"
#include "runs/runs_model.h"
#include "runs/runs_panel.h"

#include "../engine/train_test_util.h"

#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"

#include <QDockWidget>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QListWidget>
#include <QTableWidget>
#include <QMimeData>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTreeView>
#include <QtTest>

#include <zlib.h>

namespace {

const char* kModel = R"({"name": "deploy-me", "seed": 1,
  "data": {"source": "fashion-mnist", "train_limit": 2000},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"}, {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003}, "training": {"epochs": 1, "batch_size": 50, "threads": 1}})";

QByteArray testPixels(int count)
{
    gzFile f = gzopen("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", "rb");
    QByteArray bytes(16 + count * 784, '\0');
    const int got = f ? gzread(f, bytes.data(), unsigned(bytes.size())) : 0;
    if (f)
        gzclose(f);
    return got == bytes.size() ? bytes.mid(16) : QByteArray();
}

// {"inputs": [...]} with samples [from, from + n), inverted (255 - x) when asked.
QByteArray predictBody(const QByteArray& pixels, int from, int n, bool inverted)
{
    QJsonArray inputs;
    for (int i = from; i < from + n; ++i) {
        QJsonArray sample;
        for (int p = 0; p < 784; ++p) {
            const int v = uchar(pixels[i * 784 + p]);
            sample.append(inverted ? 255 - v : v);
        }
        inputs.append(sample);
    }
    return QJsonDocument(QJsonObject{{"inputs", inputs}}).toJson(QJsonDocument::Compact);
}

const DeploymentMonitor* monitorNamed(const Deployment* d, const QString& name)
{
    for (const DeploymentMonitor& m : d->monitors())
        if (m.name == name)
            return &m;
    return nullptr;
}

} // namespace

class TestDeployments : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("nnlab-tests");
        QCoreApplication::setApplicationName("test_deployments");
        qputenv("NNLAB_CLI", NNLAB_CLI);
        m_db = m_dir.filePath("runs.db");
        const nnlab::RunSessionResult run = nnlab::test::recordRun(m_db.toStdString(), nnlab::parseExperiment(kModel));
        m_run = QString::fromStdString(run.runId);
        m_pixels = testPixels(1200);
        QCOMPARE(m_pixels.size(), 1200 * 784);
    }

    void deployStreamsStatsAndDriftFires()
    {
        MainWindow window(m_db);
        window.resize(1500, 950);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        RunsPanel* runs = window.runs();
        QTRY_VERIFY(runs->model()->rowOf(m_run) >= 0);
        runs->selectRuns({m_run});
        QAction* deploy = runs->action("deploy");
        QVERIFY(deploy && deploy->isEnabled());
        deploy->trigger();
        DeploymentsDock* dock = window.deployments();
        QCOMPARE(dock->deployments().size(), 1);
        Deployment* d = dock->deployments().front();
        QVERIFY(window.findChild<QDockWidget*>("deploymentsDock")->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(d->state() == Deployment::State::Serving, 60000);
        QVERIFY(d->port() > 0);

        // Normal traffic: 600 test images in requests of 20, a few at a time.
        QNetworkAccessManager network;
        int answered = 0, failed = 0;
        auto send = [&](int from, bool inverted) {
            QNetworkRequest request(QUrl(d->url() + "/v1/predict"));
            request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
            QNetworkReply* reply = network.post(request, predictBody(m_pixels, from, 20, inverted));
            connect(reply, &QNetworkReply::finished, this, [&, reply] {
                ++answered;
                failed += reply->error() != QNetworkReply::NoError;
                reply->deleteLater();
            });
        };
        for (int i = 0; i < 600; i += 20)
            send(i, false);
        QTRY_COMPARE_WITH_TIMEOUT(answered, 30, 30000);
        QCOMPARE(failed, 0);
        QTRY_VERIFY_WITH_TIMEOUT(d->samples().size() >= 3 && monitorNamed(d, "input_drift"), 15000);
        QTest::qWait(2500);   // the monitors judge once a second
        const DeploymentMonitor* drift = monitorNamed(d, "input_drift");
        QVERIFY(drift);
        QVERIFY2(!drift->firing, qPrintable(QString("drift %1 over threshold %2 on test images").arg(drift->value).arg(drift->threshold)));
        // (A burst of 30 requests may trip the latency monitor, whose baseline is one sample
        // alone; the drift monitors must stay quiet on images like the training data.)
        for (const DeploymentAlert& a : d->alerts())
            QVERIFY2(a.monitor != "input_drift" && a.monitor != "prediction_shift", qPrintable(a.message));

        // Inverted images (white background): the drift monitors fire, the dock shows it.
        for (int i = 600; i < 1200; i += 20)
            send(i, true);
        QTRY_COMPARE_WITH_TIMEOUT(answered, 60, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(monitorNamed(d, "input_drift")->firing, 15000);
        QTRY_VERIFY_WITH_TIMEOUT(!d->alerts().isEmpty(), 5000);
        auto* alerts = dock->findChild<QListWidget*>("deploymentAlerts");
        QTRY_VERIFY(alerts->count() > 0 && !alerts->findItems("input_drift", Qt::MatchContains).isEmpty());
        QVERIFY(d->samples().back().p99 > 0);

        if (const QString shot = qEnvironmentVariable("NNLAB_SCREENSHOT"); !shot.isEmpty()) {
            auto* floating = window.findChild<QDockWidget*>("deploymentsDock");
            floating->setFloating(true);
            floating->resize(1280, 720);
            QTest::qWait(1500);
            floating->grab().save(shot);
        }
        dock->stopSelected();
        QCOMPARE(d->state(), Deployment::State::Stopped);
    }

    // The window's own run with training.workers 2: rank 0 trains in the window's worker
    // thread, the second worker is a child nnlab-cli process; the run streams as any run.
    void windowTrainsWithTwoWorkerProcesses()
    {
        MainWindow window(m_db);
        window.show();
        QVERIFY(window.fileActions()->open(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json"));
        window.document()->apply("workers", [](nnlab::ExperimentSpec& s) {
            s.training.workers = 2;
            s.training.epochs = 20;
        });
        QSignalSpy finished(window.controller(), &TrainingController::runFinished);
        window.trainingBar()->trainAction()->trigger();
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.at(0).at(1).value<nnlab::TrainStatus>(), nnlab::TrainStatus::Finished);
        const QString runId = finished.at(0).at(0).toString();
        window.charts()->replotNow();
        QVERIFY(window.charts()->graphPointCount(ChartsPanel::LossChart, runId, "train/loss") > 10);
        auto store = nnlab::RunStore::open(m_db.toStdString());
        QVERIFY(store.ok());
        const auto run = store.value->getRun(runId.toStdString());
        QVERIFY(run.ok());
        QVERIFY2(run.value.infoJson.find("\"workers\":2") != std::string::npos, run.value.infoJson.c_str());
        QVERIFY(run.value.metrics.count("workers/1/samples_per_sec"));
        QVERIFY(run.value.metrics.at("val/accuracy").finalValue > 0.8);
    }

    void imagesDroppedOnARunArePredicted()
    {
        QStringList files;
        for (int i = 0; i < 3; ++i) {
            QImage image(28, 28, QImage::Format_Grayscale8);
            for (int y = 0; y < 28; ++y)
                memcpy(image.scanLine(y), m_pixels.constData() + i * 784 + y * 28, 28);
            files << m_dir.filePath(QString("drop%1.png").arg(i));
            QVERIFY(image.save(files.back()));
        }
        RunsPanel panel;
        panel.setStorePath(m_db);
        panel.resize(900, 300);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QSignalSpy asked(&panel, &RunsPanel::predictImagesRequested);
        QTreeView* view = panel.view();
        const QModelIndex row = panel.proxy()->mapFromSource(panel.model()->indexOfRun(m_run));
        const QPoint at = view->visualRect(row).center();
        QMimeData mime;
        QList<QUrl> urls;
        for (const QString& f : files)
            urls << QUrl::fromLocalFile(f);
        urls << QUrl::fromLocalFile(m_dir.filePath("notes.txt"));   // not an image: left out
        mime.setUrls(urls);
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(view->viewport(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(view->viewport(), &drop);
        QCOMPARE(asked.count(), 1);
        QCOMPARE(asked[0][0].toString(), m_run);
        QCOMPARE(asked[0][1].toStringList(), files);

        auto* dialog = new PredictionsDialog(m_db, m_run, files);
        QSignalSpy ready(dialog, &PredictionsDialog::predictionsReady);
        QVERIFY(ready.wait(30000));
        QVERIFY2(dialog->result().error.isEmpty(), qPrintable(dialog->result().error));
        QCOMPARE(dialog->result().probabilities.size(), 3);
        QCOMPARE(dialog->result().classNames.size(), 10);
        // The first test image is an ankle boot; the classes are named in the table.
        QVERIFY(dialog->table()->item(0, 1)->text().contains('%'));
        if (const QString shot = qEnvironmentVariable("NNLAB_SCREENSHOT_PREDICTIONS"); !shot.isEmpty()) {
            dialog->show();
            QVERIFY(QTest::qWaitForWindowExposed(dialog));
            dialog->grab().save(shot);
        }
        delete dialog;
    }

private:
    QTemporaryDir m_dir;
    QString m_db;
    QString m_run;
    QByteArray m_pixels;
};

QTEST_MAIN(TestDeployments)
#include "test_deployments.moc"
