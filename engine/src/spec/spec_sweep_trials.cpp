// The trials a sweep defines, the metric they are ranked by, and the note each trial's run keeps.
#include "nnlab/spec_json.h"
#include "nnlab/sweep.h"
#include "spec_sweep.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>

namespace nnlab {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// Draws in [0, 1) from the top 53 bits: the same numbers on every platform, unlike
// std::uniform_real_distribution, whose algorithm the standard leaves open.
double unit(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

std::string roundedText(double v, bool integer)
{
    if (integer)
        return std::to_string(std::llround(v));
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return json(std::strtod(text, nullptr)).dump();
}

std::string drawValue(const SweepParameter& p, std::mt19937_64& gen)
{
    if (!p.values.empty())
        return p.values[gen() % p.values.size()];
    const double u = unit(gen);
    if (p.scale == SweepScale::Log)
        return roundedText(std::exp(std::log(p.min) + u * (std::log(p.max) - std::log(p.min))), p.integer);
    return roundedText(p.min + u * (p.max - p.min), p.integer);
}

// "model.layers[0].out_features" -> "out_features"
std::string shortName(const std::string& path)
{
    const size_t dot = path.rfind('.');
    return dot == std::string::npos ? path : path.substr(dot + 1);
}

} // namespace

std::vector<std::string> SweepTrial::overrides() const
{
    std::vector<std::string> out;
    for (const auto& [path, value] : values)
        out.push_back(path + "=" + value);
    return out;
}

std::string SweepTrial::label() const
{
    std::string out;
    for (const auto& [path, value] : values)
        out += (out.empty() ? "" : " ") + shortName(path) + "=" + value;
    return out;
}

std::optional<SweepParameter> sweepParameterFromSet(const std::string& assignment, std::string& error)
{
    const size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == assignment.size()) {
        error = "expected key.path=value1,value2,..., e.g. optimizer.lr=0.1,0.01; got \"" + assignment + "\"";
        return std::nullopt;
    }
    SweepParameter p;
    p.path = assignment.substr(0, eq);
    const std::string list = assignment.substr(eq + 1);
    int depth = 0;
    bool quoted = false;
    std::string current;
    auto add = [&] {
        const json v = json::parse(current, nullptr, false);
        p.values.push_back(v.is_discarded() ? json(current).dump() : v.dump());
        current.clear();
    };
    for (size_t i = 0; i < list.size(); ++i) {
        const char c = list[i];
        if (quoted) {
            if (c == '\\' && i + 1 < list.size())
                current += list[i++];
            else if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '[' || c == '{') {
            ++depth;
        } else if (c == ']' || c == '}') {
            --depth;
        } else if (c == ',' && depth == 0) {
            add();
            continue;
        }
        current += c;
    }
    add();
    for (const auto& v : p.values)
        if (v == "\"\"") {
            error = p.path + ": an empty value in \"" + list + "\"";
            return std::nullopt;
        }
    return p;
}

int64_t sweepTrialCount(const SweepSpec& sweep)
{
    if (sweep.parameters.empty())
        return 0;
    if (sweep.method == SweepMethod::Random)
        return sweep.trials;
    int64_t n = 1;
    for (const auto& p : sweep.parameters) {
        n *= std::max<int64_t>(1, static_cast<int64_t>(p.values.size()));
        if (n > kMaxSweepTrials)
            return kMaxSweepTrials + 1;
    }
    return n;
}

