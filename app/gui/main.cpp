// nnlab: the workbench window.
#include "main_window.h"

#include "file_actions.h"
#include "training_bar.h"
#include "nnlab/runtime.h"

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv)
{
    QElapsedTimer sinceMain;
    sinceMain.start();
    nnlab::prepareProcess();   // before any LibTorch work: threads and allocator
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
    parser.addPositionalArgument("experiment", "Experiment file to open (default: the Fashion-MNIST CNN).");
    parser.process(app);

    MainWindow window(parser.value(db));
    if (!parser.positionalArguments().isEmpty())
        window.fileActions()->open(parser.positionalArguments().first());
    window.show();
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
    return app.exec();
}
