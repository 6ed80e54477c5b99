// The local queue of a sweep's trials: each an ordinary recorded run (runTrainingSession),
// `concurrent` at a time, sharing one pruning board.
#include "nnlab/sweep.h"

#include "nnlab/run_session.h"
#include "nnlab/store.h"
#include "session.h"
#include "sweep_pruner.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

namespace nnlab {

namespace {

using detail::SweepBoard;
using detail::SweepPruneHook;

struct Shared {
    const PreparedExperiment& base;
    const SweepOptions& options;
    std::string sweepId;
    std::string metric;
    int direction = 1;
    std::shared_ptr<SweepBoard> board;
};

SweepTrialResult failedTrial(const SweepTrial& trial, const std::string& message)
{
    SweepTrialResult out;
    out.trial = trial;
    out.status = TrainStatus::Failed;
    out.message = message;
    return out;
}

SweepTrialResult runTrial(const Shared& shared, const SweepTrial& trial, const PreparedExperiment& experiment,
                          TrainControl& control)
{
    const SweepSpec& sweep = shared.base.spec.sweep;
    SweepTrialResult out;
    out.trial = trial;
    out.name = shared.base.spec.name + " #" + std::to_string(trial.index + 1) + " " + trial.label();

    RunSessionOptions session;
    session.store = shared.options.store;
    session.databasePath = shared.options.databasePath;
    session.runName = out.name;
    session.tags = {sweepTag(shared.sweepId)};
    session.notes = sweepNote(shared.sweepId, sweep, trial);
    auto hook = std::make_shared<SweepPruneHook>(shared.board, trial.index, shared.metric, shared.direction,
                                                 experiment.spec.training.epochs);
    RunSessionHooks hooks;
    hooks.trainHooks = {hook};
    if (shared.options.progress)
        hooks.callbacks.progress = [&](const Progress& p) { shared.options.progress(trial.index, p); };
    if (shared.options.trialStarted)
        shared.options.trialStarted(trial, out.name);

    const RunSessionResult run = runTrainingSession(experiment, control, session, hooks);
    out.runId = run.runId;
    out.status = run.result.status;
    out.message = run.storeError.empty() ? run.result.message : run.result.message + " (store: " + run.storeError + ")";
    out.steps = run.result.steps;
    out.seconds = run.result.seconds;
    out.epochs = hook->epochs();
    out.pruned = !hook->prunedWhy().empty() && out.status == TrainStatus::Finished;
    if (hook->best()) {
        out.value = *hook->best();
        out.hasValue = true;
    } else if (const auto it = run.result.finalMetrics.find(shared.metric); it != run.result.finalMetrics.end()) {
        out.value = it->second;
        out.hasValue = std::isfinite(it->second);
    }
    if (out.status == TrainStatus::Finished && !out.pruned)
        shared.board->completed(trial.index);
    if (out.pruned && !out.runId.empty()) {
        auto store = RunStore::open(session.databasePath.empty() ? defaultDatabasePath() : session.databasePath);
        if (store.ok())
            store.value->setTags(out.runId, {sweepTag(shared.sweepId), kPrunedTag});
    }
    return out;
}

} // namespace

SweepResult runSweep(const PreparedExperiment& base, TrainControl& control, const SweepOptions& options)
{
    const auto started = std::chrono::steady_clock::now();
    const SweepSpec& sweep = base.spec.sweep;
    SweepResult result;
    result.sweepId = options.sweepId.empty() ? newSweepId() : options.sweepId;
    result.metric = sweepMetric(base.spec);
    result.direction = sweepMetricDirection(result.metric) >= 0 ? 1 : -1;

    const std::vector<SweepTrial> trials = sweepTrials(sweep, base.spec.seed);
    if (trials.empty()) {
        result.error = "the experiment has no sweep parameters";
        return result;
    }
    // Every trial's experiment is checked before the first one trains.
    std::vector<PreparedExperiment> experiments;
    for (const SweepTrial& trial : trials) {
        const Preparation prepared = prepareExperiment(trialExperiment(base.spec, trial));
        if (!prepared.ok()) {
            result.error = "trial " + std::to_string(trial.index + 1) + " (" + trial.label() + "): " + prepared.errorText();
            return result;
        }
        experiments.push_back(prepared.experiment);
    }

    const SweepPruner pruner = options.prune ? sweep.pruner : SweepPruner::None;
    const Shared shared{base, options, result.sweepId, result.metric, result.direction,
                        std::make_shared<SweepBoard>(pruner, result.metric, result.direction, sweep.reductionFactor,
                                                     sweep.minEpochs)};
    std::vector<std::optional<SweepTrialResult>> slots(trials.size());
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i = next++; i < trials.size() && !control.isCancelled(); i = next++) {
            // Nothing may leave a worker thread (it would end the process): a trial that
            // throws is a failed trial.
            const std::string failure = detail::failureOf([&] { slots[i] = runTrial(shared, trials[i], experiments[i], control); });
            if (!failure.empty())
                slots[i] = failedTrial(trials[i], failure);
            if (options.trialFinished)
                options.trialFinished(*slots[i]);
        }
    };
    const int64_t wanted = options.concurrent > 0 ? options.concurrent : sweep.concurrent;
    const size_t workers = static_cast<size_t>(std::clamp<int64_t>(wanted, 1, static_cast<int64_t>(trials.size())));
    if (workers == 1) {
        worker();
    } else {
        std::vector<std::thread> threads;
        for (size_t w = 0; w < workers; ++w)
            threads.emplace_back(worker);
        for (auto& t : threads)
            t.join();
    }
    for (auto& slot : slots)
        if (slot) {
            result.totalSteps += slot->steps;
            result.trials.push_back(std::move(*slot));
        }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

SweepTrialResult runSweepTrial(const PreparedExperiment& base, int64_t index, TrainControl& control,
                               const SweepOptions& options)
{
    const std::vector<SweepTrial> trials = sweepTrials(base.spec.sweep, base.spec.seed);
    if (index < 0 || index >= static_cast<int64_t>(trials.size())) {
        SweepTrial none;
        none.index = index;
        return failedTrial(none, "no trial " + std::to_string(index) + ": the sweep has " + std::to_string(trials.size())
                                     + " (0-based indices)");
    }
    const SweepTrial& trial = trials[static_cast<size_t>(index)];
    const Preparation prepared = prepareExperiment(trialExperiment(base.spec, trial));
    if (!prepared.ok())
        return failedTrial(trial, prepared.errorText());
    const std::string metric = sweepMetric(base.spec);
    const int direction = sweepMetricDirection(metric) >= 0 ? 1 : -1;
    const Shared shared{base, options, options.sweepId.empty() ? newSweepId() : options.sweepId, metric, direction,
                        std::make_shared<SweepBoard>(SweepPruner::None, metric, direction, 2, 1)};
    return runTrial(shared, trial, prepared.experiment, control);
}

} // namespace nnlab
