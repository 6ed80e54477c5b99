// Helpers for the run store tests: raw SQLite access for fixtures and checks, files as
// bytes, and a recorder that logs a run in one call.
#pragma once

#include "nnlab/run_recorder.h"
#include "nnlab/store.h"

#include <sqlite3.h>

#include <QTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace storetest {

// A raw connection for building fixtures and checking what the store wrote.
class Sql {
public:
    explicit Sql(const std::string& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
    {
        sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
    }
    ~Sql() { sqlite3_close_v2(m_db); }
    Sql(const Sql&) = delete;
    Sql& operator=(const Sql&) = delete;

    bool exec(const std::string& sql)
    {
        char* message = nullptr;
        const int rc = sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &message);
        if (rc != SQLITE_OK)
            qWarning("SQL failed: %s\n%s", message ? message : "?", sql.c_str());
        sqlite3_free(message);
        return rc == SQLITE_OK;
    }
    // The first column of the first row as text ("" when none).
    std::string scalar(const std::string& sql)
    {
        sqlite3_stmt* statement = nullptr;
        std::string value;
        if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK
            && sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0))
            value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        sqlite3_finalize(statement);
        return value;
    }
    long long number(const std::string& sql) { return std::stoll("0" + scalar(sql)); }
    sqlite3* handle() const { return m_db; }

private:
    sqlite3* m_db = nullptr;
};

inline std::string readBytes(const std::string& path)
{
    if (!std::filesystem::is_regular_file(path))
        return {};
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void writeBytes(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

inline std::string experimentJson(const std::string& name, double lr, int epochs = 2)
{
    std::ostringstream json;
    json << R"({"format": "nnlab.experiment/1", "name": ")" << name
         << R"(", "seed": 7, "data": {"source": "spiral", "samples": 500}, )"
         << R"("optimizer": {"type": "adamw", "lr": )" << lr << R"(}, )"
         << R"("training": {"epochs": )" << epochs << R"(, "batch_size": 32}})";
    return json.str();
}

inline nnlab::ExperimentSpec spec(const std::string& name, const std::string& source = "spiral")
{
    nnlab::ExperimentSpec spec;
    spec.name = name;
    spec.seed = 7;
    spec.data.source = source;
    return spec;
}

// `count` points a tag at steps 0, 1, ...: loss falls, accuracy rises.
inline std::vector<nnlab::MetricPoint> points(const std::string& tag, int64_t first, int64_t count,
                                              double scale = 1.0)
{
    std::vector<nnlab::MetricPoint> out;
    const bool rising = nnlab::metricDirection(tag) > 0;
    for (int64_t step = first; step < first + count; ++step) {
        const double v = scale / (1.0 + 0.01 * static_cast<double>(step));
        out.push_back({tag, step, 1.7e9 + 0.001 * static_cast<double>(step), rising ? 1.0 - v : v});
    }
    return out;
}

// Records a whole run: begin, `steps` points of train/loss and val/accuracy, finish.
inline std::string logRun(const std::string& db, const std::string& name, int64_t steps,
                          nnlab::TrainStatus status = nnlab::TrainStatus::Finished,
                          double scale = 1.0, const std::string& source = "spiral")
{
    auto recorder = nnlab::RunRecorder::open(db);
    if (!recorder.ok()) {
        qWarning("%s", recorder.error.message.c_str());
        return {};
    }
    auto id = recorder.value->begin(spec(name, source), experimentJson(name, 0.001 * scale));
    if (!id.ok()) {
        qWarning("%s", id.error.message.c_str());
        return {};
    }
    nnlab::TrainInfo info;
    info.device = "cpu";
    info.threads = 2;
    info.parameters = 1000 + static_cast<int64_t>(name.size());
    recorder.value->updateInfo(info);
    recorder.value->addMetrics(points("train/loss", 0, steps, scale));
    recorder.value->addMetrics(points("val/accuracy", 0, steps, scale));
    nnlab::TrainResult result;
    result.status = status;
    result.steps = steps;
    result.message = status == nnlab::TrainStatus::Failed ? "loss is NaN" : "";
    const nnlab::StoreError error = recorder.value->finish(result);
    if (!error.ok())
        qWarning("%s", error.message.c_str());
    return id.value;
}

inline bool sameDouble(double a, double b)
{
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

} // namespace storetest
