// The store bench_store_scale measures: N runs recorded through nnlab's own RunRecorder (the
// file is exactly what training writes: same schema, same chunks), cached under build/bench/
// between runs of the benchmark.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scale {

// What one generated run logs, as the trainer does: train/loss, train/accuracy and lr at
// every step (or train/loss only), val/loss and val/accuracy every `validationEvery` steps.
struct RunShape {
    int64_t steps = 3000;          // 3000 steps of 3 tags + 500 of 2 = 10,000 points
    int64_t validationEvery = 6;   // 0 = no validation metrics
    bool lossOnly = false;         // train/loss alone at every step (a long run's worst case)
};

int64_t pointsPerRun(const RunShape& shape);

// Records run number `index` (its name, dataset, tags, status and curves follow from the
// index) and returns its id. Exits with a message on a store error.
std::string recordRun(const std::string& dbPath, int index, const RunShape& shape);

struct GeneratedStore {
    std::string path;
    bool cached = false;           // found complete and of this schema version
    double seconds = 0.0;          // spent generating (0 when cached)
};

// <folder>/<stem>-v<schema>-<runs>x<points of the first shape>.db: reused when it holds
// `runs` runs and has this build's schema version, else (re)generated through a .partial
// file renamed when complete; other versions of <stem> in the folder are deleted. Run i has
// shapes[i % shapes.size()].
GeneratedStore ensureStore(const std::string& folder, const std::string& stem, int runs,
                           const std::vector<RunShape>& shapes);
// The same, generating (when needed) in a child process at nice 10. Call it before any
// threads start (QApplication).
GeneratedStore ensureStoreNiced(const std::string& folder, const std::string& stem, int runs,
                                const std::vector<RunShape>& shapes);

} // namespace scale
