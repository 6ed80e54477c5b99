// The experiment's monitor rules (spec.monitors) as a hook of the training loop: each rule
// watches the points of one metric as they are reported, and when the metric crosses the
// rule's threshold it puts an EventKind::Alert on the timeline and acts through
// TrainRequests (stop, stop and keep the best checkpoint, roll back with a lower learning
// rate, multiply the learning rate).
//
// - Firing: a threshold rule fires when the metric crosses into the condition and re-arms
//   once a point is outside it again, so a metric that stays above a limit alerts once, not
//   at every report. A plateau fires after `patience` reports without an improvement and
//   then counts afresh from zero (reduce-on-plateau fires again after another `patience`).
// - Statistics: the running minimum and maximum, and the windows of spike and
//   slow_throughput, are over the finite values reported so far (spike and slow_throughput
//   wait until their window is full). NaN counts as crossing for the "above" kinds (above,
//   above_min, spike): a loss that blew up in one window is a loss above any threshold.
// - Rollback: the run goes back to the latest checkpoint and on with the learning rate in
//   use when the rule fired x lr_factor (not the checkpoint's rate x lr_factor: a second
//   rollback to the same checkpoint then tries a lower rate, where a deterministic run would
//   replay the same divergence). The statistics go back with the run: the values reported
//   after the checkpoint's step are dropped (they belong to the abandoned trajectory), the
//   plateau's best is the best of what is left, and every rule re-arms. A rule rolls back
//   at most max_rollbacks times; a later firing, or one with no checkpoint to go back to,
//   stops the run instead.
// - A non-finite training loss: a not_finite rule on train/loss is checked at every step,
//   not at the logging window, so the run stops at the step that went wrong, naming the
//   first parameter (in model order, "0.weight") whose gradient is not finite. Reading the
//   loss each step is free on the CPU; on CUDA it waits for the step to finish (one device
//   sync per step, which costs the overlap of the next batch's launch with this step). With
//   `"monitors": []` nothing checks, and a NaN loss no longer fails the run: it is reported
//   as NaN and the run goes on.
#pragma once

#include "train_hooks.h"

#include "nnlab/monitor_alert.h"

#include <functional>
#include <vector>

namespace nnlab::detail {

class MonitorHook : public TrainHook {
public:
    // `canRollBack` says whether a checkpoint exists to roll back to (none given: always).
    MonitorHook(const std::vector<MonitorSpec>& monitors, Reporter& report, std::function<bool()> canRollBack = {});

    void metricReported(const TrainState& state, const MetricPoint& point, TrainRequests& requests) override;
    void afterStep(const StepView& step, TrainRequests& requests) override;
    void rolledBack(const TrainState& state, const std::string& why) override;

    // Every alert fired so far, in order.
    const std::vector<MonitorAlert>& alerts() const { return m_alerts; }

private:
    struct Value {
        int64_t step;
        double value;
        double minSoFar, maxSoFar;   // over this and every earlier value
    };
    struct Watch {
        MonitorSpec spec;
        int direction = -1;            // plateau: +1 higher is better, -1 lower
        bool everyStep = false;        // not_finite on train/loss: checked in afterStep
        std::vector<Value> history;    // the finite values on the run's current trajectory
        bool armed = true;
        double best = 0.0;             // plateau: the best value, and reports since it
        bool hasBest = false;
        int64_t sinceBest = 0;
        int64_t rollbacks = 0;
    };
    struct Crossing {
        double threshold;
        std::string message;
    };

    std::optional<Crossing> evaluate(Watch& watch, int64_t step, double value);
    void record(Watch& watch, int64_t step, double value);
    void fire(Watch& watch, const TrainState& state, int64_t step, double value, const Crossing& crossing,
              TrainRequests& requests);

    std::vector<Watch> m_watches;
    Reporter& m_report;
    std::function<bool()> m_canRollBack;
    bool m_lossEveryStep = false;
    std::vector<MonitorAlert> m_alerts;
};

} // namespace nnlab::detail