std::vector<SweepTrial> sweepTrials(const SweepSpec& sweep, uint64_t seed)
{
    std::vector<SweepTrial> trials;
    const int64_t count = std::min(sweepTrialCount(sweep), kMaxSweepTrials);
    std::mt19937_64 gen(seed ^ 0x5eedcafef00dULL);
    for (int64_t i = 0; i < count; ++i) {
        SweepTrial t;
        t.index = i;
        if (sweep.method == SweepMethod::Grid) {
            // Mixed radix, the last parameter the fastest digit.
            std::vector<std::string> values(sweep.parameters.size());
            int64_t rest = i;
            for (size_t k = sweep.parameters.size(); k-- > 0;) {
                const auto& p = sweep.parameters[k];
                const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(p.values.size()));
                values[k] = p.values.empty() ? std::string() : p.values[static_cast<size_t>(rest % n)];
                rest /= n;
            }
            for (size_t k = 0; k < values.size(); ++k)
                t.values.emplace_back(sweep.parameters[k].path, values[k]);
        } else {
            for (const auto& p : sweep.parameters)
                t.values.emplace_back(p.path, drawValue(p, gen));
        }
        trials.push_back(std::move(t));
    }
    return trials;
}

ParseResult trialExperiment(const ExperimentSpec& base, const SweepTrial& trial)
{
    ExperimentSpec plain = base;
    plain.sweep = SweepSpec{};
    return parseExperiment(experimentToJson(plain), trial.overrides());
}

std::string sweepMetric(const ExperimentSpec& spec)
{
    if (spec.sweep.metric != "auto")
        return spec.sweep.metric;
    const std::string& best = spec.training.bestMetric;
    if (best != "auto" && best != "none" && sweepMetricDirection(best) != 0)
        return best;
    return spec.isClassification() ? "val/accuracy" : "val/loss";
}

int sweepMetricDirection(const std::string& metric)
{
    for (const char* split : {"val/", "train/"}) {
        if (metric == std::string(split) + "accuracy")
            return 1;
        if (metric == std::string(split) + "loss")
            return -1;
    }
    return 0;
}

std::string newSweepId()
{
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &utc);
    std::random_device random;
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "-%04x", static_cast<unsigned>(random() & 0xffff));
    return std::string(text) + suffix;
}

std::string sweepTag(const std::string& sweepId) { return "sweep:" + sweepId; }

std::string sweepNote(const std::string& sweepId, const SweepSpec& sweep, const SweepTrial& trial)
{
    const int64_t count = sweepTrialCount(sweep);
    ordered_json values = ordered_json::object();
    for (const auto& [path, text] : trial.values) {
        ordered_json v = ordered_json::parse(text, nullptr, false);
        values[path] = v.is_discarded() ? ordered_json(text) : v;
    }
    ordered_json note;
    note["sweep"] = sweepId;
    note["trial"] = trial.index;
    note["trials"] = count;
    note["values"] = values;
    note["definition"] = detail::sweepJson(sweep);
    return "sweep " + sweepId + ": trial " + std::to_string(trial.index + 1) + " of " + std::to_string(count) + " ("
           + toString(sweep.method) + ", pruner " + toString(sweep.pruner) + "): " + trial.label() + "\n" + note.dump();
}

std::optional<SweepNote> parseSweepNote(const std::string& notes)
{
    size_t start = 0;
    while (start < notes.size()) {
        size_t end = notes.find('\n', start);
        if (end == std::string::npos)
            end = notes.size();
        const std::string line = notes.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line[0] != '{')
            continue;
        const ordered_json j = ordered_json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("sweep") || !j["sweep"].is_string())
            continue;
        SweepNote note;
        note.sweepId = j["sweep"].get<std::string>();
        note.trial = j.value("trial", int64_t(0));
        note.trials = j.value("trials", int64_t(0));
        if (j.contains("values") && j["values"].is_object())
            for (const auto& [path, v] : j["values"].items())
                note.values.emplace_back(path, v.dump());
        if (j.contains("definition")) {
            Problems problems;
            detail::readSweep(json::parse(j["definition"].dump()), note.sweep, problems);
        }
        return note;
    }
    return std::nullopt;
}

std::vector<size_t> SweepResult::ranking() const
{
    std::vector<size_t> order(trials.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const SweepTrialResult& x = trials[a];
        const SweepTrialResult& y = trials[b];
        if (x.hasValue != y.hasValue)
            return x.hasValue;
        return x.hasValue && (direction > 0 ? x.value > y.value : x.value < y.value);
    });
    return order;
}

} // namespace nnlab
