// Export, JSON flattening and run comparison.
#include "nnlab/run_export.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

namespace nnlab {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Compact JSON; bytes that are not UTF-8 (a store from elsewhere, a name typed in Latin-1)
// become U+FFFD instead of making dump() throw.
std::string jsonText(const OrderedJson& json)
{
    return json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

// Wall times in plain seconds ("1700000000.125", not "1.7e+09"), still exact.
std::string formatTime(double value)
{
    if (!std::isfinite(value))
        return formatDouble(value);
    char buffer[400];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
    return std::string(buffer, result.ptr);
}

// JSON has no NaN or infinity: such values become null.
std::string jsonNumber(const std::string& text, double value)
{
    return std::isfinite(value) ? text : "null";
}

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

OrderedJson numberOrNull(double value)
{
    return std::isfinite(value) ? OrderedJson(value) : OrderedJson(nullptr);
}

OrderedJson runJson(const RunDetails& run, const std::vector<RunEvent>& events,
                    const std::vector<RunArtifact>& artifacts)
{
    OrderedJson json;
    json["id"] = run.id;
    json["name"] = run.name;
    json["status"] = toString(run.status);
    json["parent_id"] = run.parentId.empty() ? OrderedJson(nullptr) : OrderedJson(run.parentId);
    json["dataset"] = run.dataset;
    json["parameters"] = run.parameters;
    json["created_at"] = numberOrNull(run.createdAt);
    json["started_at"] = run.startedAt > 0 ? OrderedJson(run.startedAt) : OrderedJson(nullptr);
    json["ended_at"] = run.endedAt > 0 ? OrderedJson(run.endedAt) : OrderedJson(nullptr);
    json["duration"] = numberOrNull(run.duration);
    json["last_step"] = run.lastStep;
    json["seed"] = run.seed;
    json["device"] = run.device;
    json["threads"] = run.threads;
    json["torch_version"] = run.torchVersion;
    json["nnlab_version"] = run.nnlabVersion;
    json["host"] = run.host;
    json["experiment_hash"] = run.experimentHash;
    json["tags"] = run.tags;
    json["notes"] = run.notes;
    json["message"] = run.message;
    json["info"] = OrderedJson::parse(run.infoJson, nullptr, false);
    if (json["info"].is_discarded())
        json["info"] = run.infoJson;
    OrderedJson summary = OrderedJson::object();
    for (const auto& [tag, metric] : run.metrics) {
        summary[tag] = {{"count", metric.count},
                        {"first_step", metric.firstStep},
                        {"last_step", metric.lastStep},
                        {"final", numberOrNull(metric.finalValue)},
                        {"best", numberOrNull(metric.bestValue)},
                        {"best_step", metric.bestStep},
                        {"min", numberOrNull(metric.minValue)},
                        {"max", numberOrNull(metric.maxValue)}};
    }
    json["summary"] = summary;
    json["events"] = OrderedJson::array();
    for (const RunEvent& event : events)
        json["events"].push_back({{"time", event.time}, {"step", event.step},
                                  {"kind", toString(event.kind)}, {"detail", event.detail}});
    json["artifacts"] = OrderedJson::array();
    for (const RunArtifact& artifact : artifacts)
        json["artifacts"].push_back({{"time", artifact.time}, {"step", artifact.step},
                                     {"kind", artifact.kind}, {"path", artifact.path},
                                     {"size", artifact.size}, {"hash", artifact.hash}});
    json["experiment"] = OrderedJson::parse(run.experimentJson, nullptr, false);
    if (json["experiment"].is_discarded())
        json["experiment"] = run.experimentJson;
    return json;
}

// Points are read a window of steps at a time, about kExportWindowPoints points where the
// steps are spread as training logs them, so an export holds one window, not the series
// (a 1M-point series read whole is 24 MB, and took that much more memory in the export).
constexpr uint64_t kExportWindowPoints = 16384;

// Calls write(points) for consecutive step windows covering the series, in step order. The
// last window is open-ended: points a live run added since `summary` was read come too.
template <typename Write>
StoreError forEachWindow(const RunStore& store, const std::string& id, const std::string& tag,
                         const MetricSummary& summary, Write write)
{
    if (summary.count <= 0) {
        // Created after the run was read: whatever it holds now.
        const auto points = store.series(id, tag);
        if (points.ok())
            write(points.value);
        return points.error;
    }
    // Unsigned arithmetic: the span of any two int64 steps fits.
    const uint64_t span = static_cast<uint64_t>(summary.lastStep) - static_cast<uint64_t>(summary.firstStep);
    const uint64_t stepsPerPoint = span / static_cast<uint64_t>(summary.count) + 1;
    const uint64_t width = stepsPerPoint > std::numeric_limits<uint64_t>::max() / kExportWindowPoints
                               ? std::numeric_limits<uint64_t>::max()
                               : stepsPerPoint * kExportWindowPoints;
    for (int64_t low = summary.firstStep;;) {
        const uint64_t left = static_cast<uint64_t>(summary.lastStep) - static_cast<uint64_t>(low);
        const bool last = left < width;
        const int64_t high = last ? std::numeric_limits<int64_t>::max()
                                  : static_cast<int64_t>(static_cast<uint64_t>(low) + width - 1);
        const auto points = store.series(id, tag, low, high);
        if (!points.ok())
            return points.error;
        write(points.value);
        if (last)
            return {};
        low = high + 1;
    }
}

void flatten(const OrderedJson& json, const std::string& path,
             std::vector<std::pair<std::string, std::string>>& out)
{
    if (json.is_object() && !json.empty()) {
        for (const auto& [key, value] : json.items())
            flatten(value, path.empty() ? key : path + "." + key, out);
    } else if (json.is_array() && !json.empty()) {
        for (size_t i = 0; i < json.size(); ++i)
            flatten(json[i], path + "[" + std::to_string(i) + "]", out);
    } else {
        out.emplace_back(path, json.dump());
    }
}

} // namespace

std::string formatDouble(double value)
{
    if (std::isnan(value))
        return "nan";
    if (std::isinf(value))
        return value > 0 ? "inf" : "-inf";
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return std::string(buffer, result.ptr);
}

std::string formatDuration(double seconds)
{
    if (!(seconds >= 0.0))
        return "-";
    const long long total = static_cast<long long>(std::llround(seconds));
    char text[48];
    if (total < 60)
        std::snprintf(text, sizeof(text), "%llds", total);
    else if (total < 3600)
        std::snprintf(text, sizeof(text), "%lldm %02llds", total / 60, total % 60);
    else if (total < 86400)
        std::snprintf(text, sizeof(text), "%lldh %02lldm", total / 3600, total % 3600 / 60);
    else
        std::snprintf(text, sizeof(text), "%lldd %lldh", total / 86400, total % 86400 / 3600);
    return text;
}

StoreError exportRun(const RunStore& store, const std::string& id, ExportFormat format,
                     std::ostream& out)
{
    const auto run = store.getRun(id);
    if (!run.ok())
        return run.error;
    const auto tags = store.metricTags(run.value.id);
    if (!tags.ok())
        return tags.error;
    if (format == ExportFormat::Csv) {
        out << "run_id,tag,step,wall_time,value\n";
    } else {
        const auto events = store.events(run.value.id);
        const auto artifacts = store.artifacts(run.value.id);
        if (!events.ok())
            return events.error;
        if (!artifacts.ok())
            return artifacts.error;
        out << "{\"run\": " << jsonText(runJson(run.value, events.value, artifacts.value))
            << ", \"metrics\": {";
    }
    // Series are streamed a window at a time: a DOM of millions of points would need
    // gigabytes, and even the points alone grow with the run.
    bool firstTag = true;
    for (const std::string& tag : tags.value) {
        const auto summary = run.value.metrics.find(tag);
        const MetricSummary metric = summary == run.value.metrics.end() ? MetricSummary() : summary->second;
        StoreError error;
        if (format == ExportFormat::Csv) {
            const std::string prefix = csvField(run.value.id) + "," + csvField(tag) + ",";
            error = forEachWindow(store, run.value.id, tag, metric, [&](const std::vector<SeriesPoint>& points) {
                for (const SeriesPoint& point : points)
                    out << prefix << point.step << ',' << formatTime(point.wallTime) << ','
                        << formatDouble(point.value) << '\n';
            });
        } else {
            out << (firstTag ? "" : ", ") << jsonText(OrderedJson(tag)) << ": [";
            bool firstPoint = true;
            error = forEachWindow(store, run.value.id, tag, metric, [&](const std::vector<SeriesPoint>& points) {
                for (const SeriesPoint& point : points) {
                    out << (firstPoint ? "[" : ", [") << point.step << ", "
                        << jsonNumber(formatTime(point.wallTime), point.wallTime) << ", "
                        << jsonNumber(formatDouble(point.value), point.value) << ']';
                    firstPoint = false;
                }
            });
            out << ']';
        }
        if (!error.ok())
            return error;
        firstTag = false;
    }
    if (format == ExportFormat::Json) {
        // Snapshots (snapshot.h) one kind at a time: {"kind", "name", "step", "shape", "meta",
        // "values"}; meta as the object it is.
        out << "}, \"snapshots\": [";
        bool firstSnapshot = true;
        for (const SnapshotKind kind : {SnapshotKind::DecisionBoundary, SnapshotKind::NeuronBoundary,
                                        SnapshotKind::WeightHistogram, SnapshotKind::GradientHistogram,
                                        SnapshotKind::ConfusionMatrix}) {
            const auto snapshots = store.snapshots(run.value.id, kind);
            if (!snapshots.ok())
                return snapshots.error;
            for (const Snapshot& s : snapshots.value) {
                OrderedJson meta = OrderedJson::parse(s.meta, nullptr, false);
                OrderedJson values = OrderedJson::array();
                for (const float v : s.values)
                    values.push_back(numberOrNull(v));
                out << (firstSnapshot ? "" : ", ")
                    << jsonText(OrderedJson{{"kind", toString(kind)}, {"name", s.name}, {"step", s.step},
                                            {"shape", s.shape}, {"meta", meta.is_discarded() ? OrderedJson(s.meta) : meta},
                                            {"values", values}});
                firstSnapshot = false;
            }
        }
        out << "]}\n";
    }
    if (!out)
        return StoreError{StoreErrorCode::Io, "cannot write the export (disk full?)"};
    return {};
}

std::vector<std::pair<std::string, std::string>> flattenJson(const std::string& jsonText,
                                                             std::string* error)
{
    std::vector<std::pair<std::string, std::string>> out;
    const auto json = OrderedJson::parse(jsonText, nullptr, false);
    if (json.is_discarded()) {
        if (error)
            *error = "not valid JSON";
        return out;
    }
    flatten(json, "", out);
    return out;
}

std::string prettyJson(const std::string& jsonText)
{
    const auto json = OrderedJson::parse(jsonText, nullptr, false);
    return json.is_discarded() ? jsonText : json.dump(2);
}

RunDiff diffRuns(const RunDetails& a, const RunDetails& b)
{
    RunDiff diff;
    const auto flatA = flattenJson(a.experimentJson);
    const auto flatB = flattenJson(b.experimentJson);
    std::map<std::string, std::string> valuesB(flatB.begin(), flatB.end());
    std::set<std::string> seen;
    for (const auto& [path, value] : flatA) {
        seen.insert(path);
        const auto it = valuesB.find(path);
        const std::string other = it == valuesB.end() ? std::string() : it->second;
        if (other != value)
            diff.experiment.push_back({path, value, other});
    }
    for (const auto& [path, value] : flatB) {
        if (!seen.count(path))
            diff.experiment.push_back({path, std::string(), value});
    }

    auto compare = [&](const std::string& name, const std::string& va, const std::string& vb) {
        if (va != vb)
            diff.summary.push_back({name, va, vb});
    };
    compare("name", a.name, b.name);
    compare("status", toString(a.status), toString(b.status));
    compare("dataset", a.dataset, b.dataset);
    compare("parameters", std::to_string(a.parameters), std::to_string(b.parameters));
    compare("seed", std::to_string(a.seed), std::to_string(b.seed));
    compare("steps", std::to_string(a.lastStep), std::to_string(b.lastStep));
    compare("duration", formatDuration(a.duration), formatDuration(b.duration));
    compare("device", a.device, b.device);
    compare("threads", std::to_string(a.threads), std::to_string(b.threads));
    compare("torch_version", a.torchVersion, b.torchVersion);
    compare("nnlab_version", a.nnlabVersion, b.nnlabVersion);
    compare("parent_id", a.parentId, b.parentId);
    compare("message", a.message, b.message);

    std::set<std::string> tags;
    for (const auto& entry : a.metrics)
        tags.insert(entry.first);
    for (const auto& entry : b.metrics)
        tags.insert(entry.first);
    for (const std::string& tag : tags) {
        RunDiff::Metric metric;
        metric.tag = tag;
        if (const auto it = a.metrics.find(tag); it != a.metrics.end())
            metric.a = it->second;
        if (const auto it = b.metrics.find(tag); it != b.metrics.end())
            metric.b = it->second;
        diff.metrics.push_back(metric);
    }
    return diff;
}

} // namespace nnlab
