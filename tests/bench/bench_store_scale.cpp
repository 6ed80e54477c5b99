// The run store at scale: 10,000 runs of 10,000 points each (100M points), recorded through
// RunRecorder and cached in build/bench/ (see bench_store_scale_data.h). Measures, medians
// of several repetitions:
//   - `nnlab-cli runs list` as a whole process, and RunStore::open + listRuns alone;
//   - the Runs dock (RunsPanel, offscreen) opened and drawn, then sorted by each column;
//   - ticking 50 runs in the Runs dock until the charts have loaded and replotted them;
//   - `nnlab-cli runs export` of a 1,000,000-point run against a 10,000-point one: the
//     child's peak RSS must not grow with the run (streamed, not loaded whole);
//   - the store's size per million points.
// Prints a table (and one BENCH_JSON line); asserts nothing, since machines differ.
//   bench_store_scale [--runs N] [--folder DIR] [--only list|dock|overlay|export]
//   (defaults: 10000 runs, folder build/bench)
#include "bench_store_scale_data.h"

#include "charts/charts_panel.h"
#include "runs/runs_model.h"
#include "runs/runs_panel.h"

#include "nnlab/store.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QHeaderView>
#include <QTreeView>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

struct Figure {
    std::string key;
    std::string label;
    double value = 0.0;
    std::string unit;
    double target = kNone;   // an upper bound; NaN = reported only
};

std::vector<Figure> g_figures;

void report(const std::string& key, const std::string& label, double value, const std::string& unit,
            double target = kNone)
{
    g_figures.push_back({key, label, value, unit, target});
    std::fprintf(stderr, "bench_store_scale: %s: %.1f %s\n", label.c_str(), value, unit.c_str());
}

[[noreturn]] void fail(const std::string& message)
{
    std::fprintf(stderr, "bench_store_scale: %s\n", message.c_str());
    std::exit(1);
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    return values.empty() ? kNone : values[values.size() / 2];
}

// Median of `repeats` calls after one warm-up call, in ms.
double medianMs(int repeats, const std::function<void()>& call)
{
    call();
    std::vector<double> times;
    for (int i = 0; i < repeats; ++i) {
        QElapsedTimer timer;
        timer.start();
        call();
        times.push_back(timer.nsecsElapsed() / 1e6);
    }
    return median(times);
}

struct ChildRun {
    double ms = 0.0;          // spawn to exit
    long maxRssKb = 0;        // the child's peak resident set (wait4's ru_maxrss)
    long streamRssKb = 0;     // the child's largest VmRSS seen while its output flowed
    int64_t bytes = 0;        // written to stdout (read here through a pipe, as a shell would)
    int status = -1;
};

// VmRSS of a live process in kB; 0 once it has exited.
long residentKb(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::atol(line.c_str() + 6);
    }
    return 0;
}

ChildRun runChild(const std::vector<std::string>& args)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        fail("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (const std::string& arg : args)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ChildRun run;
    QElapsedTimer timer;
    timer.start();
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0)
        fail("cannot start " + args[0]);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    std::vector<char> buffer(1 << 16);
    // LibTorch's start-up peaks at some 170 MB before main() (ru_maxrss reports that), so
    // what the command itself holds shows in VmRSS while it writes; sampled at each read.
    for (ssize_t n; (n = read(out[0], buffer.data(), buffer.size())) != 0;) {
        if (n > 0) {
            run.bytes += n;
            run.streamRssKb = std::max(run.streamRssKb, residentKb(pid));
        } else if (errno != EINTR) {
            break;
        }
    }
    close(out[0]);
    rusage usage{};
    int status = 0;
    wait4(pid, &status, 0, &usage);
    run.ms = timer.nsecsElapsed() / 1e6;
    run.maxRssKb = usage.ru_maxrss;
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

