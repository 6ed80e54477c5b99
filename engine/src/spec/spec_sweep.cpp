#include "spec_sweep.h"

#include "enum_names.h"

#include "json_reader.h"
#include "nnlab/spec_json.h"
#include "nnlab/sweep.h"
#include "spec_keys.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace nnlab {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr SweepMethod kMethods[] = {SweepMethod::Grid, SweepMethod::Random};
constexpr SweepPruner kPruners[] = {SweepPruner::None, SweepPruner::Asha, SweepPruner::Median};
constexpr SweepScale kScales[] = {SweepScale::Linear, SweepScale::Log};

template <typename Enum>
void readChoice(detail::ObjectReader& r, const std::string& key, const std::string& path, Enum& out,
                std::optional<Enum> (*parse)(const std::string&), const char* choices, Problems& problems)
{
    std::string text = toString(out);
    r.string(key, text);
    if (const auto e = parse(text))
        out = *e;
    else
        problems.push_back({path, "unknown value \"" + text + "\"; one of " + choices});
}

// A value as the JSON text a --set takes: JSON when it parses, else a string.
std::string valueText(const json& value) { return value.dump(); }

void readParameter(const json& value, const std::string& path, SweepParameter& p, Problems& problems)
{
    detail::ObjectReader r(value, path, problems);
    if (!r.isObject())
        return;
    if (!r.has("path"))
        problems.push_back({path + ".path", "missing; a key path of the experiment, like \"optimizer.lr\""});
    r.string("path", p.path);
    const bool hasValues = r.has("values");
    const bool hasRange = r.has("min") || r.has("max");
    if (hasValues && hasRange)
        problems.push_back({path, "give either values or min and max, not both"});
    if (!hasValues && !(r.has("min") && r.has("max")))
        problems.push_back({path, "needs values [...] or a range: min and max"});
    if (hasValues) {
        const json& values = r.take("values");
        if (!values.is_array() || values.empty())
            problems.push_back({path + ".values", "must be a non-empty list, got " + detail::describe(values)});
        else
            for (const auto& v : values)
                p.values.push_back(valueText(v));
    }
    r.number("min", p.min);
    r.number("max", p.max);
    readChoice(r, "scale", path + ".scale", p.scale, &sweepScaleFromString, "linear, log", problems);
    r.boolean("integer", p.integer);
    r.finish("a sweep parameter key (path, values, min, max, scale, integer)");
}

// Problems of the experiment document, as texts, to tell new ones from old.
std::set<std::string> problemTexts(const Problems& problems)
{
    std::set<std::string> texts;
    for (const auto& p : problems)
        texts.insert(p.text());
    return texts;
}

std::string numberText(double v, bool integer)
{
    if (integer)
        return std::to_string(std::llround(v));
    return json(v).dump();
}

} // namespace

const char* toString(SweepMethod method) { return method == SweepMethod::Grid ? "grid" : "random"; }
const char* toString(SweepPruner pruner)
{
    switch (pruner) {
    case SweepPruner::None: return "none";
    case SweepPruner::Asha: return "asha";
    case SweepPruner::Median: return "median";
    }
    return "none";
}
const char* toString(SweepScale scale) { return scale == SweepScale::Linear ? "linear" : "log"; }
std::optional<SweepMethod> sweepMethodFromString(const std::string& text) { return detail::enumFromName(text, kMethods); }
std::optional<SweepPruner> sweepPrunerFromString(const std::string& text) { return detail::enumFromName(text, kPruners); }
std::optional<SweepScale> sweepScaleFromString(const std::string& text) { return detail::enumFromName(text, kScales); }

