// Run store benchmark: logging throughput, a downsampled read of a 1M-point series and
// listing 1,000 runs. Prints a table; asserts nothing (machines differ).
//   bench_store [FOLDER]   (default: a fresh folder under $TMPDIR or /tmp)
#include "nnlab/run_recorder.h"
#include "nnlab/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using namespace nnlab;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Median of `repeats` timed calls, in milliseconds.
double medianMs(int repeats, const std::function<void()>& call)
{
    std::vector<double> times;
    for (int i = 0; i < repeats; ++i) {
        const auto start = Clock::now();
        call();
        times.push_back(secondsSince(start) * 1000.0);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

[[noreturn]] void fail(const std::string& message)
{
    std::fprintf(stderr, "bench_store: %s\n", message.c_str());
    std::exit(1);
}

// Logs `total` points over four tags in trainer-sized batches; returns points a second
// from the first call to the end of the final commit.
double logging(const std::string& path, int64_t total, std::string& runId)
{
    auto recorder = RunRecorder::open(path);
    if (!recorder.ok())
        fail(recorder.error.message);
    ExperimentSpec spec;
    spec.name = "bench";
    runId = recorder.value->begin(spec, "{}").value;
    const char* tags[] = {"train/loss", "train/accuracy", "lr", "grad_norm"};
    const int64_t steps = total / 4;
    const auto start = Clock::now();
    std::vector<MetricPoint> batch;
    batch.reserve(4096);
    for (int64_t step = 0; step < steps; ++step) {
        const double wall = 1.7e9 + static_cast<double>(step) * 1e-3;
        for (const char* tag : tags)
            batch.push_back({tag, step, wall, std::sin(static_cast<double>(step) * 1e-4)});
        if (batch.size() >= 4000) {
            recorder.value->addMetrics(batch);
            batch.clear();
        }
    }
    recorder.value->addMetrics(batch);
    TrainResult result;
    result.status = TrainStatus::Finished;
    if (const StoreError error = recorder.value->finish(result); !error.ok())
        fail(error.message);
    return static_cast<double>(steps * 4) / secondsSince(start);
}

// 1,000 runs: a few recorded for real, then cloned by SQL with their series (fast).
void makeRuns(const std::string& path, int count)
{
    const int real = 10;
    for (int i = 0; i < real; ++i) {
        auto recorder = RunRecorder::open(path);
        ExperimentSpec spec;
        spec.name = "run-" + std::to_string(i);
        recorder.value->begin(spec, R"({"name": "x", "optimizer": {"lr": 0.001}})");
        std::vector<MetricPoint> points;
        for (int64_t step = 0; step < 200; ++step) {
            const double v = 1.0 / (1.0 + static_cast<double>(step + i));
            for (const char* tag : {"train/loss", "train/accuracy", "val/loss", "val/accuracy", "lr"})
                points.push_back({tag, step, 1.7e9, v});
        }
        recorder.value->addMetrics(points);
        TrainResult result;
        result.status = TrainStatus::Finished;
        recorder.value->finish(result);
    }
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    std::string sql = "BEGIN;";
    for (int copy = 1; copy * real < count; ++copy) {
        const std::string suffix = std::to_string(copy);
        sql += "INSERT INTO runs(id, name, status, created_at, updated_at, duration, last_step, "
               "experiment, experiment_hash, dataset, parameters) SELECT id || '-" + suffix
               + "', name || '-" + suffix + "', status, created_at + " + suffix
               + ", updated_at, duration, last_step, experiment, experiment_hash, dataset, "
                 "parameters FROM runs WHERE seq <= " + std::to_string(real) + ";"
               "INSERT INTO series(run, tag, count, first_step, last_step, final_value, best_value, "
               "best_step, min_value, max_value) SELECT r2.seq, s.tag, s.count, s.first_step, "
               "s.last_step, s.final_value, s.best_value, s.best_step, s.min_value, s.max_value "
               "FROM series s JOIN runs r ON r.seq = s.run JOIN runs r2 ON r2.id = r.id || '-"
               + suffix + "' WHERE r.seq <= " + std::to_string(real) + ";";
    }
    sql += "COMMIT;";
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK)
        fail(message ? message : "clone failed");
    sqlite3_close(db);
}

void row(const char* name, const std::string& result, const char* target)
{
    std::printf("%-48s %16s   %s\n", name, result.c_str(), target);
}

std::string number(double value, const char* unit)
{
    char text[64];
    std::snprintf(text, sizeof(text), value >= 100 ? "%.0f%s" : "%.1f%s", value, unit);
    return text;
}

} // namespace

