// A step's observations from their structured JSON forms (compare, trend, check; lab.h).
#include "json_reader.h"
#include "lab_parse.h"

#include <nlohmann/json.hpp>

#include <set>

namespace nnlab::detail {

using nlohmann::json;

namespace {

constexpr CheckId kCheckIds[] = {CheckId::OutputLayer, CheckId::LabelBalance, CheckId::InputRange, CheckId::InitialLoss,
                                 CheckId::Baseline,    CheckId::OverfitBatch, CheckId::GradientFlow};

std::string checkIdList()
{
    std::string out;
    for (CheckId id : kCheckIds)
        out += (out.empty() ? "" : ", ") + std::string(toString(id));
    return out;
}

void skipComments(ObjectReader& r, const json& object)
{
    for (auto it = object.begin(); it != object.end(); ++it)
        if (it.key().rfind("_comment", 0) == 0)
            r.take(it.key());
}

// "run": "B" or ["s1", "s2"]; every name one of the step's runs.
void readRuns(ObjectReader& r, const std::string& path, const LabStep& step, std::vector<std::string>& out,
              Problems& problems)
{
    if (!r.has("run"))
        return;
    const json& v = r.take("run");
    std::vector<std::string> names;
    if (v.is_string())
        names.push_back(v.get<std::string>());
    else if (v.is_array() && !v.empty()) {
        for (const auto& n : v)
            if (n.is_string())
                names.push_back(n.get<std::string>());
            else
                problems.push_back({path + ".run", "must name runs (strings), got " + describe(n)});
    } else {
        problems.push_back({path + ".run", "must be a run name or a list of them, got " + describe(v)});
        return;
    }
    std::string known;
    for (const auto& s : step.runs)
        known += (known.empty() ? "" : ", ") + s.name;
    for (const auto& n : names) {
        bool found = false;
        for (const auto& s : step.runs)
            found = found || s.name == n;
        if (!found)
            problems.push_back({path + ".run", "\"" + n + "\" is not a run of this step; one of " + known});
    }
    out = names;
}

void readAt(ObjectReader& r, const std::string& key, const std::string& path, LabPoint& point, int64_t& index,
            Problems& problems)
{
    std::string text;
    r.string(key, text);
    if (!text.empty() && !parseLabPoint(text, point, index))
        problems.push_back({path + "." + key, "unknown point \"" + text + "\"; one of final, first, min, max, "
                                                                          "\"epoch N\", \"step N\""});
}

// metric or gap, run, at: what both sides of a comparison have. `inherit` fills what is omitted.
void readQuantity(ObjectReader& r, const std::string& path, const LabStep& step, LabQuantity& q, Problems& problems)
{
    r.string("metric", q.metric);
    if (r.has("gap")) {
        const json& g = r.take("gap");
        if (g.is_array() && g.size() == 2 && g[0].is_string() && g[1].is_string()) {
            q.metric = g[0].get<std::string>();
            q.minus = g[1].get<std::string>();
        } else
            problems.push_back({path + ".gap", "must be two metric names [a, b] (the gap a - b), got " + describe(g)});
    }
    readRuns(r, path, step, q.runs, problems);
    readAt(r, "at", path, q.at, q.index, problems);
}

void readCompare(ObjectReader& r, const json& value, const std::string& path, const LabStep& step, Observation& o,
                 Problems& problems)
{
    std::string op;
    r.string("op", op);
    if (op == "<")
        o.op = CompareOp::Less;
    else if (op == "<=")
        o.op = CompareOp::LessEqual;
    else if (op == ">")
        o.op = CompareOp::Greater;
    else if (op == ">=")
        o.op = CompareOp::GreaterEqual;
    else
        problems.push_back({path + ".op", op.empty() ? "missing; one of <, <=, >, >=" : "unknown value \"" + op + "\"; one of <, <=, >, >="});
    const bool hasValue = r.has("value"), hasThan = r.has("than");
    if (hasValue == hasThan) {
        problems.push_back({path, "needs either \"value\" (a number) or \"than\" (another run's value), not "
                                      + std::string(hasValue ? "both" : "neither")});
        if (hasThan)
            r.take("than");
    }
    if (hasValue && !hasThan)
        r.number("value", o.value);
    if (hasThan && !hasValue) {
        o.againstRun = true;
        const json& than = r.take("than");
        const std::string thanPath = path + ".than";
        ObjectReader t(than, thanPath, problems);
        if (!t.isObject())
            return;
        skipComments(t, than);
        o.right = o.left;
        o.right.runs.clear();
        if (than.contains("metric") && !than.contains("gap"))
            o.right.minus.clear();
        readQuantity(t, thanPath, step, o.right, problems);
        if (!than.contains("at")) {
            o.right.at = o.left.at;
            o.right.index = o.left.index;
        }
        if (o.right.runs.empty())
            o.right.runs = o.left.runs;
        t.number("factor", o.factor);
        t.finish("a key of the other side (metric, gap, run, at, factor)");
    }
    (void)value;
}

void readObservation(const json& value, const std::string& path, LabStep& step, Observation& o, Problems& problems)
{
    ObjectReader r(value, path, problems);
    if (!r.isObject())
        return;
    skipComments(r, value);
    r.string("text", o.text);
    r.string("holds", o.holds);
    r.string("fails", o.fails);
    if (r.has("check")) {
        o.kind = ObservationKind::Check;
        std::string id;
        r.string("check", id);
        bool found = false;
        for (CheckId c : kCheckIds)
            if (id == toString(c)) {
                o.check = c;
                found = true;
            }
        if (!found)
            problems.push_back({path + ".check", "unknown check \"" + id + "\"; one of " + checkIdList()});
        readRuns(r, path, step, o.left.runs, problems);
        std::string status = "pass";
        r.string("status", status);
        if (status == "pass")
            o.statuses = {CheckStatus::Pass};
        else if (status == "warn")
            o.statuses = {CheckStatus::Warn};
        else if (status == "fail")
            o.statuses = {CheckStatus::Fail};
        else if (status == "ok")
            o.statuses = {CheckStatus::Pass, CheckStatus::Warn};
        else
            problems.push_back({path + ".status", "unknown value \"" + status + "\"; one of pass, warn, fail, ok"});
        if (step.action != LabAction::Check)
            problems.push_back({path + ".check", "only a step with \"action\": \"check\" runs the pre-flight checks"});
        r.finish("a key of a check observation (check, run, status, text, holds, fails)");
        return;
    }
    readQuantity(r, path, step, o.left, problems);
    if (o.left.metric.empty())
        problems.push_back({path, "needs \"metric\", \"gap\" or \"check\": what is observed"});
    if (step.action == LabAction::Check)
        problems.push_back({path, "a check step records no metrics; observe its checks ({\"check\": ...})"});
    if (r.has("trend")) {
        o.kind = ObservationKind::Trend;
        std::string trend;
        r.string("trend", trend);
        if (trend == "grows" || trend == "shrinks")
            o.grows = trend == "grows";
        else
            problems.push_back({path + ".trend", "unknown value \"" + trend + "\"; one of grows, shrinks"});
        readAt(r, "from", path, o.from, o.fromIndex, problems);
        r.number("margin", o.margin);
        if (o.margin < 0)
            problems.push_back({path + ".margin", "must be >= 0"});
        r.finish("a key of a trend observation (metric, gap, run, trend, from, at, margin, text, holds, fails)");
        return;
    }
    readCompare(r, value, path, step, o, problems);
    r.finish("a key of a comparison (metric, gap, run, at, op, value, than, text, holds, fails)");
}

} // namespace

bool parseLabPoint(const std::string& text, LabPoint& point, int64_t& index)
{
    static const std::pair<const char*, LabPoint> plain[] = {
        {"final", LabPoint::Final}, {"first", LabPoint::First}, {"min", LabPoint::Min}, {"max", LabPoint::Max}};
    for (const auto& [name, p] : plain)
        if (text == name) {
            point = p;
            index = 0;
            return true;
        }
    for (const auto& [prefix, p] : {std::pair<const char*, LabPoint>{"epoch ", LabPoint::Epoch}, {"step ", LabPoint::Step}}) {
        const std::string pre = prefix;
        if (text.rfind(pre, 0) != 0)
            continue;
        const std::string number = text.substr(pre.size());
        if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos || number.size() > 12)
            return false;
        point = p;
        index = std::stoll(number);
        return p == LabPoint::Step || index >= 1;
    }
    return false;
}

std::string labPointText(LabPoint point, int64_t index)
{
    switch (point) {
    case LabPoint::Final: return "final";
    case LabPoint::First: return "first";
    case LabPoint::Min: return "min";
    case LabPoint::Max: return "max";
    case LabPoint::Epoch: return "epoch " + std::to_string(index);
    case LabPoint::Step: return "step " + std::to_string(index);
    }
    return "final";
}

void readObservations(const json& value, const std::string& path, LabStep& step, Problems& problems)
{
    if (!value.is_array()) {
        problems.push_back({path, "must be a list of observations, got " + describe(value)});
        return;
    }
    for (size_t i = 0; i < value.size(); ++i) {
        Observation o;
        readObservation(value[i], path + "[" + std::to_string(i) + "]", step, o, problems);
        if (o.left.runs.empty() && !step.runs.empty())
            o.left.runs = {step.runs.front().name};
        if (o.againstRun && o.right.runs.empty())
            o.right.runs = o.left.runs;
        step.observations.push_back(o);
    }
}

} // namespace nnlab::detail
