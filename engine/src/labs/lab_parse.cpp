// nnlab.lab/1 files to Lab: the document, its steps and their experiments. Observations are
// read in lab_observation_parse.cpp. Problems name their JSON path, like the experiment parser's.
#include "lab_parse.h"

#include "json_reader.h"
#include "nnlab/lab.h"
#include "nnlab/spec_json.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace nnlab {

using nlohmann::json;
using detail::ObjectReader;
namespace fs = std::filesystem;

namespace {

// "_comment" keys explain a file to its reader; nobody else reads them.
void skipComments(ObjectReader& r, const json& object)
{
    if (!object.is_object())
        return;
    for (auto it = object.begin(); it != object.end(); ++it)
        if (it.key().rfind("_comment", 0) == 0)
            r.take(it.key());
}

json withoutComments(const json& value)
{
    if (value.is_object()) {
        json out = json::object();
        for (auto it = value.begin(); it != value.end(); ++it)
            if (it.key().rfind("_comment", 0) != 0)
                out[it.key()] = withoutComments(it.value());
        return out;
    }
    if (value.is_array()) {
        json out = json::array();
        for (const auto& item : value)
            out.push_back(withoutComments(item));
        return out;
    }
    return value;
}

void prefixProblems(const Problems& in, const std::string& prefix, Problems& out)
{
    for (const auto& p : in)
        out.push_back({p.path.empty() ? prefix : prefix + "." + p.path, p.message});
}

// Inline experiments' data paths are relative to the lab file, like the lab's other paths.
void resolveDataPaths(json& doc, const fs::path& base)
{
    if (!doc.contains("data") || !doc["data"].is_object())
        return;
    for (const char* key : {"path", "test_path"}) {
        json& data = doc["data"];
        if (data.contains(key) && data[key].is_string()) {
            const std::string p = data[key].get<std::string>();
            if (!p.empty() && fs::path(p).is_relative())
                data[key] = (base / p).lexically_normal().string();
        }
    }
}

// The doc parsed and validated: problems under `path`.
bool specFromDoc(json doc, const std::string& path, ExperimentSpec& out, Problems& problems)
{
    if (!doc.contains("format"))
        doc["format"] = kExperimentFormat;
    const ParseResult parsed = parseExperiment(doc.dump());
    if (!parsed.ok()) {
        prefixProblems(parsed.problems, path, problems);
        return false;
    }
    out = parsed.spec;
    return true;
}

// Applies "changes" (a merge patch) and "set" (key paths) of `r`'s object to `doc`.
void applyChanges(ObjectReader& r, const std::string& path, json& doc, std::string* patchText,
                  std::vector<std::string>* sets, Problems& problems)
{
    if (r.has("changes")) {
        const json& patch = r.take("changes");
        if (!patch.is_object())
            problems.push_back({path + ".changes", "must be an object (a JSON merge patch), got " + detail::describe(patch)});
        else {
            const json clean = withoutComments(patch);
            doc.merge_patch(clean);
            if (patchText)
                *patchText = clean.dump();
        }
    }
    if (r.has("set")) {
        const json& set = r.take("set");
        if (!set.is_object()) {
            problems.push_back({path + ".set", "must be an object {\"key.path\": value}, got " + detail::describe(set)});
            return;
        }
        for (auto it = set.begin(); it != set.end(); ++it) {
            if (it.key().rfind("_comment", 0) == 0)
                continue;
            const std::string assignment = it.key() + "=" + it.value().dump();
            Problems local;
            detail::applyOverride(doc, assignment, local);
            for (auto& p : local)
                problems.push_back({path + ".set." + it.key(), p.message});
            if (sets)
                sets->push_back(assignment);
        }
    }
}

bool validId(const std::string& id)
{
    if (id.empty())
        return false;
    for (char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || (c >= 'A' && c <= 'Z')))
            return false;
    return true;
}

void readStringList(ObjectReader& r, const std::string& key, const std::string& path, std::vector<std::string>& out,
                    Problems& problems)
{
    if (!r.has(key))
        return;
    const json& v = r.take(key);
    if (!v.is_array()) {
        problems.push_back({path + "." + key, "must be a list of strings, got " + detail::describe(v)});
        return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i].is_string())
            out.push_back(v[i].get<std::string>());
        else
            problems.push_back({path + "." + key + "[" + std::to_string(i) + "]", "must be a string, got " + detail::describe(v[i])});
    }
}

