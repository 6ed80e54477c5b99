#include "nnlab/monitor_alert.h"

#include "enum_names.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace nnlab {

namespace {

constexpr MonitorRule kRules[] = {MonitorRule::NotFinite, MonitorRule::Above, MonitorRule::Below,
                                  MonitorRule::AboveRunningMin, MonitorRule::BelowRunningMax, MonitorRule::Spike,
                                  MonitorRule::Plateau, MonitorRule::SlowThroughput};
constexpr MonitorAction kActions[] = {MonitorAction::Annotate, MonitorAction::Notify, MonitorAction::Stop,
                                      MonitorAction::StopKeepBest, MonitorAction::Rollback, MonitorAction::MultiplyLr};

// JSON has no NaN or infinity: those travel as null and as strings.
nlohmann::json number(double v)
{
    if (std::isnan(v))
        return nullptr;
    if (std::isinf(v))
        return v > 0 ? "inf" : "-inf";
    return v;
}

double number(const nlohmann::json& j)
{
    if (j.is_number())
        return j.get<double>();
    if (j.is_string())
        return j.get<std::string>() == "-inf" ? -std::numeric_limits<double>::infinity()
                                               : std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
}

} // namespace

const char* toString(MonitorRule rule)
{
    switch (rule) {
    case MonitorRule::NotFinite: return "not_finite";
    case MonitorRule::Above: return "above";
    case MonitorRule::Below: return "below";
    case MonitorRule::AboveRunningMin: return "above_min";
    case MonitorRule::BelowRunningMax: return "below_max";
    case MonitorRule::Spike: return "spike";
    case MonitorRule::Plateau: return "plateau";
    case MonitorRule::SlowThroughput: return "slow_throughput";
    }
    return "not_finite";
}

const char* toString(MonitorAction action)
{
    switch (action) {
    case MonitorAction::Annotate: return "annotate";
    case MonitorAction::Notify: return "notify";
    case MonitorAction::Stop: return "stop";
    case MonitorAction::StopKeepBest: return "stop_keep_best";
    case MonitorAction::Rollback: return "rollback";
    case MonitorAction::MultiplyLr: return "multiply_lr";
    }
    return "annotate";
}

std::optional<MonitorRule> monitorRuleFromString(const std::string& text) { return detail::enumFromName(text, kRules); }
std::optional<MonitorAction> monitorActionFromString(const std::string& text) { return detail::enumFromName(text, kActions); }

std::string monitorName(const MonitorSpec& monitor)
{
    return monitor.name.empty() ? monitor.metric + " " + toString(monitor.rule) : monitor.name;
}

std::string alertToDetail(const MonitorAlert& a)
{
    const nlohmann::json j = {{"rule", a.rule},       {"metric", a.metric},   {"step", a.step},
                              {"value", number(a.value)}, {"threshold", number(a.threshold)},
                              {"action", a.action},   {"message", a.message}};
    return j.dump();
}

std::optional<MonitorAlert> alertFromDetail(const std::string& detail)
{
    const nlohmann::json j = nlohmann::json::parse(detail, nullptr, false);
    if (!j.is_object() || !j.contains("rule") || !j["rule"].is_string())
        return std::nullopt;
    const auto text = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(); };
    MonitorAlert a;
    a.rule = text("rule");
    a.metric = text("metric");
    a.step = j.contains("step") && j["step"].is_number_integer() ? j["step"].get<int64_t>() : 0;
    a.value = j.contains("value") ? number(j["value"]) : std::numeric_limits<double>::quiet_NaN();
    a.threshold = j.contains("threshold") ? number(j["threshold"]) : std::numeric_limits<double>::quiet_NaN();
    a.action = text("action");
    a.message = text("message");
    return a;
}

} // namespace nnlab
