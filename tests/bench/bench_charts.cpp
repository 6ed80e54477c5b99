// Charts benchmark: the redraw time of the three charts holding 20 runs of 100,000 points
// per dense series (train/loss, train/accuracy, lr; plus 100 validation points each), at a
// typical window size, offscreen. Prints median and 95th percentile over 50 redraws for:
//   stored  - the 20 runs overlaid from a run store (bucketed overviews), plus a 21st run
//             of 100,000 points streaming live
//   memory  - 20 runs streamed in through appendMetrics (every point in memory), the last
//             one still live
// and, for each, a redraw of a still view, a pan, a zoom step, a jump to 10% of the range (the
// next frame, a redraw while the finer store reads run on the loader thread, and apart, the
// time until the refined data is drawn), a live batch and a change of the smoothing weight;
// wall-clock and the GUI thread's CPU time (on a busy machine the CPU time is what the same
// redraw takes on an idle one). The target: every interaction's next frame within 16 ms by
// wall clock (one frame at 60 Hz); the refined data landing later is reported, not judged.
//   bench_charts [RUNS [POINTS [stored|memory]]]
#include "charts/charts_panel.h"
#include "charts/metric_chart.h"

#include "nnlab/run_recorder.h"
#include "nnlab/store.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

constexpr int kRepeats = 50;
constexpr int kWidth = 1280;
constexpr int kHeight = 800;

struct Stats {
    double median = 0;      // wall clock
    double p95 = 0;
    double cpuMedian = 0;   // this thread's CPU time: what the redraw costs on an idle machine
    double cpuP95 = 0;
};