int main(int argc, char** argv)
{
    namespace fs = std::filesystem;
    fs::path folder;
    if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
        std::printf("bench_store [FOLDER]  (the run store goes in FOLDER, default a new temporary folder)\n");
        return 0;
    }
    if (argc > 2 || (argc > 1 && argv[1][0] == '-')) {
        std::fprintf(stderr, "bench_store: unknown argument '%s' (bench_store [FOLDER]; --help)\n", argv[argc > 2 ? 2 : 1]);
        return 2;
    }
    if (argc > 1) {
        folder = argv[1];
    } else {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/nnlab-bench-XXXXXX";
        if (!mkdtemp(pattern.data()))
            fail("cannot create a temporary folder");
        folder = pattern;
    }
    fs::create_directories(folder);
    const std::string logPath = (folder / "logging.db").string();
    const std::string listPath = (folder / "list.db").string();
    fs::remove(logPath);
    fs::remove(listPath);

    std::printf("%-48s %16s   %s\n", "benchmark", "result", "target");
    std::string runId;
    const double rate = logging(logPath, 2000000, runId);
    row("logging throughput, 2M points (points/s)", number(rate, ""), ">= 500000");

    // A second run of exactly 1M points of one tag, the plot's worst case.
    std::string longRun;
    {
        auto recorder = RunRecorder::open(logPath);
        ExperimentSpec spec;
        longRun = recorder.value->begin(spec, "{}").value;
        std::vector<MetricPoint> batch;
        for (int64_t step = 0; step < 1000000; ++step) {
            batch.push_back({"train/loss", step, 1.7e9, std::sin(static_cast<double>(step))});
            if (batch.size() == 10000) {
                recorder.value->addMetrics(batch);
                batch.clear();
            }
        }
        TrainResult result;
        result.status = TrainStatus::Finished;
        recorder.value->finish(result);
    }
    auto store = RunStore::open(logPath, {true, 5000});
    if (!store.ok())
        fail(store.error.message);
    size_t buckets = 0;
    const double downsampled = medianMs(15, [&] {
        buckets = store.value->seriesDownsampled(longRun, "train/loss", 0, 999999, 2000).value.size();
    });
    row("1M-point series -> 2000 buckets (median ms)", number(downsampled, " ms"), "< 50 ms");
    const double zoomed = medianMs(15, [&] {
        store.value->seriesDownsampled(longRun, "train/loss", 400000, 410000, 2000);
    });
    row("10k-step zoom -> 2000 buckets (median ms)", number(zoomed, " ms"), "-");
    size_t points = 0;
    const double full = medianMs(5, [&] { points = store.value->series(longRun, "train/loss").value.size(); });
    row("1M-point series at full resolution (median ms)", number(full, " ms"), "-");
    if (buckets != 2000 || points != 1000000)
        fail("unexpected read sizes");

    makeRuns(listPath, 1000);
    auto list = RunStore::open(listPath);
    if (!list.ok())
        fail(list.error.message);
    size_t runs = 0;
    const double listed = medianMs(11, [&] { runs = list.value->listRuns().value.size(); });
    row("list 1000 runs (median ms)", number(listed, " ms"), "< 100 ms");
    RunFilter byAccuracy;
    byAccuracy.sortBy = "val/accuracy";
    const double sorted = medianMs(11, [&] { list.value->listRuns(byAccuracy); });
    row("list 1000 runs sorted by val/accuracy (median ms)", number(sorted, " ms"), "-");
    if (runs != 1000)
        fail("expected 1000 runs, listed " + std::to_string(runs));

    auto writable = RunStore::open(logPath);
    const auto start = Clock::now();
    if (const StoreError error = writable.value->deleteRun(longRun).error; !error.ok())
        fail(error.message);
    row("delete a 1M-point run (ms)", number(secondsSince(start) * 1000.0, " ms"), "-");

    if (argc <= 1)
        fs::remove_all(folder);
    return 0;
}
