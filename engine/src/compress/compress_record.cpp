// Recording a compression result into the run store and reading it back (compress_record.h).
#include "compress_record.h"

#include "nnlab/atomic_file.h"
#include "nnlab/run_recorder.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nnlab::compress {

namespace {

double unixNow()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Every scalar figure of a measurement by its metric name; one table for writing and reading.
struct Field {
    const char* name;
    double ModelMeasurement::*real = nullptr;
    int64_t ModelMeasurement::*integer = nullptr;
    LatencyFigure ModelMeasurement::*latency = nullptr;
    double LatencyFigure::*figure = nullptr;
};

const std::vector<Field>& fields()
{
    static const std::vector<Field> table = {
        {"test_accuracy", &ModelMeasurement::testAccuracy},
        {"validation_accuracy", &ModelMeasurement::validationAccuracy},
        {"file_bytes", nullptr, &ModelMeasurement::fileBytes},
        {"parameters", nullptr, &ModelMeasurement::parameters},
        {"nonzero_parameters", nullptr, &ModelMeasurement::nonzeroParameters},
        {"latency_b1_ms", nullptr, nullptr, &ModelMeasurement::batch1, &LatencyFigure::medianMs},
        {"latency_b1_p10_ms", nullptr, nullptr, &ModelMeasurement::batch1, &LatencyFigure::p10Ms},
        {"latency_b1_p90_ms", nullptr, nullptr, &ModelMeasurement::batch1, &LatencyFigure::p90Ms},
        {"latency_b64_ms", nullptr, nullptr, &ModelMeasurement::batch64, &LatencyFigure::medianMs},
        {"latency_b64_p10_ms", nullptr, nullptr, &ModelMeasurement::batch64, &LatencyFigure::p10Ms},
        {"latency_b64_p90_ms", nullptr, nullptr, &ModelMeasurement::batch64, &LatencyFigure::p90Ms},
        {"throughput", &ModelMeasurement::throughput},
        {"latency_calls", nullptr, nullptr, nullptr, nullptr},   // calls per batch size
    };
    return table;
}

} // namespace

std::vector<MetricPoint> measurementMetrics(const std::string& prefix, const ModelMeasurement& m, int64_t step)
{
    const double time = unixNow();
    std::vector<MetricPoint> out;
    for (const Field& f : fields()) {
        double value = 0.0;
        if (f.real)
            value = m.*f.real;
        else if (f.integer)
            value = double(m.*f.integer);
        else if (f.latency)
            value = m.*f.latency.*f.figure;
        else
            value = m.batch64.calls;
        out.push_back({prefix + "/" + f.name, step, time, value});
    }
    return out;
}

std::optional<ModelMeasurement> measurementFromMetrics(const std::map<std::string, MetricSummary>& metrics,
                                                       const std::string& prefix)
{
    if (!metrics.count(prefix + "/test_accuracy") && !metrics.count(prefix + "/file_bytes"))
        return std::nullopt;
    ModelMeasurement m;
    for (const Field& f : fields()) {
        const auto it = metrics.find(prefix + "/" + f.name);
        if (it == metrics.end() || std::isnan(it->second.finalValue))
            continue;
        const double value = it->second.finalValue;
        if (f.real)
            m.*f.real = value;
        else if (f.integer)
            m.*f.integer = int64_t(std::llround(value));
        else if (f.latency)
            m.*f.latency.*f.figure = value;
        else
            m.batch1.calls = m.batch64.calls = int(value);
    }
    m.batch1.batch = 1;
    m.batch64.batch = 64;
    return m;
}

nlohmann::json layersToJson(const std::vector<LayerMeasurement>& layers)
{
    nlohmann::json out = nlohmann::json::array();
    for (const LayerMeasurement& l : layers)
        out.push_back({{"name", l.name}, {"type", l.type}, {"parameters", l.parameters},
                       {"nonzero_parameters", l.nonzeroParameters}, {"macs", l.macs},
                       {"latency_share", l.latencyShare}, {"quantized", l.quantized}});
    return out;
}

std::vector<LayerMeasurement> layersFromJson(const nlohmann::json& layers)
{
    std::vector<LayerMeasurement> out;
    if (!layers.is_array())
        return out;
    for (const nlohmann::json& j : layers) {
        if (!j.is_object())
            continue;
        LayerMeasurement l;
        l.name = j.value("name", "");
        l.type = j.value("type", "");
        l.parameters = j.value("parameters", int64_t(0));
        l.nonzeroParameters = j.value("nonzero_parameters", int64_t(0));
        l.macs = j.value("macs", int64_t(0));
        l.latencyShare = j.value("latency_share", 0.0);
        l.quantized = j.value("quantized", false);
        out.push_back(std::move(l));
    }
    return out;
}

std::string modelPathFor(const std::string& databasePath, const std::string& runId, const std::string& suffix)
{
    std::string path = checkpointPathFor(databasePath, runId, CheckpointKind::Latest);   // creates the folder
    const size_t dot = path.rfind(".pt");
    if (dot != std::string::npos)
        path.erase(dot);
    return path + suffix;
}

void addResult(RunRecorder& recorder, const std::string& runId, const ResultRecord& record)
{
    std::vector<MetricPoint> points = measurementMetrics(kResultPrefix, record.measurement);
    const std::vector<MetricPoint> parent = measurementMetrics(kParentPrefix, record.parent);
    points.insert(points.end(), parent.begin(), parent.end());
    recorder.addMetrics(points);

    const nlohmann::json info = {
        {"method", compressMethodName(record.method)},
        {"parent", record.parentId},
        {"options", record.options},
        {"model", record.modelPath},
        {"layers", layersToJson(record.measurement.layers)},
        {"parent_layers", layersToJson(record.parent.layers)},
    };
    const std::string infoPath = modelPathFor(recorder.path(), runId, ".compression.json");
    try {
        writeFileAtomically(infoPath, info.dump(2) + "\n");
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot write " + infoPath + ": " + e.what());
    }
    if (!record.modelPath.empty()) {
        const StoreError e = recorder.addArtifact(record.modelPath, "model", 0);
        if (!e.ok())
            throw std::runtime_error("run store: " + e.message);
    }
    const StoreError e = recorder.addArtifact(infoPath, "compression", 0);
    if (!e.ok())
        throw std::runtime_error("run store: " + e.message);
}

nlohmann::json compressionInfoOf(const RunStore& store, const std::string& runId)
{
    const auto artifacts = store.artifacts(runId);
    if (!artifacts.ok())
        return nlohmann::json::object();
    for (auto it = artifacts.value.rbegin(); it != artifacts.value.rend(); ++it) {
        if (it->kind != "compression")
            continue;
        std::ifstream in(it->path);
        if (!in)
            return nlohmann::json::object();
        std::stringstream text;
        text << in.rdbuf();
        nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
        return j.is_object() ? j : nlohmann::json::object();
    }
    return nlohmann::json::object();
}

} // namespace nnlab::compress
