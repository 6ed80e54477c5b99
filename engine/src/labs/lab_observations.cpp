// Judging observations over a step's recorded runs: pure reads of the store's series and
// epoch events, so a hand-made store tests it without training.
#include "lab_parse.h"

#include "nnlab/lab.h"
#include "nnlab/store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

namespace nnlab {

namespace {

std::string number(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", v);
    return text;
}

std::string joinRuns(const std::vector<std::string>& runs)
{
    std::string out;
    for (size_t i = 0; i < runs.size(); ++i)
        out += (i == 0 ? "" : i + 1 == runs.size() ? " and " : ", ") + runs[i];
    return out;
}

struct Measure {
    std::optional<double> value;
    std::string error;
};

// The last point at or before `step`.
std::optional<double> atOrBefore(const std::vector<SeriesPoint>& points, int64_t step)
{
    std::optional<double> v;
    for (const auto& p : points)
        if (p.step <= step)
            v = p.value;
    return v;
}

Measure pointValue(const std::vector<SeriesPoint>& points, LabPoint at, int64_t step)
{
    if (points.empty())
        return {std::nullopt, "no points"};
    switch (at) {
    case LabPoint::Final: return {points.back().value, ""};
    case LabPoint::First: return {points.front().value, ""};
    case LabPoint::Min:
    case LabPoint::Max: {
        std::optional<double> best;
        for (const auto& p : points)
            if (!std::isnan(p.value) && (!best || (at == LabPoint::Min ? p.value < *best : p.value > *best)))
                best = p.value;
        return {best, best ? "" : "only NaN points"};
    }
    case LabPoint::Epoch:
    case LabPoint::Step: {
        const auto v = atOrBefore(points, step);
        return {v, v ? "" : "no point at or before step " + std::to_string(step)};
    }
    }
    return {};
}

std::string seriesError(const StoreError& error, const std::string& runName, const std::string& metric)
{
    if (error.message.find("has no metric") != std::string::npos)
        return "run " + runName + " recorded no " + metric;
    return error.message;
}

// One run's value of a quantity.
Measure runValue(const LabQuantity& q, LabPoint at, int64_t index, const RunStore& store, const std::string& runId,
                 const std::string& runName)
{
    int64_t step = index;
    if (at == LabPoint::Epoch) {
        const auto events = store.events(runId);
        if (!events.ok())
            return {std::nullopt, events.error.message};
        std::optional<int64_t> found;
        for (const auto& e : events.value)
            if (e.kind == EventKind::Epoch && e.detail == std::to_string(index))
                found = e.step;
        if (!found)
            return {std::nullopt, "run " + runName + " has no epoch " + std::to_string(index)};
        step = *found;
    }
    const auto a = store.series(runId, q.metric);
    if (!a.ok())
        return {std::nullopt, seriesError(a.error, runName, q.metric)};
    if (a.value.empty())
        return {std::nullopt, "run " + runName + " recorded no " + q.metric};
    if (q.minus.empty()) {
        Measure m = pointValue(a.value, at, step);
        if (!m.error.empty())
            m.error = "run " + runName + ", " + q.metric + ": " + m.error;
        return m;
    }
    const auto b = store.series(runId, q.minus);
    if (!b.ok())
        return {std::nullopt, seriesError(b.error, runName, q.minus)};
    if (b.value.empty())
        return {std::nullopt, "run " + runName + " recorded no " + q.minus};
    // The gap a - b at each of b's steps (b is usually the sparser, validation, series).
    std::vector<SeriesPoint> gap;
    for (const auto& p : b.value)
        if (const auto va = atOrBefore(a.value, p.step))
            gap.push_back({p.step, p.wallTime, *va - p.value});
    if (at == LabPoint::Final && !a.value.empty() && !b.value.empty())
        return {a.value.back().value - b.value.back().value, ""};
    Measure m = pointValue(gap, at, step);
    if (!m.error.empty())
        m.error = "run " + runName + ", gap " + q.metric + " - " + q.minus + ": " + m.error;
    return m;
}

// The mean over the quantity's runs.
Measure quantityValue(const LabQuantity& q, LabPoint at, int64_t index, const RunStore* store, const StepRuns& runs)
{
    if (!store)
        return {std::nullopt, "no run store"};
    double sum = 0.0;
    for (const auto& name : q.runs) {
        const auto it = runs.runIds.find(name);
        if (it == runs.runIds.end() || it->second.empty())
            return {std::nullopt, "run " + name + " was not recorded"};
        const Measure m = runValue(q, at, index, *store, it->second, name);
        if (!m.value)
            return m;
        sum += *m.value;
    }
    if (q.runs.empty())
        return {std::nullopt, "no run named"};
    return {sum / static_cast<double>(q.runs.size()), ""};
}

bool compare(double a, CompareOp op, double b)
{
    switch (op) {
    case CompareOp::Less: return a < b;
    case CompareOp::LessEqual: return a <= b;
    case CompareOp::Greater: return a > b;
    case CompareOp::GreaterEqual: return a >= b;
    }
    return false;
}

ObservationResult evaluateCheck(const Observation& o, const StepRuns& runs, ObservationResult result)
{
    const std::string run = o.left.runs.empty() ? "" : o.left.runs.front();
    const auto it = runs.checks.find(run);
    if (it == runs.checks.end()) {
        result.error = "run " + run + " ran no checks";
        return result;
    }
    for (const auto& c : it->second)
        if (c.id == o.check) {
            result.holds = std::find(o.statuses.begin(), o.statuses.end(), c.status) != o.statuses.end();
            result.measured = std::string(toString(c.id)) + " of " + run + ": " + toString(c.status) + " (" + c.explanation + ")";
            return result;
        }
    result.error = std::string("check ") + toString(o.check) + " did not run";
    return result;
}

} // namespace

const char* toString(CompareOp op)
{
    switch (op) {
    case CompareOp::Less: return "<";
    case CompareOp::LessEqual: return "<=";
    case CompareOp::Greater: return ">";
    case CompareOp::GreaterEqual: return ">=";
    }
    return "?";
}

std::string LabQuantity::describe() const
{
    const std::string what = minus.empty() ? metric : "gap " + metric + " - " + minus;
 // The step's one unnamed run needs no name.
    std::string who = runs.size() == 1 ? (runs.front() == "run" ? "" : runs.front() + "'s ") : runs.empty() ? "" : "mean of " + joinRuns(runs) + ": ";
    const std::string point = detail::labPointText(at, index);
    if (at == LabPoint::Epoch || at == LabPoint::Step)
        return who + what + " at " + point;
    return who + point + " " + what;
}

std::string Observation::claim() const
{
    if (!text.empty())
        return text;
    switch (kind) {
    case ObservationKind::Compare:
        if (!againstRun)
            return left.describe() + " " + toString(op) + " " + number(value);
        return left.describe() + " " + toString(op) + " " + (factor != 1.0 ? number(factor) + " x " : "") + right.describe();
    case ObservationKind::Trend: {
        return left.describe() + (grows ? " is higher than " : " is lower than ") + "at " + detail::labPointText(from, fromIndex)
               + (margin > 0 ? " by more than " + number(margin) : "");
    }
    case ObservationKind::Check: {
        std::string allowed;
        for (CheckStatus s : statuses)
            allowed += (allowed.empty() ? "" : " or ") + std::string(toString(s));
        return std::string("pre-flight check ") + toString(check) + (left.runs.empty() || left.runs.front() == "run" ? "" : " of " + left.runs.front())
               + ": " + allowed;
    }
    }
    return text;
}

ObservationResult evaluateObservation(const Observation& o, const LabStep& step, const RunStore* store,
                                      const StepRuns& runs)
{
    (void)step;
    ObservationResult result;
    result.claim = o.claim();
    if (o.kind == ObservationKind::Check)
        result = evaluateCheck(o, runs, result);
    else {
        const Measure left = quantityValue(o.left, o.left.at, o.left.index, store, runs);
        if (!left.value)
            result.error = left.error;
        else if (o.kind == ObservationKind::Compare) {
            double target = o.value;
            std::string rightText = number(o.value);
            if (o.againstRun) {
                const Measure right = quantityValue(o.right, o.right.at, o.right.index, store, runs);
                if (!right.value)
                    result.error = right.error;
                else {
                    target = o.factor * *right.value;
                    rightText = (o.factor != 1.0 ? number(o.factor) + " x " : "") + o.right.describe() + " "
                                + number(*right.value) + (o.factor != 1.0 ? " = " + number(target) : "");
                }
            }
            if (result.error.empty()) {
                result.holds = compare(*left.value, o.op, target);
                result.measured = o.left.describe() + " " + number(*left.value) + " " + toString(o.op) + " " + rightText;
            }
        } else {
            const Measure start = quantityValue(o.left, o.from, o.fromIndex, store, runs);
            if (!start.value)
                result.error = start.error;
            else {
                const double change = *left.value - *start.value;
                result.holds = o.grows ? change > o.margin : -change > o.margin;
                result.measured = detail::labPointText(o.from, o.fromIndex) + " " + number(*start.value) + " -> "
                                  + detail::labPointText(o.left.at, o.left.index) + " " + number(*left.value)
                                  + " (change " + number(change) + (o.margin > 0 ? ", margin " + number(o.margin) : "") + ")";
            }
        }
    }
    if (!result.error.empty()) {
        result.holds = false;
        result.measured = "not measured: " + result.error;
    }
    result.explanation = result.holds ? o.holds : o.fails;
    return result;
}

std::vector<ObservationResult> evaluateObservations(const LabStep& step, const RunStore* store, const StepRuns& runs)
{
    std::vector<ObservationResult> out;
    for (const auto& o : step.observations)
        out.push_back(evaluateObservation(o, step, store, runs));
    return out;
}

bool LabStepOutcome::allHold() const
{
    if (!error.empty() || cancelled)
        return false;
    return std::all_of(observations.begin(), observations.end(), [](const ObservationResult& r) { return r.holds; });
}

} // namespace nnlab
