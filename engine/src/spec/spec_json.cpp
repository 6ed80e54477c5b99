#include "nnlab/spec_json.h"

#include "json_reader.h"
#include "nnlab/layer_types.h"
#include "nnlab/model_info.h"
#include "spec_inspect.h"
#include "spec_keys.h"
#include "spec_monitors.h"
#include "spec_sweep.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nnlab {

using nlohmann::json;
using detail::ObjectReader;

namespace {

void readLayers(const json& array, const std::string& path, std::vector<LayerSpec>& out,
                Problems& problems);

// A choice that decides which other keys exist: when unknown, the other keys cannot be
// judged, so only the choice itself is reported.
void unknownChoice(ObjectReader& r, const std::string& path, const std::string& value, const char* choices,
                   Problems& problems)
{
    problems.push_back({path, "unknown value \"" + value + "\"; one of " + choices});
    r.ignoreRest();
}

void readLayer(const json& value, const std::string& path, LayerSpec& layer, Problems& problems)
{
    ObjectReader r(value, path, problems);
    if (!r.isObject())
        return;
    if (!r.has("type")) {
        problems.push_back({path + ".type", "missing; one of " + layerTypeList()});
        return;
    }
    r.string("type", layer.type);
    r.string("name", layer.name);
    const LayerTypeInfo* info = findLayerType(layer.type);
    if (!info) {
        problems.push_back({path + ".type", "unknown layer type \"" + layer.type + "\"; one of " + layerTypeList()});
        r.ignoreRest();
        return;
    }
    for (const auto& opt : info->options) {
        double v = opt.defaultValue;
        if (!r.has(opt.key)) {
            if (opt.required && !opt.fromData)   // fromData: 0, checked by inspectModel
                problems.push_back({path + "." + opt.key, "missing; " + opt.doc + " is required for " + layer.type});
        } else if (opt.kind == OptionInfo::Kind::Bool) {
            bool b = v != 0.0;
            r.boolean(opt.key, b);
            v = b ? 1.0 : 0.0;
        } else if (opt.kind == OptionInfo::Kind::Int) {
            int64_t i = static_cast<int64_t>(v);
            r.integer(opt.key, i);
            v = static_cast<double>(i);
        } else {
            r.number(opt.key, v);
        }
        layer.options[opt.key] = v;
    }
    if (info->isBlock) {
        if (!r.has("layers"))
            problems.push_back({path + ".layers", "missing; a residual block needs a list of layers"});
        else
            readLayers(r.take("layers"), path + ".layers", layer.layers, problems);
    }
    r.finish("an option of " + layer.type);
}

void readLayers(const json& array, const std::string& path, std::vector<LayerSpec>& out,
                Problems& problems)
{
    if (!array.is_array()) {
        problems.push_back({path, "must be a list of layers, got " + detail::describe(array)});
        return;
    }
    out.clear();
    for (size_t i = 0; i < array.size(); ++i) {
        out.emplace_back();
        readLayer(array[i], path + "[" + std::to_string(i) + "]", out.back(), problems);
    }
}

void readData(const json& value, DataSpec& d, Problems& problems)
{
    ObjectReader r(value, "data", problems);
    if (!r.isObject())
        return;
    r.string("source", d.source);
    r.integer("train_limit", d.trainLimit);
    r.number("validation_fraction", d.validationFraction);
    r.string("normalize", d.normalize);
    r.boolean("shuffle", d.shuffle);
    const auto& keys = detail::dataKeys(d.source);
    if (keys.empty())
        return unknownChoice(r, "data.source", d.source, "spiral, moons, circles, xor, blobs, fashion-mnist, idx, cifar10, csv", problems);
    if (keys.count("samples")) {
        r.integer("samples", d.samples);
        r.integer("classes", d.classes);
        r.number("noise", d.noise);
    }
    if (keys.count("path"))
        r.string("path", d.path);
    if (keys.count("test_path"))
        r.string("test_path", d.testPath);
    if (keys.count("label_column"))
        r.stringOrInteger("label_column", d.labelColumn);
    if (keys.count("header"))
        r.string("header", d.header);
    if (keys.count("delimiter"))
        r.string("delimiter", d.delimiter);
    if (keys.count("skip_rows"))
        r.integer("skip_rows", d.skipRows);
    if (keys.count("comment"))
        r.string("comment", d.comment);
    r.finish("an option of source \"" + d.source + "\"");
}

void readModel(const json& value, ModelSpec& m, Problems& problems)
{
    ObjectReader r(value, "model", problems);
    if (!r.isObject())
        return;
    m.input.clear();   // an omitted input is taken from the data
    if (r.has("input")) {
        const json& in = r.take("input");
        if (!in.is_array() || in.empty() || in.size() > 3) {
            problems.push_back({"model.input", "must be a list of 1 to 3 sizes like [1, 28, 28] (or omitted to take "
                                               "it from the data), got " + detail::describe(in)});
        } else {
            for (size_t i = 0; i < in.size(); ++i) {
                if (!in[i].is_number_integer())
                    problems.push_back({"model.input[" + std::to_string(i) + "]", "must be an integer, got " + detail::describe(in[i])});
                else
                    m.input.push_back(in[i].get<int64_t>());
            }
        }
    }
    if (!r.has("layers"))
        problems.push_back({"model.layers", "missing; a model needs a list of layers"});
    else
        readLayers(r.take("layers"), "model.layers", m.layers, problems);
    r.finish("a model key (input, layers)");
}

void readOptimizer(const json& value, OptimizerSpec& o, Problems& problems)
{
    ObjectReader r(value, "optimizer", problems);
    if (!r.isObject())
        return;
    r.string("type", o.type);
    r.number("lr", o.lr);
    r.number("weight_decay", o.weightDecay);
    const auto& keys = detail::optimizerKeys(o.type);
    if (keys.empty())
        return unknownChoice(r, "optimizer.type", o.type, "sgd, adam, adamw, rmsprop", problems);
    if (keys.count("momentum"))
        r.number("momentum", o.momentum);
    if (keys.count("nesterov"))
        r.boolean("nesterov", o.nesterov);
    if (keys.count("betas"))
        r.pair("betas", o.beta1, o.beta2);
    if (keys.count("eps"))
        r.number("eps", o.eps);
    if (keys.count("alpha"))
        r.number("alpha", o.alpha);
    r.finish("an option of " + o.type);
}

void readSchedule(const json& value, ScheduleSpec& s, Problems& problems)
{
    ObjectReader r(value, "schedule", problems);
    if (!r.isObject())
        return;
    r.string("type", s.type);
    const auto& keys = detail::scheduleKeys(s.type);
    if (keys.empty())
        return unknownChoice(r, "schedule.type", s.type, "constant, step, exponential, cosine, warmup_cosine, onecycle", problems);
    if (keys.count("warmup_steps"))
        r.integer("warmup_steps", s.warmupSteps);
    if (keys.count("step_size"))
        r.integer("step_size", s.stepSize);
    if (keys.count("gamma"))
        r.number("gamma", s.gamma);
    if (keys.count("min_lr"))
        r.number("min_lr", s.minLr);
    if (keys.count("pct_start"))
        r.number("pct_start", s.pctStart);
    if (keys.count("div_factor"))
        r.number("div_factor", s.divFactor);
    if (keys.count("final_div_factor"))
        r.number("final_div_factor", s.finalDivFactor);
    r.finish("an option of the " + s.type + " schedule");
}

void readTraining(const json& value, TrainingSpec& t, Problems& problems)
{
    ObjectReader r(value, "training", problems);
    if (!r.isObject())
        return;
    r.integer("epochs", t.epochs);
    r.integer("batch_size", t.batchSize);
    r.integer("eval_batch_size", t.evalBatchSize);
    r.number("grad_clip_norm", t.gradClipNorm);
    r.number("grad_clip_value", t.gradClipValue);
    r.integer("threads", t.threads);
    r.string("device", t.device);
    r.integer("log_every_steps", t.logEverySteps);
    r.integer("checkpoint_every_steps", t.checkpointEverySteps);
    r.number("checkpoint_every_seconds", t.checkpointEverySeconds);
    r.string("best_metric", t.bestMetric);
    r.boolean("deterministic", t.deterministic);
    r.integer("workers", t.workers);
    r.finish("a training option");
}

ExperimentSpec readExperiment(const json& doc, Problems& problems)
{
    // Start from empty sections so a file states its model; other sections default.
    ExperimentSpec spec;
    spec.model.layers.clear();
    ObjectReader r(doc, "", problems);
    if (!r.isObject())
        return spec;
    std::string format;
    r.string("format", format);
    if (!format.empty() && format != kExperimentFormat)
        problems.push_back({"format", "unsupported format \"" + format + "\"; this nnlab reads \"" + kExperimentFormat + "\""});
    r.string("name", spec.name);
    int64_t seed = 0;
    r.integer("seed", seed);
    if (seed < 0)
        problems.push_back({"seed", "must be >= 0, got " + std::to_string(seed)});
    spec.seed = static_cast<uint64_t>(seed);
    if (r.has("data"))
        readData(r.take("data"), spec.data, problems);
    if (r.has("model"))
        readModel(r.take("model"), spec.model, problems);
    else
        problems.push_back({"model", "missing; an experiment needs a model"});
    r.string("loss", spec.loss);
    if (r.has("optimizer"))
        readOptimizer(r.take("optimizer"), spec.optimizer, problems);
    if (r.has("schedule"))
        readSchedule(r.take("schedule"), spec.schedule, problems);
    if (r.has("training"))
        readTraining(r.take("training"), spec.training, problems);
    if (r.has("monitors"))
        detail::readMonitors(r.take("monitors"), spec.monitors, problems);
    if (r.has("sweep"))
        detail::readSweep(r.take("sweep"), spec.sweep, problems);
    if (r.has("inspect"))
        detail::readInspect(r.take("inspect"), spec.inspect, problems);
    r.finish("a top-level key (format, name, seed, data, model, loss, optimizer, schedule, training, monitors, sweep, "
             "inspect)");
    return spec;
}

} // namespace

