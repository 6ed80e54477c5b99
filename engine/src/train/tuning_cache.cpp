#include "tuning_cache.h"

#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace nnlab::detail {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "nnlab.tuning/1";

// The lines of /proc/cpuinfo that name the processor and what it can do (the first core's):
// "model name" and "flags" on x86, "CPU implementer"/"CPU part" and "Features" on ARM.
std::string cpuDescription()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line, text;
    while (std::getline(in, line)) {
        if (line.empty() && !text.empty())
            break;   // the end of the first processor's block
        for (const char* key : {"model name", "flags", "CPU implementer", "CPU part", "Features"})
            if (line.rfind(key, 0) == 0)
                text += line + "\n";
    }
    return text;
}

void describeLayers(std::ostringstream& out, const std::vector<LayerSpec>& layers)
{
    for (const LayerSpec& l : layers) {
        out << l.type << '(';
        for (const auto& [key, value] : l.options)
            out << key << '=' << value << ',';
        out << ")";
        if (!l.layers.empty()) {
            out << '[';
            describeLayers(out, l.layers);
            out << ']';
        }
        out << ';';
    }
}

uint64_t fnv1a(const std::string& text)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text)
        h = (h ^ c) * 1099511628211ull;
    return h;
}

json readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return json::object();
    json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || doc.value("format", json()) != kFormat || !doc.contains("entries")
        || !doc["entries"].is_object())
        return json::object();   // another format, a half-written file, garbage: start over
    return doc;
}

} // namespace

std::string tuningCachePath()
{
    if (const char* path = std::getenv("NNLAB_TUNING_CACHE"))
        return std::string(path) == "off" ? std::string() : std::string(path);
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::string(xdg) + "/nnlab/tuning.json";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::string(home) + "/.cache/nnlab/tuning.json";
    return {};
}

std::string tuningKey(const ExperimentSpec& spec, torch::nn::Sequential& model, const TensorSet& train,
                      const torch::Device& device)
{
    std::ostringstream out;
    out.precision(17);
    out << "input";
    for (int64_t d : spec.model.input)
        out << ' ' << d;
    out << "\nlayers ";
    describeLayers(out, spec.model.layers);
    out << "\nmodules";
    for (const auto& module : model->modules(/*include_self=*/false))
        out << ' ' << module->name();
    for (const auto& p : model->named_parameters())
        out << '\n' << p.key() << ' ' << p.value().sizes() << ' ' << p.value().scalar_type();
    out << "\nbatch " << std::min(spec.training.batchSize, train.count) << "\ndevice " << device.str() << "\ndata "
        << train.x.scalar_type() << "\noptimizer " << spec.optimizer.type << " clip " << (spec.training.gradClipNorm > 0)
        << "\nthreads " << spec.training.threads << "\ncores " << std::thread::hardware_concurrency()
        << "\nlibtorch " << TORCH_VERSION << "\nnnlab " << NNLAB_VERSION << '\n'
        << cpuDescription();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(out.str())));
    return hex;
}

std::optional<Execution> loadTuning(const std::string& path, const std::string& key)
{
    if (path.empty())
        return std::nullopt;
    const json doc = readFile(path);
    if (!doc.contains("entries") || !doc["entries"].contains(key))
        return std::nullopt;
    const json& entry = doc["entries"][key];
    try {
        Execution e;
        e.threads = entry.at("threads").get<int>();
        e.channelsLast = entry.at("channels_last").get<bool>();
        e.nativeConvs = entry.at("native_convs").get<std::vector<bool>>();
        e.stepSeconds = entry.at("step_seconds").get<double>();
        e.oneThreadSeconds = entry.at("one_thread_seconds").get<double>();
        e.description = entry.at("description").get<std::string>();
        e.loadLimited = entry.value("load_limited", false);
        // Measured while other processes held the cores (one thread only): good for an
        // hour, then a start measures more threads again.
        if (e.loadLimited && std::time(nullptr) - entry.value("stored", int64_t{0}) > kLoadLimitedSeconds)
            return std::nullopt;
        if (e.threads < 1 || e.stepSeconds < 0 || e.oneThreadSeconds < 0)
            return std::nullopt;
        return e;
    } catch (const json::exception&) {
        return std::nullopt;   // a malformed entry is a miss
    }
}

std::string storeTuning(const std::string& path, const std::string& key, const Execution& e)
{
    if (path.empty())
        return {};
    json doc = readFile(path);
    doc["format"] = kFormat;
    if (!doc.contains("entries"))
        doc["entries"] = json::object();
    json& entries = doc["entries"];
    entries[key] = {{"threads", e.threads},
                    {"channels_last", e.channelsLast},
                    {"native_convs", e.nativeConvs},
                    {"step_seconds", e.stepSeconds},
                    {"one_thread_seconds", e.oneThreadSeconds},
                    {"description", e.description},
                    {"load_limited", e.loadLimited},
                    {"stored", static_cast<int64_t>(std::time(nullptr))}};
    const auto stored = [](const json& entry) {
        return entry.is_object() && entry.contains("stored") && entry["stored"].is_number()
                   ? entry["stored"].get<int64_t>() : int64_t{0};
    };
    while (entries.size() > static_cast<size_t>(kMaxTuningEntries)) {
        auto oldest = entries.begin();
        for (auto it = entries.begin(); it != entries.end(); ++it)
            if (stored(it.value()) < stored(oldest.value()))
                oldest = it;
        entries.erase(oldest.key());
    }

    std::error_code error;
    const fs::path target(path);
    if (target.has_parent_path())
        fs::create_directories(target.parent_path(), error);
    // Unique per process and per call: sweep trials tune in threads of one process.
    static std::atomic<int> calls{0};
    const std::string temporary = path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(calls++);
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << doc.dump(1) << '\n';
        if (!out.flush())
            return "cannot write " + temporary;
    }
    fs::rename(temporary, target, error);
    if (error) {
        fs::remove(temporary, error);
        return "cannot replace " + path;
    }
    return {};
}

} // namespace nnlab::detail
