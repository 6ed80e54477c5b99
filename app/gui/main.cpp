// nnlab: the workbench window.
#include "main_window.h"

#include "core/training_controller.h"
#include "engine_loader.h"
#include "file_actions.h"
#include "training_bar.h"

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QMessageBox>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv)
{
    QElapsedTimer sinceMain;
    sinceMain.start();
    // LibTorch loads on a thread of its own once the window shows; whatever trains waits for
    // it there (engine/src/lazy/engine_loader.h). First, before any thread starts.
    nnlab::lazy::deferLoading();
    QApplication app(argc, argv);
    QApplication::setOrganizationName("nnlab");
    QApplication::setApplicationName("nnlab");
    QApplication::setApplicationVersion(NNLAB_VERSION);

    QCommandLineParser parser;
    parser.setApplicationDescription("nnlab: a deep-learning experiment workbench");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption db("db", "Run store file (default: $NNLAB_DB, else ~/.local/share/nnlab/runs.db).", "path");
    parser.addOption(db);
    QCommandLineOption trainNow("train", "Start training the experiment as soon as the window shows.");
    parser.addOption(trainNow);
    QCommandLineOption quitAfterShown("quit-after-shown", "Print the start-up time once the window shows, then quit (benchmarks).");
    quitAfterShown.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOption(quitAfterShown);
    QCommandLineOption quitAfterTrain("quit-after-train", "With --train: print how the run ended, then quit; exit status 0 "
                                                          "when it finished (tests).");
    quitAfterTrain.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOption(quitAfterTrain);
    parser.addPositionalArgument("experiment", "Experiment file to open (default: the Fashion-MNIST CNN).");
    parser.process(app);

    MainWindow window(parser.value(db));
    if (!parser.positionalArguments().isEmpty())
        window.fileActions()->open(parser.positionalArguments().first());
    window.show();
    // Queued behind the first paint, like everything below.
    QTimer::singleShot(0, &app, [] { nnlab::lazy::startLoading(); });
    if (parser.isSet(quitAfterTrain)) {
        // A failed run's dialog is printed and dismissed, so the outcome below gets printed.
        auto* dismiss = new QTimer(&app);
        QObject::connect(dismiss, &QTimer::timeout, &app, [] {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
                std::printf("dialog: %s: %s\n", qPrintable(box->windowTitle()), qPrintable(box->text()));
                box->accept();
            }
        });
        dismiss->start(50);
        QObject::connect(window.controller(), &TrainingController::runFinished, &app,
                         [&app](const QString& runId, nnlab::TrainStatus status, const QString& message) {
                             std::printf("trained %s %s: %s\n", nnlab::toString(status), qPrintable(runId),
                                         qPrintable(message));
                             std::fflush(stdout);
                             app.exit(status == nnlab::TrainStatus::Finished ? 0 : 1);
                         });
    }
    if (parser.isSet(trainNow))
        QTimer::singleShot(0, &window, [&window] { window.trainingBar()->trainAction()->trigger(); });
    if (parser.isSet(quitAfterShown)) {
        // Queued behind the first paint of the window.
        QTimer::singleShot(0, &app, [&] {
            std::printf("shown %lld ms after main()\n", static_cast<long long>(sinceMain.elapsed()));
            std::fflush(stdout);
            app.quit();
        });
    }
    const int status = app.exec();
    // Never exit while the loading thread is inside dlopen: a quit within half a second of
    // the window showing waits here.
    const nnlab::lazy::LoadStatus engine = nnlab::lazy::waitForLoad();
    if (parser.isSet(quitAfterShown)) {
        if (engine.ok)
            std::printf("training engine loaded in %.0f ms on its own thread\n", engine.seconds * 1000.0);
        else
            std::printf("training engine failed: %s\n", engine.error.c_str());
    }
    return status;
}