std::string ParseResult::errorText() const
{
    std::string text;
    for (const auto& p : problems)
        text += p.text() + "\n";
    return text;
}

namespace {

namespace fs = std::filesystem;

const char* const kDataPathKeys[] = {"path", "test_path"};

// json::parse throws parse_error, and out_of_range for a number beyond double ("1e309").
ParseResult notJson(const json::exception& e)
{
    ParseResult result;
    result.problems.push_back({"", std::string("not valid JSON: ") + e.what()});
    return result;
}

// The data paths a file names, read against the file's folder. Done on the document before
// any --set, so a path given on the command line stays relative to the working directory,
// as shell arguments are.
void resolveDataPaths(json& doc, const fs::path& folder)
{
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_object())
        return;
    json& data = doc["data"];
    for (const char* key : kDataPathKeys) {
        if (!data.contains(key) || !data[key].is_string())
            continue;
        const fs::path path = data[key].get<std::string>();
        if (!path.empty() && path.is_relative())
            data[key] = (folder / path).lexically_normal().string();
    }
}

// A data path as a file in `folder` should say it: relative to the folder when the two share
// a folder below the root (a project moves as a whole), else absolute (/usr/share/...).
std::string pathForFolder(const std::string& dataPath, const fs::path& folder)
{
    if (dataPath.empty())
        return dataPath;
    std::error_code ec;
    const fs::path data = fs::absolute(dataPath, ec).lexically_normal();
    const fs::path base = fs::absolute(folder, ec).lexically_normal();
    auto d = data.begin(), b = base.begin();
    size_t shared = 0;
    for (; d != data.end() && b != base.end() && *d == *b; ++d, ++b)
        ++shared;
    const size_t root = data.has_root_path() ? size_t(std::distance(data.root_path().begin(), data.root_path().end())) : 0;
    const fs::path relative = data.lexically_relative(base);
    if (shared <= root || relative.empty())
        return data.string();
    return relative.string();
}