// Median wall time of `repeats` runs of the command (after a warm-up); fails on exit != 0.
ChildRun medianChild(int repeats, const std::vector<std::string>& args)
{
    runChild(args);
    std::vector<ChildRun> runs;
    for (int i = 0; i < repeats; ++i) {
        runs.push_back(runChild(args));
        if (runs.back().status != 0)
            fail(args[0] + ": exit status " + std::to_string(runs.back().status));
    }
    std::sort(runs.begin(), runs.end(), [](const ChildRun& a, const ChildRun& b) { return a.ms < b.ms; });
    return runs[runs.size() / 2];
}

std::string cpuDescription()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line, model, flags;
    while (std::getline(cpuinfo, line)) {
        if (model.empty() && line.rfind("model name", 0) == 0)
            model = line.substr(line.find(':') + 2);
        if (flags.empty() && line.rfind("flags", 0) == 0)
            flags = line.substr(line.find(':') + 1);
    }
    std::string avx;
    for (const char* flag : {"avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"}) {
        if ((flags + " ").find(std::string(" ") + flag + " ") != std::string::npos)
            avx += (avx.empty() ? "" : " ") + std::string(flag);
    }
    return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores, "
           + (avx.empty() ? std::string("no AVX") : avx);
}

double loadAverage()
{
    double load = -1;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1)
            load = -1;
        std::fclose(f);
    }
    return load;
}

