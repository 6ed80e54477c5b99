// Export and comparison of stored runs: what `nnlab-cli runs export|diff|show` print, kept in
// the engine so the GUI can offer the same. JSON handling stays inside the store library.
#pragma once

#include "nnlab/store.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace nnlab {

enum class ExportFormat { Csv, Json };

// Writes every point of every series of the run at full resolution.
// csv:  run_id,tag,step,wall_time,value (one header line; numbers round-trip exactly)
// json: {"run": {...summary, "experiment": {...}}, "metrics": {"tag": [[step, wall_time, value], ...]},
//        "snapshots": [{"kind", "name", "step", "shape", "meta": {...}, "values": [...]}, ...]}
//        (snapshot.h; by kind, then step)
// NaN values are written as "nan" in CSV and null in JSON.
StoreError exportRun(const RunStore& store, const std::string& id, ExportFormat format,
                     std::ostream& out);

// A JSON document flattened to dotted paths in document order: {"a": {"b": [1, 2]}} gives
// a.b[0] = 1, a.b[1] = 2. Values are compact JSON text. Empty with `error` set when the
// text is not JSON.
std::vector<std::pair<std::string, std::string>> flattenJson(const std::string& jsonText,
                                                             std::string* error = nullptr);

// The JSON text indented by two spaces, or the text as given when it is not JSON.
std::string prettyJson(const std::string& jsonText);

struct RunDiff {
    struct Value {
        std::string path;         // dotted experiment path, or a metric tag
        std::string a;            // empty when absent on that side
        std::string b;
    };
    std::vector<Value> experiment;   // experiment paths whose values differ
    std::vector<Value> summary;      // status, duration, steps, parameters, seed... that differ
    struct Metric {
        std::string tag;
        MetricSummary a;             // count 0 when absent on that side
        MetricSummary b;
    };
    std::vector<Metric> metrics;     // every metric tag of either run, sorted
};

RunDiff diffRuns(const RunDetails& a, const RunDetails& b);

// Shortest text that reads back to the same double ("0.1", "1e-08", "nan", "inf").
std::string formatDouble(double value);

// "45s", "3m 12s", "1h 02m", "2d 3h"; "-" for a negative or NaN duration.
std::string formatDuration(double seconds);

} // namespace nnlab
