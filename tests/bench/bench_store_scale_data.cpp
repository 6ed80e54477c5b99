#include "bench_store_scale_data.h"

#include "nnlab/run_recorder.h"
#include "nnlab/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

namespace scale {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& message)
{
    std::fprintf(stderr, "bench_store_scale: %s\n", message.c_str());
    std::exit(1);
}

// A number in [0, 1) that depends only on (index, salt): runs differ, reruns agree.
double unit(int index, int salt)
{
    uint64_t x = static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(salt) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return static_cast<double>(x >> 11) / 9007199254740992.0;
}

// The default experiment (resources/experiments/fashion-cnn.json) with its own name, lr and
// seed: the size of what a real run stores.
std::string experimentJson(const std::string& name, double lr, int seed, const char* dataset)
{
    char json[2048];
    std::snprintf(json, sizeof(json), R"({
  "format": "nnlab.experiment/1",
  "name": "%s",
  "seed": %d,
  "data": {"source": "%s", "train_limit": 12000, "validation_fraction": 0.1},
  "model": {
    "input": [1, 28, 28],
    "layers": [
      {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "residual", "layers": [
        {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"},
        {"type": "relu"}]},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ]
  },
  "loss": "cross_entropy",
  "optimizer": {"type": "adamw", "lr": %.6g, "weight_decay": 0.01},
  "schedule": {"type": "cosine", "warmup_steps": 100},
  "training": {"epochs": 2, "batch_size": 64, "grad_clip_norm": 1.0, "threads": 0}
})",
                  name.c_str(), seed, dataset, lr);
    return json;
}

// The store is of this build's schema version and holds `runs` finished runs.
bool storeMatches(const std::string& path, int runs)
{
    sqlite3* db = nullptr;
    bool ok = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK;
    auto integer = [&](const char* sql) {
        sqlite3_stmt* statement = nullptr;
        int64_t value = -1;
        if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW)
            value = sqlite3_column_int64(statement, 0);
        sqlite3_finalize(statement);
        return value;
    };
    ok = ok && integer("PRAGMA user_version") == nnlab::kStoreSchemaVersion
         && integer("SELECT count(*) FROM runs WHERE status <> 'running'") == runs;
    sqlite3_close(db);
    return ok;
}

void removeDatabase(const fs::path& path)
{
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(path.string() + suffix, ec);
}

} // namespace

int64_t pointsPerRun(const RunShape& shape)
{
    return (shape.lossOnly ? 1 : 3) * shape.steps
           + (shape.validationEvery > 0 ? 2 * (shape.steps / shape.validationEvery) : 0);
}

std::string recordRun(const std::string& dbPath, int index, const RunShape& shape)
{
    static const char* const datasets[] = {"fashion-mnist", "cifar10", "spiral"};
    const char* dataset = datasets[index % 3];
    const double lr = std::pow(10.0, -4.0 + 2.0 * unit(index, 1));
    char name[64];
    std::snprintf(name, sizeof(name), "cnn-%05d lr=%.2g", index, lr);

    auto recorder = nnlab::RunRecorder::open(dbPath);
    if (!recorder.ok())
        fail(recorder.error.message);
    nnlab::ExperimentSpec spec;
    spec.name = name;
    spec.seed = static_cast<uint64_t>(index);
    spec.data.source = dataset;
    nnlab::RunStartInfo start;
    start.torchVersion = "1.13.1";
    start.device = "cpu";
    start.threads = 2;
    start.parameters = 5000 + static_cast<int64_t>(unit(index, 2) * 900000);
    // The first 2,000 runs are 100 sweeps of 20 trials (the Runs dock groups them), 4 of
    // each pruned; every 7th other run is tagged.
    if (index < 2000) {
        char sweep[32];
        std::snprintf(sweep, sizeof(sweep), "sweep:s%03d", index / 20);
        start.tags.push_back(sweep);
        if (index % 20 >= 16)
            start.tags.push_back("pruned");
    } else if (index % 7 == 0) {
        start.tags.push_back("baseline");
    }
    const auto id = recorder.value->begin(spec, experimentJson(name, lr, index, dataset), start);
    if (!id.ok())
        fail(id.error.message);
    nnlab::TrainInfo info;
    info.device = "cpu";
    info.threads = 2;
    info.parameters = start.parameters;
    info.stepsPerEpoch = std::max<int64_t>(1, shape.steps / 2);
    info.totalSteps = shape.steps;
    recorder.value->updateInfo(info);

    // Curves that differ by run, so that sorting by a metric means something.
    const double floor = 0.15 + 0.6 * unit(index, 3);
    const double tau = static_cast<double>(shape.steps) / (2.0 + 6.0 * unit(index, 4));
    const double wall0 = static_cast<double>(std::time(nullptr));
    std::vector<nnlab::MetricPoint> batch;
    batch.reserve(16384);
    for (int64_t step = 0; step < shape.steps; ++step) {
        const double s = static_cast<double>(step);
        const double wall = wall0 + 0.01 * s;
        const double loss = floor + 2.0 * std::exp(-s / tau) + 0.05 * std::sin(s * 0.37 + index);
        batch.push_back({"train/loss", step, wall, loss});
        if (!shape.lossOnly) {
            batch.push_back({"train/accuracy", step, wall, 1.0 - loss / 3.0});
            batch.push_back({"lr", step, wall, lr * 0.5 * (1.0 + std::cos(3.14159265 * s / static_cast<double>(shape.steps)))});
        }
        if (shape.validationEvery > 0 && step % shape.validationEvery == shape.validationEvery - 1) {
            const double val = floor + 0.04 + 2.0 * std::exp(-s / tau);
            batch.push_back({"val/loss", step, wall, val});
            batch.push_back({"val/accuracy", step, wall, 1.0 - val / 3.0});
        }
        if (batch.size() >= 16000) {
            recorder.value->addMetrics(batch);
            batch.clear();
        }
    }
    recorder.value->addMetrics(batch);
    nnlab::TrainResult result;
    result.status = index % 50 == 7 ? nnlab::TrainStatus::Failed
                    : index % 50 == 13 ? nnlab::TrainStatus::Cancelled
                                       : nnlab::TrainStatus::Finished;
    if (result.status == nnlab::TrainStatus::Failed)
        result.message = "loss is not finite at step " + std::to_string(shape.steps);
    result.steps = shape.steps;
    if (const nnlab::StoreError error = recorder.value->finish(result); !error.ok())
        fail(error.message);
    return id.value;
}