// The spec as a file at `file` writes it.
ExperimentSpec withPathsFor(const ExperimentSpec& spec, const std::string& file)
{
    ExperimentSpec out = spec;
    const fs::path folder = fs::absolute(fs::path(file)).parent_path();
    out.data.path = pathForFolder(spec.data.path, folder);
    out.data.testPath = pathForFolder(spec.data.testPath, folder);
    return out;
}

ParseResult parseDocument(json doc, const std::vector<std::string>& overrides)
{
    ParseResult result;
    for (const auto& assignment : overrides)
        detail::applyOverride(doc, assignment, result.problems);
    if (!result.problems.empty())
        return result;
    result.spec = readExperiment(doc, result.problems);
    // Value and shape checks only make sense on a structurally sound document.
    if (result.problems.empty()) {
        result.complete = true;
        result.problems = validateExperiment(result.spec, &result.model);
    }
    return result;
}

} // namespace

ParseResult parseExperiment(const std::string& jsonText, const std::vector<std::string>& overrides)
{
    json doc;
    try {
        doc = json::parse(jsonText);
    } catch (const json::exception& e) {
        return notJson(e);
    }
    return parseDocument(std::move(doc), overrides);
}

ParseResult loadExperimentFile(const std::string& path, const std::vector<std::string>& overrides)
{
    // A path from a downloaded lab or a script may name a device or a huge file: only a
    // regular file of a sane size is read (the shipped experiments are under 4 kB).
    constexpr std::uintmax_t kMaxExperimentBytes = 16u << 20;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!ec && fs::exists(status) && !fs::is_regular_file(status)) {
        ParseResult result;
        result.problems.push_back({path, "not a regular file: an experiment is a JSON file"});
        return result;
    }
    if (!ec && fs::is_regular_file(status) && fs::file_size(path, ec) > kMaxExperimentBytes && !ec) {
        ParseResult result;
        result.problems.push_back({path, "over 16 MB: too large for an experiment file"});
        return result;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ParseResult result;
        result.problems.push_back({path, "cannot open the experiment file"});
        return result;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    ParseResult result;
    json doc;
    try {
        doc = json::parse(buffer.str());
    } catch (const json::exception& e) {
        result = notJson(e);
    }
    if (result.problems.empty()) {
        resolveDataPaths(doc, fs::absolute(fs::path(path)).parent_path());
        result = parseDocument(std::move(doc), overrides);
    }
    for (auto& p : result.problems)
        if (p.path.empty())
            p.path = path;
    return result;
}

std::string experimentToJson(const ExperimentSpec& spec)
{
    return detail::toOrderedJson(spec).dump(2) + "\n";
}

std::string saveExperimentFile(const ExperimentSpec& spec, const std::string& path)
{
    const std::string temp = path + ".tmp";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out)
            return path + ": cannot write (check the folder exists and is writable)";
        out << experimentToJson(withPathsFor(spec, path));
        out.flush();
        if (!out) {
            std::remove(temp.c_str());
            return path + ": write failed (disk full?)";
        }
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        std::remove(temp.c_str());
        return path + ": cannot replace the file";
    }
    return {};
}

} // namespace nnlab
