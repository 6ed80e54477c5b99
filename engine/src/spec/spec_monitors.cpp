#include "spec_monitors.h"

#include "json_reader.h"
#include "nnlab/monitor_alert.h"

#include <cmath>
#include <sstream>

namespace nnlab::detail {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// The rule's own keys beyond name, metric, rule and actions.
struct RuleKeys {
    bool value = false;
    bool coefficient = false;
    bool window = false;
    bool minDelta = false;
    bool patience = false;
};

RuleKeys keysOf(MonitorRule rule)
{
    switch (rule) {
    case MonitorRule::NotFinite: return {};
    case MonitorRule::Above:
    case MonitorRule::Below: return {/*value*/ true, false, false, false, false};
    case MonitorRule::AboveRunningMin:
    case MonitorRule::BelowRunningMax: return {false, /*coefficient*/ true, false, false, false};
    case MonitorRule::Spike:
    case MonitorRule::SlowThroughput: return {false, /*coefficient*/ true, /*window*/ true, false, false};
    case MonitorRule::Plateau: return {false, false, false, /*minDelta*/ true, /*patience*/ true};
    }
    return {};
}

bool hasAction(const MonitorSpec& m, MonitorAction action)
{
    for (MonitorAction a : m.actions)
        if (a == action)
            return true;
    return false;
}

bool usesLrFactor(const MonitorSpec& m) { return hasAction(m, MonitorAction::Rollback) || hasAction(m, MonitorAction::MultiplyLr); }
bool usesMaxRollbacks(const MonitorSpec& m) { return hasAction(m, MonitorAction::Rollback); }

const char* const kRuleNames = "not_finite, above, below, above_min, below_max, spike, plateau, slow_throughput";
const char* const kActionNames = "annotate, notify, stop, stop_keep_best, rollback, multiply_lr";
const char* const kMetrics[] = {"train/loss", "train/accuracy", "val/loss", "val/accuracy",
                                "lr", "grad_norm", "samples_per_sec", "step_time"};

std::string keyList(const MonitorSpec& m)
{
    const RuleKeys k = keysOf(m.rule);
    std::string list = "name, metric, rule, actions";
    for (const auto& [on, key] : {std::pair{k.value, "value"}, std::pair{k.coefficient, "coefficient"},
                                  std::pair{k.window, "window"}, std::pair{k.minDelta, "min_delta"},
                                  std::pair{k.patience, "patience"}, std::pair{usesLrFactor(m), "lr_factor"},
                                  std::pair{usesMaxRollbacks(m), "max_rollbacks"}})
        if (on)
            list += std::string(", ") + key;
    return list;
}

// False when the list could not be read (then the keys that depend on it cannot be judged).
bool readActions(const json& value, const std::string& path, std::vector<MonitorAction>& out, Problems& problems)
{
    if (!value.is_array()) {
        problems.push_back({path, "must be a list of actions like [\"stop\"], got " + describe(value)});
        return false;
    }
    out.clear();
    bool ok = true;
    for (size_t i = 0; i < value.size(); ++i) {
        const std::string at = path + "[" + std::to_string(i) + "]";
        const std::optional<MonitorAction> action
            = value[i].is_string() ? monitorActionFromString(value[i].get<std::string>()) : std::nullopt;
        if (action)
            out.push_back(*action);
        else {
            problems.push_back({at, (value[i].is_string() ? "unknown value " : "must be an action name, got ") + describe(value[i])
                                        + "; one of " + kActionNames});
            ok = false;
        }
    }
    return ok;
}

void readMonitor(const json& value, const std::string& path, MonitorSpec& m, Problems& problems)
{
    ObjectReader r(value, path, problems);
    if (!r.isObject())
        return;
    r.string("name", m.name);
    r.string("metric", m.metric);
    const size_t before = problems.size();
    if (r.has("rule")) {
        std::string text = toString(m.rule);
        r.string("rule", text);
        const std::optional<MonitorRule> rule = monitorRuleFromString(text);
        if (problems.size() == before && !rule)
            problems.push_back({path + ".rule", "unknown value \"" + text + "\"; one of " + kRuleNames});
        if (!rule || problems.size() != before) {
            r.ignoreRest();   // the rule decides which other keys exist
            return;
        }
        m.rule = *rule;
    }
    const bool actionsRead = !r.has("actions") || readActions(r.take("actions"), path + ".actions", m.actions, problems);
    const RuleKeys keys = keysOf(m.rule);
    if (keys.value)
        r.number("value", m.value);
    if (keys.coefficient)
        r.number("coefficient", m.coefficient);
    if (keys.window)
        r.integer("window", m.window);
    if (keys.minDelta)
        r.number("min_delta", m.minDelta);
    if (keys.patience)
        r.integer("patience", m.patience);
    if (!actionsRead) {
        r.ignoreRest();   // lr_factor and max_rollbacks depend on the actions
        return;
    }
    if (usesLrFactor(m))
        r.number("lr_factor", m.lrFactor);
    if (usesMaxRollbacks(m))
        r.integer("max_rollbacks", m.maxRollbacks);
    r.finish(std::string("an option of the ") + toString(m.rule) + " rule with these actions (" + keyList(m) + ")");
}

std::string number(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
}

bool isAccuracy(const std::string& metric) { return metric == "train/accuracy" || metric == "val/accuracy"; }
bool isLoss(const std::string& metric) { return metric == "train/loss" || metric == "val/loss"; }

void validateMonitor(const ExperimentSpec& spec, const MonitorSpec& m, const std::string& path, Problems& p)
{
    bool known = false;
    for (const char* metric : kMetrics)
        known = known || m.metric == metric;
    std::string metricList;
    for (const char* metric : kMetrics)
        metricList += std::string(metricList.empty() ? "" : ", ") + metric;
    if (!known)
        p.push_back({path + ".metric", "unknown metric \"" + m.metric + "\"; one of " + metricList});
    else if (isAccuracy(m.metric) && !spec.isClassification())
        p.push_back({path + ".metric", m.metric + " is only measured with loss cross_entropy; this experiment's loss is "
                                           + spec.loss + ", watch train/loss or val/loss"});
    else if (m.metric.rfind("val/", 0) == 0 && spec.data.validationFraction <= 0)
        p.push_back({path + ".metric", m.metric + " is never measured: data.validation_fraction is 0"});
    else if (m.rule == MonitorRule::Plateau && !isAccuracy(m.metric) && !isLoss(m.metric))
        p.push_back({path + ".metric", "a plateau needs a metric that improves one way (a loss or an accuracy), got \""
                                           + m.metric + "\""});

    const RuleKeys keys = keysOf(m.rule);
    if (keys.value && !std::isfinite(m.value))
        p.push_back({path + ".value", "must be a finite number, got " + number(m.value)});
    if (keys.coefficient && !(m.coefficient > 0))
        p.push_back({path + ".coefficient", "must be > 0, got " + number(m.coefficient)});
    if (keys.window && m.window < 1)
        p.push_back({path + ".window", "must be >= 1, got " + std::to_string(m.window)});
    if (keys.minDelta && !(m.minDelta >= 0))
        p.push_back({path + ".min_delta", "must be >= 0, got " + number(m.minDelta)});
    if (keys.patience && m.patience < 1)
        p.push_back({path + ".patience", "must be >= 1, got " + std::to_string(m.patience)});

    if (m.actions.empty())
        p.push_back({path + ".actions", "needs at least one action, e.g. [\"annotate\"]; one of " + std::string(kActionNames)});
    for (size_t i = 0; i < m.actions.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (m.actions[i] == m.actions[j])
                p.push_back({path + ".actions[" + std::to_string(i) + "]", std::string("\"") + toString(m.actions[i])
                                                                              + "\" is listed twice"});
    const int endings = int(hasAction(m, MonitorAction::Stop)) + int(hasAction(m, MonitorAction::StopKeepBest))
                        + int(hasAction(m, MonitorAction::Rollback));
    if (endings > 1)
        p.push_back({path + ".actions", "stop, stop_keep_best and rollback exclude each other; keep one"});
    if (hasAction(m, MonitorAction::Rollback) && hasAction(m, MonitorAction::MultiplyLr))
        p.push_back({path + ".actions", "rollback already multiplies the learning rate by lr_factor; drop multiply_lr"});
    if (hasAction(m, MonitorAction::StopKeepBest) && spec.training.bestMetric == "none")
        p.push_back({path + ".actions", "stop_keep_best needs a best checkpoint, but training.best_metric is \"none\""});
    if (usesLrFactor(m) && !(m.lrFactor > 0))
        p.push_back({path + ".lr_factor", "must be > 0, got " + number(m.lrFactor)});
    if (usesMaxRollbacks(m) && m.maxRollbacks < 1)
        p.push_back({path + ".max_rollbacks", "must be >= 1, got " + std::to_string(m.maxRollbacks)});
}

} // namespace

void readMonitors(const json& value, std::vector<MonitorSpec>& out, Problems& problems)
{
    if (!value.is_array()) {
        problems.push_back({"monitors", "must be a list of rules like [{\"metric\": \"train/loss\", \"rule\": "
                                        "\"not_finite\", \"actions\": [\"stop\"]}], got " + describe(value)});
        return;
    }
    out.clear();
    for (size_t i = 0; i < value.size(); ++i) {
        out.emplace_back();
        readMonitor(value[i], "monitors[" + std::to_string(i) + "]", out.back(), problems);
    }
}

ordered_json monitorsJson(const std::vector<MonitorSpec>& monitors)
{
    const MonitorSpec d;
    ordered_json list = ordered_json::array();
    for (const MonitorSpec& m : monitors) {
        ordered_json j;
        if (!m.name.empty())
            j["name"] = m.name;
        j["metric"] = m.metric;
        j["rule"] = toString(m.rule);
        // The threshold's own number is always written, the rest only when not the default.
        const RuleKeys keys = keysOf(m.rule);
        if (keys.value)
            j["value"] = m.value;
        if (keys.coefficient)
            j["coefficient"] = m.coefficient;
        if (keys.window && m.window != d.window)
            j["window"] = m.window;
        if (keys.minDelta && m.minDelta != d.minDelta)
            j["min_delta"] = m.minDelta;
        if (keys.patience && m.patience != d.patience)
            j["patience"] = m.patience;
        ordered_json actions = ordered_json::array();
        for (MonitorAction a : m.actions)
            actions.push_back(toString(a));
        j["actions"] = actions;
        if (usesLrFactor(m) && m.lrFactor != d.lrFactor)
            j["lr_factor"] = m.lrFactor;
        if (usesMaxRollbacks(m) && m.maxRollbacks != d.maxRollbacks)
            j["max_rollbacks"] = m.maxRollbacks;
        list.push_back(j);
    }
    return list;
}

void validateMonitors(const ExperimentSpec& spec, Problems& problems)
{
    for (size_t i = 0; i < spec.monitors.size(); ++i)
        validateMonitor(spec, spec.monitors[i], "monitors[" + std::to_string(i) + "]", problems);
}

} // namespace nnlab::detail