double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Times call(i); then(i), when given, runs after each call untimed.
Stats timeIt(const std::function<void(int)>& call, const std::function<void(int)>& then = {})
{
    std::vector<double> wall, cpu;
    call(-1);   // warm-up
    if (then)
        then(-1);
    for (int i = 0; i < kRepeats; ++i) {
        QElapsedTimer timer;
        timer.start();
        const double cpuStart = threadCpuMs();
        call(i);
        cpu.push_back(threadCpuMs() - cpuStart);
        wall.push_back(timer.nsecsElapsed() / 1e6);
        if (then)
            then(i);
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    const size_t p95 = static_cast<size_t>(std::ceil(0.95 * kRepeats)) - 1;
    return {wall[kRepeats / 2], wall[p95], cpu[kRepeats / 2], cpu[p95]};
}

double lossAt(int run, int64_t step)
{
    const double s = static_cast<double>(step);
    return (0.3 + 0.05 * run) + 2.0 * std::exp(-s / 20000.0) + 0.05 * std::sin(s * 0.37 + run);
}

std::vector<nnlab::MetricPoint> runPoints(int run, int64_t from, int64_t count)
{
    std::vector<nnlab::MetricPoint> out;
    out.reserve(static_cast<size_t>(3 * count));
    for (int64_t step = from; step < from + count; ++step) {
        const double t = 1.7e9 + 0.01 * static_cast<double>(step);
        const double loss = lossAt(run, step);
        out.push_back({"train/loss", step, t, loss});
        out.push_back({"train/accuracy", step, t, 1.0 - loss / 3.0});
        out.push_back({"lr", step, t, 1e-3 * 0.5 * (1 + std::cos(3.14159 * static_cast<double>(step) / 1e5))});
        if (step % 1000 == 999) {
            out.push_back({"val/loss", step, t, loss + 0.05});
            out.push_back({"val/accuracy", step, t, 1.0 - (loss + 0.05) / 3.0});
        }
    }
    return out;
}

// frame: a row the 16 ms target applies to (what the user waits for after an interaction);
// otherwise "-" (work that lands later, in the background).
void printRow(const char* scenario, const char* action, const Stats& s, bool frame = true)
{
    std::printf("| %-7s | %-36s | %8.2f | %8.2f | %8.2f | %8.2f | %-4s |\n", scenario, action, s.median, s.p95,
                s.cpuMedian, s.cpuP95, !frame ? "-" : s.median < 16.0 ? "yes" : "no");
}

void measure(ChartsPanel& panel, const char* scenario, const QString& liveRun)
{
    charts::MetricChart* loss = panel.chart(ChartsPanel::LossChart);
    panel.setFollow(false);
    panel.resetView();
    panel.replotNow();
    panel.setFollow(false);

    panel.waitForDetail();
    printRow(scenario, "redraw, still view", timeIt([&](int) { panel.replotNow(); }));
    const QCPRange full = loss->xAxis->range();
    printRow(scenario, "pan 2% of the view", timeIt([&](int i) {
        const double shift = (i % 40 < 20 ? 1 : -1) * 0.02 * full.size();
        for (int c = 0; c < ChartsPanel::ChartCount; ++c)
            panel.chart(c)->xAxis->moveRange(shift);
        panel.replotNow();
    }));

    printRow(scenario, "zoom step (x0.85 / x1/0.85)", timeIt([&](int i) {
        const double factor = (i / 8) % 2 ? 1 / 0.85 : 0.85;
        for (int c = 0; c < ChartsPanel::ChartCount; ++c)
            panel.chart(c)->xAxis->scaleRange(factor, panel.chart(c)->xAxis->range().center());
        panel.replotNow();
    }));

    // A jump to 10% of the range (a zoom box, a double-click on an alert): the next frame is
    // drawn from what the charts hold; the finer store reads then run on the loader thread
    // (stored runs) and land in a later frame. Timed apart: the frame the user waits for, and
    // the whole wait until the refined data is drawn.
    const auto jump = [&](int i) {
        for (int c = 0; c < ChartsPanel::ChartCount; ++c) {
            QCPAxis* x = panel.chart(c)->xAxis;
            const double width = 0.1 * full.size();
            const double lower = full.lower + (i + 1) % 9 * width;
            x->setRange(lower, lower + width);
        }
        panel.replotNow();
    };
    const auto refine = [&](int) {
        panel.loadDetail();   // what the debounce timer does once the view rests
        panel.waitForDetail();
        panel.replotNow();
    };
    printRow(scenario, "jump-zoom to 10%: next frame", timeIt(jump, refine));
    printRow(scenario, "  while the reads run: a redraw", timeIt(
        [&](int) { panel.replotNow(); },
        [&](int i) {
            panel.waitForDetail();
            jump(i + 1);
            panel.loadDetail();
        }));
    panel.waitForDetail();
    printRow(scenario, "  refined data drawn (background)", timeIt([&](int i) {
        jump(i);
        refine(i);
    }), false);

    panel.resetView();
    panel.replotNow();
    int64_t next = 100000;
    printRow(scenario, "live batch of 300 points, follow", timeIt([&](int) {
        const auto points = runPoints(0, next, 100);
        next += 100;
        panel.appendMetrics(liveRun, QVector<nnlab::MetricPoint>(points.begin(), points.end()));
        panel.replotNow();
    }));

    printRow(scenario, "smoothing slider moved", timeIt([&](int i) {
        panel.setSmoothing(0.5 + 0.4 * (i % 10) / 10.0 + 0.001);
        panel.replotNow();
    }));
}

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("bench_charts [RUNS [POINTS [stored|memory]]]  (default 20 runs of 100000 points, both)\n");
            return 0;
        }
        const bool number = !a.empty() && a.find_first_not_of("0123456789") == std::string::npos;
        if ((i < 3 && !number) || (i == 3 && a != "stored" && a != "memory") || i > 3) {
            std::fprintf(stderr, "bench_charts: unexpected argument '%s' (try --help)\n", a.c_str());
            return 2;
        }
    }
    qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? QByteArray("offscreen")
                                                                   : qgetenv("QT_QPA_PLATFORM"));
    QApplication app(argc, argv);
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
    const int64_t points = argc > 2 ? std::max(1000, std::atoi(argv[2])) : 100000;
    const QString only = argc > 3 ? QString::fromLocal8Bit(argv[3]) : QString();

    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("bench.db"));
    QStringList ids;
    QElapsedTimer timer;
    timer.start();
    for (int r = 0; r < runs; ++r) {
        auto recorder = nnlab::RunRecorder::open(db.toStdString());
        if (!recorder.ok()) {
            std::fprintf(stderr, "bench_charts: %s\n", recorder.error.message.c_str());
            return 1;
        }
        nnlab::ExperimentSpec spec;
        spec.name = "bench run " + std::to_string(r + 1);
        const auto id = recorder.value->begin(spec, "{}");
        for (int64_t from = 0; from < points; from += 10000)
            recorder.value->addMetrics(runPoints(r, from, std::min<int64_t>(10000, points - from)));
        nnlab::TrainResult result;
        result.status = nnlab::TrainStatus::Finished;
        recorder.value->finish(result);
        ids << QString::fromStdString(id.value);
    }
    std::printf("bench_charts: %d runs x %lld points x 3 dense tags, window %dx%d, offscreen, %d redraws a row\n",
                runs, static_cast<long long>(points), kWidth, kHeight, kRepeats);
    double load[3] = {0, 0, 0};
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        std::fclose(f);
    }
    std::printf("(store written in %.1f s; load average %.2f; times in ms; <16: wall median under 16 ms, one frame at 60 Hz)\n\n",
                timer.elapsed() / 1000.0, load[0]);
    std::printf("| data    | action                               | wall med | wall p95 |  cpu med |  cpu p95 | <16  |\n");
    std::printf("|---------|--------------------------------------|----------|----------|----------|----------|------|\n");

    if (only.isEmpty() || only == QLatin1String("stored")) {
        ChartsPanel panel;
        panel.resize(kWidth, kHeight);
        panel.show();
        panel.setStorePath(db);
        timer.restart();
        panel.setOverlaidRuns(ids);
        panel.replotNow();
        const double loadMs = timer.nsecsElapsed() / 1e6;
        panel.beginLiveRun(QStringLiteral("live"), QStringLiteral("live"), 1000);
        const auto first = runPoints(0, 0, points);
        panel.appendMetrics(QStringLiteral("live"), QVector<nnlab::MetricPoint>(first.begin(), first.end()));
        measure(panel, "stored", QStringLiteral("live"));
        // A look at what was measured: BENCH_CHARTS_PNG=loss.png writes the loss chart as drawn.
        if (qEnvironmentVariableIsSet("BENCH_CHARTS_PNG"))
            panel.chart(ChartsPanel::LossChart)->grab().save(qEnvironmentVariable("BENCH_CHARTS_PNG"));
        std::printf("| stored  | %-36s | %8.1f |          |          |          | -    |\n", "overlay the runs (load + draw)", loadMs);
    }
    if (only.isEmpty() || only == QLatin1String("memory")) {
        ChartsPanel panel;
        panel.resize(kWidth, kHeight);
        panel.show();
        timer.restart();
        for (int r = 0; r < runs; ++r) {
            const QString id = QStringLiteral("mem-%1").arg(r);
            panel.beginLiveRun(id, QStringLiteral("memory run %1").arg(r + 1), 1000);
            const auto all = runPoints(r, 0, points);
            panel.appendMetrics(id, QVector<nnlab::MetricPoint>(all.begin(), all.end()));
            if (r + 1 < runs)
                panel.endLiveRun(id);
            panel.setOverlaidRuns(panel.shownRuns());
        }
        panel.replotNow();
        const double loadMs = timer.nsecsElapsed() / 1e6;
        measure(panel, "memory", QStringLiteral("mem-%1").arg(runs - 1));
        std::printf("| memory  | %-36s | %8.1f |          |          |          | -    |\n", "append the runs (first draw)", loadMs);
    }
    return 0;
}
