// GUI overhead: training the default experiment through the workbench window against
// nnlab-cli on the same experiment (alternating, medians), the main thread's event-loop
// lag while the GUI trains, and the time from launch to a shown window.
//
// Prints a table, then one line "JSON: {...}" with the same figures for the speed driver.
#include "main_window.h"
#include "nnlab/blas_cpu.h"
#include "nnlab/runtime.h"
#include "training_bar.h"

#include "core/experiment_document.h"
#include "editor/data_panel.h"
#include "core/training_controller.h"

#include <QAction>
#include <QApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <vector>

namespace {

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double cliSamplesPerSec(const QString& db)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("NNLAB_DB", db);
    p.setProcessEnvironment(env);
    p.start(NNLAB_CLI, {"train", "--quiet"});   // recording to the store, as the GUI does
    p.waitForFinished(600000);
    const auto m = QRegularExpression("\\(([0-9.]+) samples/s\\)").match(QString::fromUtf8(p.readAllStandardOutput()));
    return m.hasMatch() ? m.captured(1).toDouble() : 0.0;
}

struct GuiRun {
    double samplesPerSec = 0;
    std::vector<double> lagMs;
};

GuiRun guiRun(const QString& db)
{
    MainWindow window(db);
    // As a user does: press Train once the window has settled, the data preview loaded on
    // its thread (otherwise that load, about half a second of one core, overlaps the first
    // second of these two-second runs; the note in tests/bench/README.md).
    auto* dataPanel = window.findChild<DataPanel*>();
    QSignalSpy previewShown(dataPanel, &DataPanel::previewUpdated);
    window.resize(1400, 900);
    window.show();
    QApplication::processEvents();
    if (previewShown.isEmpty())
        previewShown.wait(30000);
    GuiRun run;
    // A 5 ms precise timer: how late each tick fires is the event loop's lag.
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    probe.setInterval(5);
    QElapsedTimer clock;
    qint64 last = 0;
    QObject::connect(&probe, &QTimer::timeout, [&] {
        const qint64 now = clock.nsecsElapsed();
        if (last)
            run.lagMs.push_back(std::max(0.0, static_cast<double>(now - last) / 1e6 - 5.0));
        last = now;
    });
    QSignalSpy finished(window.controller(), &TrainingController::runFinished);
    window.trainingBar()->trainAction()->trigger();
    clock.start();
    probe.start();
    finished.wait(600000);
    probe.stop();
    run.samplesPerSec = window.controller()->lastSamplesPerSec();
    return run;
}

double launchMs()
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", env.value("QT_QPA_PLATFORM", "offscreen"));
    p.setProcessEnvironment(env);
    QElapsedTimer t;
    t.start();
    p.start(NNLAB_GUI, {"--quit-after-shown"});
    p.waitForReadyRead(30000);
    const double ms = static_cast<double>(t.nsecsElapsed()) / 1e6;
    p.waitForFinished(30000);
    return ms;
}

} // namespace

int main(int argc, char** argv)
{
    // LibTorch, and with it OpenBLAS, is loaded before main() here; the nnlab program and
    // nnlab-cli set OPENBLAS_CORETYPE before they load it (blas_cpu.h). Start again with it
    // set, so the GUI side of the GUI/CLI ratio gets the same matrix kernels as both.
    if (const char* core = nnlab::blasCoreTypeForCpu(); core && !std::getenv("OPENBLAS_CORETYPE")) {
        ::setenv("OPENBLAS_CORETYPE", core, 1);
        ::execv("/proc/self/exe", argv);   // returns only if it failed: then measure as is
    }
    nnlab::prepareProcess();   // as the nnlab executable does first (threads, allocator)
    qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? "offscreen" : qgetenv("QT_QPA_PLATFORM"));
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("nnlab-bench");
    const int reps = argc > 1 ? std::max(1, atoi(argv[1])) : 3;
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");

    std::vector<double> cli, gui, lag, launch;
    for (int i = 0; i < reps; ++i) {
        cli.push_back(cliSamplesPerSec(db));
        GuiRun g = guiRun(db);
        gui.push_back(g.samplesPerSec);
        lag.insert(lag.end(), g.lagMs.begin(), g.lagMs.end());
        launch.push_back(launchMs());
        std::fprintf(stderr, "rep %d: cli %.0f samples/s, gui %.0f samples/s\n", i + 1, cli.back(), gui.back());
    }
    const double ratio = median(gui) / std::max(1.0, median(cli));
    std::printf("%-44s %12s %10s\n", "figure (default experiment)", "value", "target");
    std::printf("%-44s %12.0f %10s\n", "nnlab-cli samples/s (median)", median(cli), "");
    std::printf("%-44s %12.0f %10s\n", "GUI samples/s (median)", median(gui), "");
    std::printf("%-44s %12.3f %10s\n", "GUI / CLI throughput", ratio, ">= 0.95");
    std::printf("%-44s %12.2f %10s\n", "event-loop lag p50 while training (ms)", percentile(lag, 0.5), "");
    std::printf("%-44s %12.2f %10s\n", "event-loop lag p99 while training (ms)", percentile(lag, 0.99), "< 16");
    std::printf("%-44s %12.2f %10s\n", "event-loop lag max (ms)", percentile(lag, 1.0), "");
    std::printf("%-44s %12.0f %10s\n", "launch to shown window (ms, median)", median(launch), "< 1000");
    std::printf("JSON: {\"cli_samples_per_sec\": %.1f, \"gui_samples_per_sec\": %.1f, \"gui_cli_ratio\": %.4f, "
                "\"lag_p50_ms\": %.3f, \"lag_p99_ms\": %.3f, \"lag_max_ms\": %.3f, \"launch_ms\": %.1f, \"reps\": %d}\n",
                median(cli), median(gui), ratio, percentile(lag, 0.5), percentile(lag, 0.99), percentile(lag, 1.0),
                median(launch), reps);
    return 0;
}
