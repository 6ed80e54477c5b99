// The Pareto frontier of compared runs (nnlab/compress.h): accuracy against a cost. No
// LibTorch: the window's chart draws it without the engine module (engine/src/lazy).
#include "nnlab/compress.h"

#include <algorithm>

namespace nnlab {

namespace {

double costOf(const CompareRow& row, ParetoCost cost)
{
    switch (cost) {
    case ParetoCost::FileBytes: return double(row.measurement.fileBytes);
    case ParetoCost::LatencyBatch1: return row.measurement.batch1.medianMs;
    case ParetoCost::LatencyBatch64: return row.measurement.batch64.medianMs;
    }
    return 0.0;
}

} // namespace

std::vector<size_t> paretoFrontier(const std::vector<CompareRow>& rows, ParetoCost cost)
{
    auto usable = [&](size_t i) { return rows[i].measurement.testAccuracy >= 0 && costOf(rows[i], cost) > 0; };
    std::vector<size_t> out;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (!usable(i))
            continue;
        const double ci = costOf(rows[i], cost), ai = rows[i].measurement.testAccuracy;
        bool dominated = false;
        for (size_t j = 0; j < rows.size() && !dominated; ++j) {
            if (j == i || !usable(j))
                continue;
            const double cj = costOf(rows[j], cost), aj = rows[j].measurement.testAccuracy;
            dominated = cj <= ci && aj >= ai && (cj < ci || aj > ai);
        }
        if (!dominated)
            out.push_back(i);
    }
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) { return costOf(rows[a], cost) < costOf(rows[b], cost); });
    return out;
}

} // namespace nnlab
