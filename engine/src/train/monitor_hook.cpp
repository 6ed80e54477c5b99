#include "monitor_hook.h"

#include "nnlab/store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace nnlab::detail {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string text(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

std::string nonFinite(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "infinite" : "-infinite"; }

// Where a non-finite loss came from: the first parameter, in model order, whose gradient
// is not finite (else whose value is not).
std::string culprit(torch::nn::Sequential& model)
{
    const auto parameters = model->named_parameters(/*recurse*/ true);
    for (const auto& p : parameters) {
        const torch::Tensor& grad = p.value().grad();
        if (grad.defined() && !torch::isfinite(grad).all().item<bool>())
            return "the gradient of " + p.key() + " went non-finite first";
    }
    for (const auto& p : parameters)
        if (!torch::isfinite(p.value()).all().item<bool>())
            return "the weights of " + p.key() + " are non-finite";
    return "the gradients and weights are finite: look at the inputs and targets";
}

double median(std::vector<double> values)
{
    const size_t mid = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
    const double upper = values[mid];
    if (values.size() % 2 == 1)
        return upper;
    return (upper + *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
}

} // namespace

MonitorHook::MonitorHook(const std::vector<MonitorSpec>& monitors, Reporter& report, std::function<bool()> canRollBack)
    : m_report(report), m_canRollBack(std::move(canRollBack))
{
    for (const MonitorSpec& spec : monitors) {
        Watch w;
        w.spec = spec;
        w.direction = metricDirection(spec.metric) > 0 ? 1 : -1;
        w.everyStep = spec.rule == MonitorRule::NotFinite && spec.metric == "train/loss";
        m_lossEveryStep = m_lossEveryStep || w.everyStep;
        m_watches.push_back(std::move(w));
    }
}

void MonitorHook::metricReported(const TrainState& state, const MetricPoint& point, TrainRequests& requests)
{
    for (Watch& w : m_watches) {
        if (w.everyStep || point.tag != w.spec.metric)
            continue;
        const std::optional<Crossing> crossing = evaluate(w, point.step, point.value);
        record(w, point.step, point.value);
        if (crossing)
            fire(w, state, point.step, point.value, *crossing, requests);
    }
}

void MonitorHook::afterStep(const StepView& step, TrainRequests& requests)
{
    if (!m_lossEveryStep)
        return;
    const double loss = step.loss.item<double>();   // on CUDA: waits for the step (see the header)
    const TrainState& state = step.state;
    for (Watch& w : m_watches) {
        if (!w.everyStep)
            continue;
        if (std::isfinite(loss)) {
            w.armed = true;
            continue;
        }
        if (!w.armed)
            continue;
        w.armed = false;
        const std::string message = "the training loss became " + nonFinite(loss) + " at step " + std::to_string(state.step)
                                    + " (epoch " + std::to_string((state.step - 1) / state.stepsPerEpoch + 1) + "); "
                                    + culprit(step.model) + "; lower optimizer.lr or set training.grad_clip_norm";
        fire(w, state, state.step, loss, {kNaN, message}, requests);
    }
}

// Whether `value` fires the rule (the threshold and a sentence), before it joins the history.
std::optional<MonitorHook::Crossing> MonitorHook::evaluate(Watch& w, int64_t step, double value)
{
    const MonitorSpec& s = w.spec;
    const std::string at = " at step " + std::to_string(step);
    const std::string seen = s.metric + " " + (std::isfinite(value) ? text(value) : nonFinite(value));
    if (s.rule == MonitorRule::Plateau) {
        const bool improved = std::isfinite(value)
                              && (!w.hasBest || (w.direction > 0 ? value > w.best + s.minDelta : value < w.best - s.minDelta));
        if (improved) {
            w.best = value;
            w.hasBest = true;
            w.sinceBest = 0;
            return std::nullopt;
        }
        if (++w.sinceBest < s.patience)
            return std::nullopt;
        w.sinceBest = 0;   // reduce-on-plateau may fire again after another `patience` reports
        const double needed = w.direction > 0 ? w.best + s.minDelta : w.best - s.minDelta;
        return Crossing{needed, s.metric + " has not improved on " + text(w.best)
                                    + (s.minDelta > 0 ? " by more than " + text(s.minDelta) : std::string())
                                    + " for " + std::to_string(s.patience) + " reports (now "
                                    + (std::isfinite(value) ? text(value) : nonFinite(value)) + ")" + at};
    }

    bool crossed = false;
    double threshold = kNaN;
    std::string how;
    const size_t n = w.history.size();
    const size_t window = static_cast<size_t>(std::max<int64_t>(1, s.window));
    switch (s.rule) {
    case MonitorRule::NotFinite:
        crossed = !std::isfinite(value);
        how = " is not finite";
        break;
    case MonitorRule::Above:
        threshold = s.value;
        crossed = std::isnan(value) || value > threshold;
        how = " > " + text(threshold);
        break;
    case MonitorRule::Below:
        threshold = s.value;
        crossed = value < threshold;
        how = " < " + text(threshold);
        break;
    case MonitorRule::AboveRunningMin:
        if (n == 0)
            return std::nullopt;
        threshold = s.coefficient * w.history.back().minSoFar;
        crossed = std::isnan(value) || value > threshold;
        how = " > " + text(s.coefficient) + " x its minimum " + text(w.history.back().minSoFar) + " = " + text(threshold);
        break;
    case MonitorRule::BelowRunningMax:
        if (n == 0)
            return std::nullopt;
        threshold = s.coefficient * w.history.back().maxSoFar;
        crossed = value < threshold;
        how = " < " + text(s.coefficient) + " x its maximum " + text(w.history.back().maxSoFar) + " = " + text(threshold);
        break;
    case MonitorRule::Spike: {
        if (n < window)
            return std::nullopt;
        double sum = 0.0;
        for (size_t i = n - window; i < n; ++i)
            sum += w.history[i].value;
        const double mean = sum / static_cast<double>(window);
        threshold = s.coefficient * mean;
        crossed = std::isnan(value) || value > threshold;
        how = " > " + text(s.coefficient) + " x the mean of the previous " + std::to_string(window) + " (" + text(mean)
              + ") = " + text(threshold);
        break;
    }
    case MonitorRule::SlowThroughput: {
        if (n < window)
            return std::nullopt;
        std::vector<double> last;
        for (size_t i = n - window; i < n; ++i)
            last.push_back(w.history[i].value);
        const double mid = median(std::move(last));
        threshold = s.coefficient * mid;
        crossed = value < threshold;
        how = " < " + text(s.coefficient) + " x the median of the previous " + std::to_string(window) + " (" + text(mid)
              + ") = " + text(threshold);
        break;
    }
    case MonitorRule::Plateau: break;
    }
    if (!crossed) {
        w.armed = true;
        return std::nullopt;
    }
    if (!w.armed)
        return std::nullopt;
    w.armed = false;
    return Crossing{threshold, seen + how + at};
}

