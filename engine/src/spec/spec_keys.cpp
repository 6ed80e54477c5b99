#include "spec_keys.h"

#include "spec_inspect.h"
#include "spec_monitors.h"
#include "spec_sweep.h"

#include "nnlab/layer_types.h"
#include "nnlab/spec_json.h"

#include <map>

namespace nnlab::detail {

using nlohmann::ordered_json;

namespace {
const std::set<std::string> kNone;

const std::set<std::string>& lookup(const std::map<std::string, std::set<std::string>>& table,
                                    const std::string& key)
{
    auto it = table.find(key);
    return it == table.end() ? kNone : it->second;
}
} // namespace

const std::set<std::string>& dataKeys(const std::string& source)
{
    static const std::set<std::string> toy{"samples", "classes", "noise"};
    static const std::set<std::string> files{"path"};
    static const std::map<std::string, std::set<std::string>> table{
        {"spiral", toy}, {"moons", toy}, {"circles", toy}, {"xor", toy}, {"blobs", toy},
        {"fashion-mnist", files}, {"idx", files}, {"cifar10", files},
        {"csv", {"path", "test_path", "label_column", "header", "delimiter", "skip_rows", "comment"}},
    };
    return lookup(table, source);
}

const std::set<std::string>& optimizerKeys(const std::string& type)
{
    static const std::map<std::string, std::set<std::string>> table{
        {"sgd", {"momentum", "nesterov"}},
        {"adam", {"betas", "eps"}},
        {"adamw", {"betas", "eps"}},
        {"rmsprop", {"momentum", "alpha", "eps"}},
    };
    return lookup(table, type);
}

const std::set<std::string>& scheduleKeys(const std::string& type)
{
    static const std::map<std::string, std::set<std::string>> table{
        {"constant", {"warmup_steps"}},
        {"step", {"warmup_steps", "step_size", "gamma"}},
        {"exponential", {"warmup_steps", "gamma"}},
        {"cosine", {"warmup_steps", "min_lr"}},
        {"warmup_cosine", {"warmup_steps", "min_lr"}},
        {"onecycle", {"pct_start", "div_factor", "final_div_factor"}},
    };
    return lookup(table, type);
}

namespace {

ordered_json layerJson(const LayerSpec& layer)
{
    ordered_json j;
    j["type"] = layer.type;
    if (!layer.name.empty())
        j["name"] = layer.name;
    if (const auto* info = findLayerType(layer.type)) {
        for (const auto& opt : info->options) {
            const double v = layer.option(opt.key);
            if (!opt.required && v == opt.defaultValue)
                continue;   // defaults stay implicit, as in torch.nn signatures
            if (opt.fromData && v == 0)
                continue;   // left to the data
            if (opt.kind == OptionInfo::Kind::Bool)
                j[opt.key] = v != 0.0;
            else if (opt.kind == OptionInfo::Kind::Int)
                j[opt.key] = static_cast<int64_t>(v);
            else
                j[opt.key] = v;
        }
    }
    if (!layer.layers.empty() || (findLayerType(layer.type) && findLayerType(layer.type)->isBlock)) {
        ordered_json children = ordered_json::array();
        for (const auto& child : layer.layers)
            children.push_back(layerJson(child));
        j["layers"] = children;
    }
    return j;
}

ordered_json dataJson(const DataSpec& d)
{
    ordered_json j;
    j["source"] = d.source;
    const auto& keys = dataKeys(d.source);
    if (keys.count("path") && !d.path.empty())
        j["path"] = d.path;
    if (keys.count("test_path") && !d.testPath.empty())
        j["test_path"] = d.testPath;
    if (keys.count("samples")) {
        j["samples"] = d.samples;
        j["classes"] = d.classes;
        j["noise"] = d.noise;
    }
    if (keys.count("label_column") && !d.labelColumn.empty())
        j["label_column"] = d.labelColumn;
    if (keys.count("header"))
        j["header"] = d.header;
    if (keys.count("delimiter"))
        j["delimiter"] = d.delimiter;
    if (keys.count("skip_rows"))
        j["skip_rows"] = d.skipRows;
    if (keys.count("comment"))
        j["comment"] = d.comment;
    j["train_limit"] = d.trainLimit;
    j["validation_fraction"] = d.validationFraction;
    j["normalize"] = d.normalize;
    j["shuffle"] = d.shuffle;
    return j;
}

ordered_json optimizerJson(const OptimizerSpec& o)
{
    ordered_json j;
    j["type"] = o.type;
    j["lr"] = o.lr;
    const auto& keys = optimizerKeys(o.type);
    if (keys.count("momentum"))
        j["momentum"] = o.momentum;
    if (keys.count("nesterov"))
        j["nesterov"] = o.nesterov;
    if (keys.count("betas"))
        j["betas"] = {o.beta1, o.beta2};
    if (keys.count("eps"))
        j["eps"] = o.eps;
    if (keys.count("alpha"))
        j["alpha"] = o.alpha;
    j["weight_decay"] = o.weightDecay;
    return j;
}

ordered_json scheduleJson(const ScheduleSpec& s)
{
    ordered_json j;
    j["type"] = s.type;
    const auto& keys = scheduleKeys(s.type);
    if (keys.count("warmup_steps"))
        j["warmup_steps"] = s.warmupSteps;
    if (keys.count("step_size"))
        j["step_size"] = s.stepSize;
    if (keys.count("gamma"))
        j["gamma"] = s.gamma;
    if (keys.count("min_lr"))
        j["min_lr"] = s.minLr;
    if (keys.count("pct_start"))
        j["pct_start"] = s.pctStart;
    if (keys.count("div_factor"))
        j["div_factor"] = s.divFactor;
    if (keys.count("final_div_factor"))
        j["final_div_factor"] = s.finalDivFactor;
    return j;
}

} // namespace

ordered_json toOrderedJson(const ExperimentSpec& spec)
{
    ordered_json j;
    j["format"] = kExperimentFormat;
    j["name"] = spec.name;
    j["seed"] = spec.seed;
    j["data"] = dataJson(spec.data);
    ordered_json model;
    if (!spec.model.input.empty())
        model["input"] = spec.model.input;   // omitted: taken from the data
    ordered_json layers = ordered_json::array();
    for (const auto& layer : spec.model.layers)
        layers.push_back(layerJson(layer));
    model["layers"] = layers;
    j["model"] = model;
    j["loss"] = spec.loss;
    j["optimizer"] = optimizerJson(spec.optimizer);
    j["schedule"] = scheduleJson(spec.schedule);
    const TrainingSpec& t = spec.training;
    j["training"] = {{"epochs", t.epochs},
                     {"batch_size", t.batchSize},
                     {"eval_batch_size", t.evalBatchSize},
                     {"grad_clip_norm", t.gradClipNorm},
                     {"grad_clip_value", t.gradClipValue},
                     {"threads", t.threads},
                     {"device", t.device},
                     {"log_every_steps", t.logEverySteps},
                     {"checkpoint_every_steps", t.checkpointEverySteps},
                     {"checkpoint_every_seconds", t.checkpointEverySeconds},
                     {"best_metric", t.bestMetric},
                     {"deterministic", t.deterministic},
                     {"workers", t.workers}};
    if (spec.monitors != defaultMonitors())
        j["monitors"] = monitorsJson(spec.monitors);   // omitted: the default rules
    if (spec.sweep != SweepSpec{})
        j["sweep"] = sweepJson(spec.sweep);            // omitted: no sweep
    if (spec.inspect != InspectSpec{})
        j["inspect"] = inspectJson(spec.inspect);      // omitted: the defaults
    return j;
}

} // namespace nnlab::detail