namespace detail {

void readSweep(const json& value, SweepSpec& s, Problems& problems)
{
    ObjectReader r(value, "sweep", problems);
    if (!r.isObject())
        return;
    readChoice(r, "method", "sweep.method", s.method, &sweepMethodFromString, "grid, random", problems);
    if (r.has("parameters")) {
        const json& list = r.take("parameters");
        if (!list.is_array()) {
            problems.push_back({"sweep.parameters", "must be a list of {\"path\", \"values\" or \"min\"/\"max\"}, got "
                                                        + describe(list)});
        } else {
            s.parameters.clear();
            for (size_t i = 0; i < list.size(); ++i) {
                s.parameters.emplace_back();
                readParameter(list[i], "sweep.parameters[" + std::to_string(i) + "]", s.parameters.back(), problems);
            }
        }
    }
    r.integer("trials", s.trials);
    r.integer("concurrent", s.concurrent);
    r.string("metric", s.metric);
    readChoice(r, "pruner", "sweep.pruner", s.pruner, &sweepPrunerFromString, "none, asha, median", problems);
    r.integer("reduction_factor", s.reductionFactor);
    r.integer("min_epochs", s.minEpochs);
    r.finish("a sweep key (method, parameters, trials, concurrent, metric, pruner, reduction_factor, min_epochs)");
}

ordered_json sweepJson(const SweepSpec& s)
{
    ordered_json j;
    j["method"] = toString(s.method);
    ordered_json parameters = ordered_json::array();
    for (const auto& p : s.parameters) {
        ordered_json pj;
        pj["path"] = p.path;
        if (!p.values.empty()) {
            ordered_json values = ordered_json::array();
            for (const auto& text : p.values) {
                ordered_json v = ordered_json::parse(text, nullptr, false);
                values.push_back(v.is_discarded() ? ordered_json(text) : v);
            }
            pj["values"] = values;
        } else {
            pj["min"] = p.min;
            pj["max"] = p.max;
            pj["scale"] = toString(p.scale);
            pj["integer"] = p.integer;
        }
        parameters.push_back(pj);
    }
    j["parameters"] = parameters;
    j["trials"] = s.trials;
    j["concurrent"] = s.concurrent;
    j["metric"] = s.metric;
    j["pruner"] = toString(s.pruner);
    j["reduction_factor"] = s.reductionFactor;
    j["min_epochs"] = s.minEpochs;
    return j;
}

void validateSweep(const ExperimentSpec& spec, Problems& problems)
{
    const SweepSpec& s = spec.sweep;
    if (s == SweepSpec{})
        return;
    auto atLeast = [&](const char* key, int64_t v, int64_t min) {
        if (v < min)
            problems.push_back({std::string("sweep.") + key, "must be >= " + std::to_string(min) + ", got " + std::to_string(v)});
    };
    atLeast("trials", s.trials, 1);
    atLeast("concurrent", s.concurrent, 1);
    atLeast("reduction_factor", s.reductionFactor, 2);
    atLeast("min_epochs", s.minEpochs, 1);
    if (s.metric != "auto" && sweepMetricDirection(s.metric) == 0)
        problems.push_back({"sweep.metric", "must be auto, val/accuracy, val/loss, train/accuracy or train/loss, got \""
                                                + s.metric + "\""});
    if (s.method == SweepMethod::Grid && sweepTrialCount(s) > kMaxSweepTrials)
        problems.push_back({"sweep.parameters", "the grid has more than " + std::to_string(kMaxSweepTrials)
                                                    + " combinations; use method random"});

    // Each value is set into the experiment without its sweep, which must still parse.
    ExperimentSpec plain = spec;
    plain.sweep = SweepSpec{};
    const std::string base = experimentToJson(plain);
    const std::set<std::string> known = problemTexts(parseExperiment(base).problems);
    auto tryValue = [&](const std::string& where, const std::string& path, const std::string& text) {
        for (const auto& p : parseExperiment(base, {path + "=" + text}).problems)
            if (!known.count(p.text())) {
                problems.push_back({where, path + "=" + text + ": " + p.text()});
                return;   // one problem per value says enough
            }
    };
    std::set<std::string> paths;
    for (size_t i = 0; i < s.parameters.size(); ++i) {
        const SweepParameter& p = s.parameters[i];
        const std::string at = "sweep.parameters[" + std::to_string(i) + "]";
        if (p.path.empty()) {
            problems.push_back({at + ".path", "must not be empty"});
            continue;
        }
        if (p.path == "sweep" || p.path.rfind("sweep.", 0) == 0 || p.path.rfind("sweep[", 0) == 0) {
            problems.push_back({at + ".path", "a sweep cannot set its own section"});
            continue;
        }
        if (!paths.insert(p.path).second)
            problems.push_back({at + ".path", "\"" + p.path + "\" appears twice"});
        if (!p.values.empty()) {
            for (size_t v = 0; v < p.values.size(); ++v)
                tryValue(at + ".values[" + std::to_string(v) + "]", p.path, p.values[v]);
            continue;
        }
        if (s.method == SweepMethod::Grid) {
            problems.push_back({at, "a grid needs a list of values; a range (min, max) needs method random"});
            continue;
        }
        if (!(std::isfinite(p.min) && std::isfinite(p.max) && p.min < p.max)) {
            problems.push_back({at + ".max", "must be > min (" + json(p.min).dump() + "), got " + json(p.max).dump()});
            continue;
        }
        if (p.scale == SweepScale::Log && p.min <= 0) {
            problems.push_back({at + ".min", "must be > 0 for a log scale, got " + json(p.min).dump()});
            continue;
        }
        tryValue(at + ".min", p.path, numberText(p.min, p.integer));
        tryValue(at + ".max", p.path, numberText(p.max, p.integer));
    }
}

} // namespace detail

} // namespace nnlab