// This thread's CPU time: on a busy machine, what the same work takes on an idle one.
double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Drops the file's pages from the OS cache (only this file's: other processes keep theirs).
void dropFromPageCache(const std::string& path)
{
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

// ---- the figures ----

void measureList(const std::string& cli, const std::string& db)
{
    const ChildRun start = medianChild(5, {cli, "--version"});
    report("cli_start_ms", "nnlab-cli --version (process start, no store)", start.ms, "ms");
    const ChildRun list = medianChild(5, {cli, "runs", "list", "--db", db});
    // Issue 15: under 150 ms as a whole process (the store call alone keeps 200).
    report("cli_list_ms", "nnlab-cli runs list (whole process)", list.ms, "ms", 150);
    const ChildRun sorted = medianChild(5, {cli, "runs", "list", "--db", db, "--sort", "val/accuracy"});
    report("cli_list_sorted_ms", "nnlab-cli runs list --sort val/accuracy", sorted.ms, "ms", 150);
    const ChildRun lean = medianChild(5, {NNLAB_LEAN_LIST, db});
    report("lean_list_ms", "the same list in a process without LibTorch (bench_store_scale_list)", lean.ms, "ms");

    size_t count = 0;
    const double open = medianMs(7, [&] {
        auto store = nnlab::RunStore::open(db);
        if (!store.ok())
            fail(store.error.message);
    });
    report("store_open_ms", "RunStore::open (writable, as the CLI)", open, "ms");
    auto store = nnlab::RunStore::open(db);
    const double listed = medianMs(7, [&] { count = store.value->listRuns().value.size(); });
    report("store_list_ms", "RunStore::listRuns (the store call alone)", listed, "ms", 200);
    nnlab::RunFilter byAccuracy;
    byAccuracy.sortBy = "val/accuracy";
    const double listedSorted = medianMs(7, [&] { store.value->listRuns(byAccuracy); });
    report("store_list_sorted_ms", "RunStore::listRuns sorted by val/accuracy", listedSorted, "ms", 200);
    std::fprintf(stderr, "bench_store_scale: listed %zu runs, %lld bytes of table\n", count,
                 static_cast<long long>(list.bytes));
}

void measureRunsDock(const std::string& db)
{
    const QString path = QString::fromStdString(db);
    // What the main window does: the store is set, then the dock is shown and drawn.
    const double open = medianMs(3, [&] {
        RunsPanel panel;
        panel.resize(1280, 400);
        panel.setStorePath(path);
        panel.show();
        QCoreApplication::processEvents();
        panel.grab();
    });
    report("dock_open_ms", "Runs dock opened and drawn", open, "ms", 300);

    RunsPanel panel;
    panel.resize(1280, 400);
    panel.setStorePath(path);
    panel.show();
    QCoreApplication::processEvents();
    QTreeView* view = panel.view();
    double worst = 0.0;
    std::string worstColumn;
    for (int column = RunsTableModel::StatusColumn; column < RunsTableModel::ColumnCount; ++column) {
        int flip = 0;
        const double ms = medianMs(3, [&] {
            view->sortByColumn(column, flip++ % 2 ? Qt::AscendingOrder : Qt::DescendingOrder);
            panel.grab();
        });
        const std::string name = panel.model()->headerData(column, Qt::Horizontal).toString().toStdString();
        std::fprintf(stderr, "bench_store_scale: sort by %s: %.1f ms\n", name.c_str(), ms);
        if (ms > worst) {
            worst = ms;
            worstColumn = name;
        }
    }
    report("dock_sort_ms", "Runs dock sorted and drawn (slowest column: " + worstColumn + ")", worst, "ms", 300);
    const double refresh = medianMs(3, [&] { panel.refresh(); });
    report("dock_refresh_ms", "Runs dock refresh, nothing changed (its auto-refresh while shown)", refresh, "ms");
}

void measureOverlay(const std::string& db)
{
    const QString path = QString::fromStdString(db);
    RunsPanel runs;
    ChartsPanel charts;
    // As the main window wires them: a tick in the Runs dock overlays the run.
    QObject::connect(&runs, &RunsPanel::overlayChanged, &charts, &ChartsPanel::setOverlaidRuns);
    runs.resize(1280, 400);
    charts.resize(1280, 800);
    charts.setStorePath(path);
    runs.setStorePath(path);
    runs.show();
    charts.show();
    QCoreApplication::processEvents();
    const auto& all = runs.model()->runs();
    struct Times {
        std::vector<double> total, ticks, loads, cpu;
    } cold, warm;
    int points = 0;
    for (int repeat = 0; repeat < 6; ++repeat) {
        // A different 50 each time: nothing is already loaded.
        QStringList ids;
        for (int i = 0; i < 50; ++i)
            ids << QString::fromStdString(all[(static_cast<size_t>(i) * 197 + static_cast<size_t>(repeat) * 31) % all.size()].id);
        // Cold: the store's pages dropped from the OS cache (this file only), so the chunks
        // come from the disk, as when runs are ticked for the first time since a reboot.
        // Warm: the same 50 again, unticked in between (the charts drop them), read from
        // the OS cache: what the code costs.
        for (Times* times : {&cold, &warm}) {
            runs.setTickedRuns({});
            charts.replotNow();
            if (times == &cold)
                dropFromPageCache(db);
            QElapsedTimer timer;
            timer.start();
            const double cpuStart = threadCpuMs();
            runs.setTickedRuns(ids);
            const double loaded = timer.nsecsElapsed() / 1e6;
            charts.replotNow();
            const double total = timer.nsecsElapsed() / 1e6;
            const double cpu = threadCpuMs() - cpuStart;
            // The same ticks without the charts: the Runs dock's part.
            QObject::disconnect(&runs, &RunsPanel::overlayChanged, &charts, &ChartsPanel::setOverlaidRuns);
            runs.setTickedRuns({});
            timer.restart();
            runs.setTickedRuns(ids);
            const double tick = timer.nsecsElapsed() / 1e6;
            QObject::connect(&runs, &RunsPanel::overlayChanged, &charts, &ChartsPanel::setOverlaidRuns);
            if (repeat > 0) {
                times->total.push_back(total);
                times->cpu.push_back(cpu);
                times->loads.push_back(loaded - tick);
                times->ticks.push_back(tick);
            }
        }
        points = charts.graphPointCount(ChartsPanel::LossChart, ids.front(), QStringLiteral("train/loss"));
    }
    if (charts.shownRuns().size() != 50 || points <= 0)
        fail("the charts do not show the 50 ticked runs");
    const double redraw = medianMs(5, [&] { charts.replotNow(); });
    const double total = median(warm.total);
    report("overlay_50_ms", "50 runs ticked in the Runs dock, read, charts replotted", total, "ms", 100);
    report("overlay_50_cpu_ms", "  its CPU time (what it takes on an idle machine)", median(warm.cpu), "ms");
    report("overlay_50_tick_ms", "  of which the ticks in the Runs dock", median(warm.ticks), "ms");
    report("overlay_50_load_ms", "  of which reading the 50 runs (ChartsPanel::setOverlaidRuns)", median(warm.loads), "ms");
    report("overlay_50_draw_ms", "  of which smoothing and drawing (ChartsPanel::replotNow)",
           total - median(warm.ticks) - median(warm.loads), "ms");
    report("overlay_50_redraw_ms", "  (a redraw of the 50 runs' charts, nothing changed)", redraw, "ms");
    report("overlay_50_cold_ms", "the same, store not in the OS cache (reads from this disk)", median(cold.total), "ms");
    report("overlay_50_cold_load_ms", "  of which reading the 50 runs", median(cold.loads), "ms");
}

// One series of 1,000,000 points (a long run's loss at every step: loaded whole it would
// take 24 MB), and a usual run of 10,000 points.
scale::GeneratedStore exportStore(const std::string& folder)
{
    scale::RunShape big;
    big.steps = 1000000;
    big.validationEvery = 0;
    big.lossOnly = true;
    return scale::ensureStoreNiced(folder, "store_scale_export", 2, {big, scale::RunShape{}});
}

void measureExport(const std::string& cli, const scale::GeneratedStore& store)
{
    auto opened = nnlab::RunStore::open(store.path);
    if (!opened.ok())
        fail(opened.error.message);
    std::string shortRun;
    std::string longRun;
    for (const nnlab::RunSummary& run : opened.value->listRuns().value) {
        int64_t points = 0;
        for (const auto& entry : run.metrics)
            points += entry.second.count;
        (points >= 1000000 ? longRun : shortRun) = run.id;
    }
    if (shortRun.empty() || longRun.empty())
        fail(store.path + ": expected a run of 1M points and one of 10,000");
    opened.value.reset();
    for (const std::string format : {"csv", "json"}) {
        const ChildRun small = runChild({cli, "runs", "export", shortRun, "--format", format, "--db", store.path});
        const ChildRun large = runChild({cli, "runs", "export", longRun, "--format", format, "--db", store.path});
        if (small.status != 0 || large.status != 0)
            fail("runs export --format " + format + " failed");
        const std::string what = "runs export --format " + format + ": ";
        report("export_" + format + "_rss_10k_mb", what + "RSS while writing, 10,000 points", small.streamRssKb / 1024.0, "MB");
        report("export_" + format + "_rss_1m_mb", what + "RSS while writing, 1,000,000 points", large.streamRssKb / 1024.0, "MB");
        // Streamed, the long run may hold a few MB more (SQLite's 2 MB page cache fills, a
        // window of points), not 24 MB a million points.
        report("export_" + format + "_rss_growth_mb", what + "RSS growth, 1M vs 10k points",
               (large.streamRssKb - small.streamRssKb) / 1024.0, "MB", 5);
        report("export_" + format + "_peak_mb", what + "peak RSS (ru_maxrss, LibTorch's start-up), 1M", large.maxRssKb / 1024.0, "MB");
        report("export_" + format + "_1m_s", what + "1M points, whole process (" + std::to_string(large.bytes / 1000000) + " MB out)",
               large.ms / 1000.0, "s");
    }
}

void printTable(const std::string& machine, int runs, int64_t points, const scale::GeneratedStore& store,
                double sizeBytes)
{
    std::printf("bench_store_scale: %d runs x %lld points (%.1fM points), %s\n", runs,
                static_cast<long long>(points), runs * static_cast<double>(points) / 1e6, store.path.c_str());
    std::printf("machine: %s; load average %.2f\n", machine.c_str(), loadAverage());
    std::printf("store: %.2f GB, %s\n\n", sizeBytes / 1e9,
                store.cached ? "cached from an earlier run"
                             : ("generated through RunRecorder in " + std::to_string(static_cast<int>(store.seconds))
                                + " s").c_str());
    std::printf("| %-72s | %10s | %8s | %-4s |\n", "figure", "value", "target", "pass");
    std::printf("|%s|%s|%s|%s|\n", std::string(74, '-').c_str(), std::string(12, '-').c_str(),
                std::string(10, '-').c_str(), std::string(6, '-').c_str());
    std::string json = "BENCH_JSON {\"name\": \"bench_store_scale\", \"figures\": [";
    for (size_t i = 0; i < g_figures.size(); ++i) {
        const Figure& f = g_figures[i];
        const bool checked = !std::isnan(f.target);
        const bool pass = !checked || f.value < f.target;
        char value[32], target[32];
        std::snprintf(value, sizeof(value), "%.1f %s", f.value, f.unit.c_str());
        std::snprintf(target, sizeof(target), checked ? "< %.0f" : "-", f.target);
        std::printf("| %-72s | %10s | %8s | %-4s |\n", f.label.c_str(), value, target,
                    checked ? (pass ? "yes" : "MISS") : "");
        char entry[512];
        std::snprintf(entry, sizeof(entry),
                      "%s{\"key\": \"%s\", \"label\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"target\": %s, "
                      "\"pass\": %s}",
                      i ? ", " : "", f.key.c_str(), f.label.c_str(), f.value, f.unit.c_str(),
                      checked ? std::to_string(f.target).c_str() : "null", pass ? "true" : "false");
        json += entry;
    }
    std::printf("\n%s]}\n", json.c_str());
}

} // namespace