void readQuestion(const json& value, const std::string& path, LabQuestion& q, Problems& problems)
{
    ObjectReader r(value, path, problems);
    if (!r.isObject())
        return;
    skipComments(r, value);
    r.string("prompt", q.prompt);
    readStringList(r, "choices", path, q.choices, problems);
    int64_t answer = -1;
    r.integer("answer", answer);
    r.string("explanation", q.explanation);
    r.finish("a question key (prompt, choices, answer, explanation)");
    if (q.prompt.empty())
        problems.push_back({path + ".prompt", "missing; the question students answer before they run"});
    if (q.choices.size() < 2)
        problems.push_back({path + ".choices", "needs at least two choices, got " + std::to_string(q.choices.size())});
    if (answer < -1 || answer >= static_cast<int64_t>(q.choices.size()))
        problems.push_back({path + ".answer", "must index choices (0.." + std::to_string(q.choices.size()) + " - 1), got "
                                                  + std::to_string(answer)});
    else
        q.answer = static_cast<int>(answer);
}

void readLocks(ObjectReader& r, const std::string& path, std::vector<LabLock>& out, Problems& problems)
{
    if (!r.has("locked"))
        return;
    const json& v = r.take("locked");
    if (!v.is_array()) {
        problems.push_back({path + ".locked", "must be a list of {path, reason}, got " + detail::describe(v)});
        return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
        const std::string itemPath = path + ".locked[" + std::to_string(i) + "]";
        ObjectReader item(v[i], itemPath, problems);
        if (!item.isObject())
            continue;
        skipComments(item, v[i]);
        LabLock lock;
        item.string("path", lock.path);
        item.string("reason", lock.reason);
        item.finish("path or reason");
        if (lock.path.empty())
            problems.push_back({itemPath + ".path", "missing; a spec key path such as \"optimizer.lr\""});
        if (lock.reason.empty())
            problems.push_back({itemPath + ".reason", "missing; students see why the control is locked"});
        out.push_back(lock);
    }
}

// "compress" and "distill" name an earlier run of the step (`earlier`).
void readVariantSource(ObjectReader& item, const std::string& path, const std::set<std::string>& earlier,
                       LabVariant& variant, Problems& problems)
{
    auto runName = [&](ObjectReader& r, const std::string& key, const std::string& keyPath, std::string& out) {
        r.string(key, out);
        if (out.empty())
            problems.push_back({keyPath + "." + key, "missing; the name of an earlier run of this step"});
        else if (!earlier.count(out))
            problems.push_back({keyPath + "." + key, "\"" + out + "\" is not an earlier run of this step"});
    };
    if (item.has("compress")) {
        const std::string p = path + ".compress";
        const json& value = item.take("compress");
        ObjectReader r(value, p, problems);
        if (r.isObject()) {
            skipComments(r, value);
            runName(r, "from", p, variant.compressFrom);
            r.string("method", variant.compressMethod);
            r.number("sparsity", variant.sparsity);
            r.integer("finetune_epochs", variant.finetuneEpochs);
            r.finish("a compress key (from, method, sparsity, finetune_epochs)");
            static const std::set<std::string> methods{"prune", "prune-structured", "int8-static", "int8-dynamic"};
            if (!methods.count(variant.compressMethod))
                problems.push_back({p + ".method", "unknown value \"" + variant.compressMethod
                                                       + "\"; one of prune, prune-structured, int8-static, int8-dynamic"});
            if (variant.sparsity < 0 || variant.sparsity >= 1)
                problems.push_back({p + ".sparsity", "must be in [0, 1)"});
            if (variant.finetuneEpochs < 0)
                problems.push_back({p + ".finetune_epochs", "must be >= 0"});
        }
    }
    if (item.has("distill")) {
        const std::string p = path + ".distill";
        const json& value = item.take("distill");
        ObjectReader r(value, p, problems);
        if (r.isObject()) {
            skipComments(r, value);
            runName(r, "teacher", p, variant.distillTeacher);
            r.number("alpha", variant.alpha);
            r.number("temperature", variant.temperature);
            r.finish("a distill key (teacher, alpha, temperature)");
            if (variant.alpha < 0 || variant.alpha > 1)
                problems.push_back({p + ".alpha", "must be in [0, 1]"});
            if (!(variant.temperature > 0))
                problems.push_back({p + ".temperature", "must be > 0"});
        }
    }
    if (!variant.compressFrom.empty() && !variant.distillTeacher.empty())
        problems.push_back({path, "either compress or distill, not both"});
}

