// `nnlab-cli runs list` without LibTorch: the same store call and the same columns, in a
// process that links the store only. bench_store_scale times it beside nnlab-cli to show
// what the CLI's start-up (LibTorch's operator registration, ~290 shared libraries) costs.
//   bench_store_scale_list DB
#include "nnlab/run_export.h"
#include "nnlab/store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: bench_store_scale_list DB\n");
        return 2;
    }
    auto store = nnlab::RunStore::open(argv[1]);
    if (!store.ok()) {
        std::fprintf(stderr, "%s\n", store.error.message.c_str());
        return 1;
    }
    const auto runs = store.value->listRuns();
    if (!runs.ok()) {
        std::fprintf(stderr, "%s\n", runs.error.message.c_str());
        return 1;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "NAME", "STATUS", "DATASET", "PARAMS", "BEST VAL/ACC", "DURATION"}};
    for (const nnlab::RunSummary& run : runs.value) {
        const auto best = run.metrics.find("val/accuracy");
        char accuracy[32] = "-";
        if (best != run.metrics.end() && !std::isnan(best->second.bestValue))
            std::snprintf(accuracy, sizeof(accuracy), "%.6g", best->second.bestValue);
        rows.push_back({run.id, run.name, nnlab::toString(run.status), run.dataset.empty() ? "-" : run.dataset,
                        std::to_string(run.parameters), accuracy, nnlab::formatDuration(run.duration)});
    }
    std::vector<size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c)
            widths[c] = std::max(widths[c], row[c].size());
    std::string line;
    for (const auto& row : rows) {
        line.clear();
        for (size_t c = 0; c < row.size(); ++c)
            line += row[c] + std::string(widths[c] - row[c].size() + 2, ' ');
        std::puts(line.c_str());
    }
    return 0;
}