int main(int argc, char** argv)
{
    qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? QByteArray("offscreen")
                                                                   : qgetenv("QT_QPA_PLATFORM"));
    int runs = 10000;
    std::string only;   // one part for development: list, dock, overlay, export
    std::string folder = std::string(NNLAB_BINARY_DIR) + "/bench";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--runs" && i + 1 < argc)
            runs = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--only" && i + 1 < argc)
            only = argv[++i];
        else if (arg == "--folder" && i + 1 < argc)
            folder = argv[++i];
        else if (arg == "--help" || arg == "-h") {
            std::printf("bench_store_scale [--runs N] [--folder DIR] [--only list|dock|overlay|export]\n"
                        "  (defaults: 10000 runs, folder %s/bench)\n", NNLAB_BINARY_DIR);
            return 0;
        } else {
            std::fprintf(stderr, "bench_store_scale: unknown argument '%s' (try --help)\n", arg.c_str());
            return 2;
        }
    }
    const scale::RunShape shape;
    const scale::GeneratedStore store = scale::ensureStoreNiced(folder, "store_scale", runs, {shape});
    const scale::GeneratedStore exported = exportStore(folder);
    int qtArgc = 1;
    QApplication app(qtArgc, argv);
    const std::string cli = NNLAB_CLI;
    const double sizeBytes = static_cast<double>(fs::file_size(store.path));
    const double points = runs * static_cast<double>(scale::pointsPerRun(shape));

    const auto part = [&](const char* name) { return only.empty() || only == name; };
    if (part("list"))
        measureList(cli, store.path);
    if (part("dock"))
        measureRunsDock(store.path);
    if (part("overlay"))
        measureOverlay(store.path);
    if (part("export"))
        measureExport(cli, exported);
    report("store_mb_per_million", "store file size per million points (24 bytes a point raw)",
           sizeBytes / 1e6 / (points / 1e6), "MB");
    if (!store.cached)
        report("generation_s", "generating the store through RunRecorder", store.seconds, "s");
    printTable(cpuDescription(), runs, scale::pointsPerRun(shape), store, sizeBytes);
    return 0;
}