void readVariants(ObjectReader& r, const std::string& path, const ExperimentSpec& base, LabStep& step,
                  Problems& problems)
{
    if (!r.has("runs")) {
        LabVariant only;
        only.name = "run";
        step.runs.push_back(only);
        return;
    }
    const json& v = r.take("runs");
    if (!v.is_array() || v.empty()) {
        problems.push_back({path + ".runs", "must be a non-empty list of {name, changes, set}, got " + detail::describe(v)});
        return;
    }
    std::set<std::string> names;
    for (size_t i = 0; i < v.size(); ++i) {
        const std::string itemPath = path + ".runs[" + std::to_string(i) + "]";
        ObjectReader item(v[i], itemPath, problems);
        if (!item.isObject())
            continue;
        skipComments(item, v[i]);
        LabVariant variant;
        item.string("name", variant.name);
        readVariantSource(item, itemPath, names, variant, problems);
        json doc = json::parse(experimentToJson(base));
        applyChanges(item, itemPath, doc, &variant.patch, &variant.sets, problems);
        item.finish("a run key (name, changes, set, compress, distill)");
        if (variant.name.empty())
            problems.push_back({itemPath + ".name", "missing; observations name runs by it (\"A\", \"seed1\")"});
        else if (!names.insert(variant.name).second)
            problems.push_back({itemPath + ".name", "\"" + variant.name + "\" names two runs of this step"});
        ExperimentSpec spec;
        specFromDoc(doc, itemPath, spec, problems);
        step.runs.push_back(variant);
    }
}

// The step's experiment document: its own, or the previous one's with its changes.
bool readExperiment(ObjectReader& r, const std::string& path, const fs::path& baseDir, const ExperimentSpec* previous,
                    json& doc, Problems& problems)
{
    if (r.has("experiment")) {
        const json& e = r.take("experiment");
        if (e.is_string()) {
            const fs::path file = baseDir / e.get<std::string>();
            const ParseResult parsed = loadExperimentFile(file.lexically_normal().string());
            if (!parsed.ok()) {
                prefixProblems(parsed.problems, path + ".experiment", problems);
                return false;
            }
            doc = json::parse(experimentToJson(parsed.spec));
        } else if (e.is_object()) {
            doc = withoutComments(e);
            resolveDataPaths(doc, baseDir);
        } else {
            problems.push_back({path + ".experiment", "must be a file path or an experiment object, got " + detail::describe(e)});
            return false;
        }
    } else if (previous) {
        doc = json::parse(experimentToJson(*previous));
    } else {
        problems.push_back({path + ".experiment", "missing; the first step needs an experiment (a file or an object)"});
        return false;
    }
    return true;
}

void readStep(const json& value, const std::string& path, const fs::path& baseDir, const ExperimentSpec* previous,
              LabStep& step, bool& experimentOk, Problems& problems)
{
    experimentOk = false;
    ObjectReader r(value, path, problems);
    if (!r.isObject())
        return;
    skipComments(r, value);
    r.string("id", step.id);
    r.string("title", step.title);
    r.string("text", step.text);
    std::string figure;
    r.string("figure", figure);
    if (!figure.empty()) {
        const fs::path f = (baseDir / figure).lexically_normal();
        if (!fs::is_regular_file(f))
            problems.push_back({path + ".figure", f.string() + ": no such file"});
        step.figure = f.string();
    }
    std::string action = "train";
    r.string("action", action);
    if (action == "check")
        step.action = LabAction::Check;
    else if (action != "train")
        problems.push_back({path + ".action", "unknown value \"" + action + "\"; one of train, check"});

    json doc;
    const size_t before = problems.size();
    if (readExperiment(r, path, baseDir, previous, doc, problems)) {
        applyChanges(r, path, doc, nullptr, nullptr, problems);
        if (problems.size() == before)
            experimentOk = specFromDoc(doc, r.has("changes") || r.has("set") || !r.has("experiment")
                                                ? path + ".changes" : path + ".experiment",
                                       step.experiment, problems);
    }
    if (experimentOk)
        readVariants(r, path, step.experiment, step, problems);
    else if (r.has("runs"))
        r.take("runs");
    readLocks(r, path, step.locked, problems);
    readStringList(r, "hidden", path, step.hidden, problems);
    if (r.has("question"))
        readQuestion(r.take("question"), path + ".question", step.question, problems);
    if (r.has("observations"))
        detail::readObservations(r.take("observations"), path + ".observations", step, problems);
    r.finish("a step key (id, title, text, figure, action, experiment, changes, set, runs, locked, hidden, "
             "question, observations)");
    if (!validId(step.id))
        problems.push_back({path + ".id", step.id.empty() ? "missing; a short name such as \"plain\""
                                                            : "\"" + step.id + "\": use letters, digits, _ and -"});
    if (step.title.empty())
        problems.push_back({path + ".title", "missing"});
}

} // namespace