GeneratedStore ensureStoreNiced(const std::string& folder, const std::string& stem, int runs,
                                const std::vector<RunShape>& shapes)
{
    // Generating takes minutes of a core that others share: a child at nice 10 does it,
    // and this process keeps its priority for the timings.
    int pipeFds[2];
    if (pipe(pipeFds) != 0)
        fail("pipe failed");
    const pid_t child = fork();
    if (child == 0) {
        close(pipeFds[0]);
        if (nice(10) == -1)
            std::fprintf(stderr, "bench_store_scale: nice failed, generating at normal priority\n");
        const GeneratedStore made = ensureStore(folder, stem, runs, shapes);
        const double seconds = made.cached ? -1.0 : made.seconds;
        const bool written = write(pipeFds[1], &seconds, sizeof(seconds)) == static_cast<ssize_t>(sizeof(seconds));
        _exit(written ? 0 : 1);
    }
    close(pipeFds[1]);
    double seconds = -1.0;
    const bool read = ::read(pipeFds[0], &seconds, sizeof(seconds)) == static_cast<ssize_t>(sizeof(seconds));
    close(pipeFds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    if (child < 0 || !read || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("generating " + stem + " failed");
    GeneratedStore out = ensureStore(folder, stem, runs, shapes);
    if (!out.cached)
        fail(out.path + " was not complete after it was generated");
    out.cached = seconds < 0;
    out.seconds = std::max(0.0, seconds);
    return out;
}

GeneratedStore ensureStore(const std::string& folder, const std::string& stem, int runs,
                           const std::vector<RunShape>& shapes)
{
    GeneratedStore out;
    const std::string versionPrefix = stem + "-v" + std::to_string(nnlab::kStoreSchemaVersion) + "-";
    const std::string name = versionPrefix + std::to_string(runs) + "x" + std::to_string(pointsPerRun(shapes.front())) + ".db";
    const fs::path path = fs::path(folder) / name;
    const fs::path partial = path.string() + ".partial";
    out.path = path.string();
    std::error_code ec;
    fs::create_directories(folder, ec);
    // Stores of another schema version (or left unfinished) are stale: they only take disk.
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const std::string file = entry.path().filename().string();
        if (file.rfind(stem + "-v", 0) == 0 && file.rfind(versionPrefix, 0) != 0)
            fs::remove(entry.path(), ec);
    }
    if (fs::exists(path) && storeMatches(out.path, runs)) {
        out.cached = true;
        return out;
    }
    removeDatabase(path);
    removeDatabase(partial);

    const auto start = std::chrono::steady_clock::now();
    {
        // Held open for the whole generation, so that each recorder's close is not the last
        // one (which checkpoints the WAL into the file every run).
        auto keepOpen = nnlab::RunStore::open(partial.string());
        if (!keepOpen.ok())
            fail(keepOpen.error.message);
        for (int i = 0; i < runs; ++i) {
            recordRun(partial.string(), i, shapes[static_cast<size_t>(i) % shapes.size()]);
            if ((i + 1) % 500 == 0 || i + 1 == runs) {
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                std::fprintf(stderr, "bench_store_scale: %s: %d/%d runs recorded, %.0f s (%.1f runs/s)\n",
                             name.c_str(), i + 1, runs, seconds, (i + 1) / seconds);
            }
        }
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The last close checkpointed the WAL into the file: the .partial file is the store.
    for (const char* suffix : {"-wal", "-shm"}) {
        if (fs::exists(partial.string() + suffix))
            fail(partial.string() + suffix + " is still there after the store was closed");
    }
    fs::rename(partial, path, ec);
    if (ec)
        fail(out.path + ": " + ec.message());
    return out;
}

} // namespace scale