void MonitorHook::record(Watch& w, int64_t step, double value)
{
    if (!std::isfinite(value))
        return;
    const bool first = w.history.empty();
    w.history.push_back({step, value, first ? value : std::min(value, w.history.back().minSoFar),
                         first ? value : std::max(value, w.history.back().maxSoFar)});
}

void MonitorHook::fire(Watch& w, const TrainState& state, int64_t step, double value, const Crossing& crossing,
                       TrainRequests& requests)
{
    const MonitorSpec& s = w.spec;
    const std::string why = s.name.empty() ? crossing.message : s.name + ": " + crossing.message;
    // A non-finite metric ends the run as failed; anything else as finished, early.
    const StopKind stopKind = s.rule == MonitorRule::NotFinite ? StopKind::Failed : StopKind::Finished;
    std::string done;
    for (MonitorAction action : s.actions) {
        std::string what = toString(action);
        switch (action) {
        case MonitorAction::Annotate:
        case MonitorAction::Notify: break;   // the alert itself; the GUI notifies
        case MonitorAction::Stop: requests.stop(why, stopKind); break;
        case MonitorAction::StopKeepBest: requests.stop(why, StopKind::FinishedBest); break;
        case MonitorAction::MultiplyLr:
            requests.multiplyLearningRate(s.lrFactor, why);
            what += " x" + text(s.lrFactor);
            break;
        case MonitorAction::Rollback:
            if (w.rollbacks >= s.maxRollbacks) {
                requests.stop(why + "; rolled back " + std::to_string(w.rollbacks) + " times already", stopKind);
                what = "stop (rolled back " + std::to_string(w.rollbacks) + " times already)";
            } else if (m_canRollBack && !m_canRollBack()) {
                requests.stop(why + "; no checkpoint to roll back to", stopKind);
                what = "stop (no checkpoint to roll back to)";
            } else {
                ++w.rollbacks;
                requests.rollBack(why);
                requests.multiplyLearningRate(s.lrFactor, why);   // of the rate in use (the loop keeps it)
                what += " x" + text(s.lrFactor) + " (" + std::to_string(w.rollbacks) + " of " + std::to_string(s.maxRollbacks) + ")";
            }
            break;
        }
        done += (done.empty() ? "" : ", ") + what;
    }
    MonitorAlert alert;
    alert.rule = monitorName(s);
    alert.metric = s.metric;
    alert.step = step;
    alert.value = value;
    alert.threshold = crossing.threshold;
    alert.action = done;
    alert.message = crossing.message;
    m_report.event(EventKind::Alert, step, alertToDetail(alert));
    m_alerts.push_back(std::move(alert));
}

void MonitorHook::rolledBack(const TrainState& state, const std::string&)
{
    for (Watch& w : m_watches) {
        while (!w.history.empty() && w.history.back().step > state.step)
            w.history.pop_back();
        w.armed = true;
        w.sinceBest = 0;
        w.hasBest = false;
        for (const Value& v : w.history)
            if (!w.hasBest || (w.direction > 0 ? v.value > w.best : v.value < w.best)) {
                w.best = v.value;
                w.hasBest = true;
            }
    }
}

} // namespace nnlab::detail