LabParseResult parseLab(const std::string& jsonText, const std::string& baseDir)
{
    LabParseResult result;
    json doc;
    try {
        doc = json::parse(jsonText);
    } catch (const json::exception& e) {
        result.problems.push_back({"", std::string("not valid JSON: ") + e.what()});
        return result;
    }
    Problems& problems = result.problems;
    ObjectReader r(doc, "", problems);
    if (!r.isObject())
        return result;
    skipComments(r, doc);
    std::string format;
    r.string("format", format);
    if (format != kLabFormat) {
        problems.push_back({"format", format.empty() ? std::string("missing; must be \"") + kLabFormat + "\""
                                                     : "\"" + format + "\" is not \"" + kLabFormat + "\""});
        return result;
    }
    Lab& lab = result.lab;
    r.string("title", lab.title);
    r.string("summary", lab.summary);
    if (lab.title.empty())
        problems.push_back({"title", "missing"});
    if (!r.has("steps")) {
        problems.push_back({"steps", "missing; a lab is a list of steps"});
    } else {
        const json& steps = r.take("steps");
        if (!steps.is_array() || steps.empty())
            problems.push_back({"steps", "must be a non-empty list of steps, got " + detail::describe(steps)});
        else {
            std::set<std::string> ids;
            const ExperimentSpec* previous = nullptr;
            lab.steps.reserve(steps.size());   // `previous` points into it
            for (size_t i = 0; i < steps.size(); ++i) {
                const std::string path = "steps[" + std::to_string(i) + "]";
                lab.steps.emplace_back();
                bool experimentOk = false;
                readStep(steps[i], path, fs::path(baseDir), previous, lab.steps.back(), experimentOk, problems);
                if (!lab.steps.back().id.empty() && !ids.insert(lab.steps.back().id).second)
                    problems.push_back({path + ".id", "\"" + lab.steps.back().id + "\" names two steps"});
                previous = experimentOk ? &lab.steps.back().experiment : nullptr;
                if (!experimentOk && i + 1 < steps.size())
                    break;   // later steps change this one: their problems would only repeat it
            }
        }
    }
    r.finish("a lab key (format, title, summary, steps)");
    return result;
}

LabParseResult loadLabFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LabParseResult result;
        result.problems.push_back({path, "cannot open the lab file"});
        return result;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    LabParseResult result = parseLab(buffer.str(), fs::absolute(fs::path(path)).parent_path().string());
    result.lab.path = fs::absolute(fs::path(path)).lexically_normal().string();
    for (auto& p : result.problems)
        if (p.path.empty())
            p.path = path;
    return result;
}

std::string LabParseResult::errorText() const
{
    std::string text;
    for (const auto& p : problems)
        text += p.text() + "\n";
    return text;
}

const LabStep* Lab::findStep(const std::string& id) const
{
    for (const auto& s : steps)
        if (s.id == id)
            return &s;
    return nullptr;
}

Problems variantSpec(const ExperimentSpec& base, const LabVariant& variant, ExperimentSpec& out)
{
    Problems problems;
    json doc = json::parse(experimentToJson(base));
    if (!variant.patch.empty())
        doc.merge_patch(json::parse(variant.patch, nullptr, false));
    for (const auto& s : variant.sets)
        detail::applyOverride(doc, s, problems);
    if (problems.empty())
        specFromDoc(doc, "", out, problems);
    return problems;
}

} // namespace nnlab
