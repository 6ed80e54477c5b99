// Early termination of a sweep's weak trials (nnlab/sweep.h describes the rules): the board the
// trials of one process share, and the hook that reports a trial's metric to it at each epoch's
// end and stops the trial when the board says so.
#pragma once

#include "train_hooks.h"

#include "nnlab/spec.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nnlab::detail {

// Thread-safe: every trial's training thread reports here.
class SweepBoard {
public:
    SweepBoard(SweepPruner pruner, std::string metric, int direction, int64_t reductionFactor, int64_t minEpochs);

    // Trial `trial` reached the end of 1-based epoch `epoch` of `epochs` with `value`: why it
    // should stop ("pruned by asha at epoch 2: ..."), or nullopt to go on.
    std::optional<std::string> report(int64_t trial, int64_t epoch, int64_t epochs, double value);
    // The trial trained to its last epoch: its values now count for median stopping.
    void completed(int64_t trial);

    // ASHA's rungs below `epochs`: min_epochs x reduction_factor^k.
    std::vector<int64_t> rungs(int64_t epochs) const;

private:
    bool better(double a, double b) const { return m_direction > 0 ? a > b : a < b; }
    std::optional<std::string> asha(int64_t epoch, int64_t epochs, double value);
    std::optional<std::string> median(int64_t trial, int64_t epoch, int64_t epochs, double value);

    const SweepPruner m_pruner;
    const std::string m_metric;
    const int m_direction;
    const int64_t m_reductionFactor;
    const int64_t m_minEpochs;
    std::mutex m_mutex;
    std::map<int64_t, std::vector<double>> m_rungValues;            // rung epoch -> values reached there
    std::map<int64_t, std::map<int64_t, double>> m_trialValues;     // trial -> epoch -> value
    std::set<int64_t> m_completed;
};

// One trial's view of the board. Tracks the metric as it is reported; at an epoch's end it
// reports the latest value and asks the loop to stop (as finished) when the board prunes it.
class SweepPruneHook : public TrainHook {
public:
    SweepPruneHook(std::shared_ptr<SweepBoard> board, int64_t trial, std::string metric, int direction,
                   int64_t epochs);

    void metricReported(const TrainState&, const MetricPoint& point, TrainRequests&) override;
    void atEpochEnd(const TrainState&, int64_t epoch, TrainRequests& requests) override;

    // Read after training (the training thread has ended).
    const std::string& prunedWhy() const { return m_prunedWhy; }   // empty: not pruned
    std::optional<double> best() const { return m_best; }           // the best epoch-end value
    std::optional<double> last() const { return m_last; }           // the last reported value
    int64_t epochs() const { return m_epochsDone; }

private:
    std::shared_ptr<SweepBoard> m_board;
    const int64_t m_trial;
    const std::string m_metric;
    const int m_direction;
    const int64_t m_epochs;
    std::optional<double> m_last;
    std::optional<double> m_best;
    int64_t m_epochsDone = 0;
    std::string m_prunedWhy;
};

} // namespace nnlab::detail
