#include "sweep_pruner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nnlab::detail {

namespace {

std::string number(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", v);
    return text;
}

} // namespace

SweepBoard::SweepBoard(SweepPruner pruner, std::string metric, int direction, int64_t reductionFactor,
                       int64_t minEpochs)
    : m_pruner(pruner), m_metric(std::move(metric)), m_direction(direction >= 0 ? 1 : -1),
      m_reductionFactor(std::max<int64_t>(2, reductionFactor)), m_minEpochs(std::max<int64_t>(1, minEpochs))
{
}

std::vector<int64_t> SweepBoard::rungs(int64_t epochs) const
{
    std::vector<int64_t> out;
    for (int64_t r = m_minEpochs; r < epochs; r *= m_reductionFactor)
        out.push_back(r);
    return out;
}

std::optional<std::string> SweepBoard::report(int64_t trial, int64_t epoch, int64_t epochs, double value)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_trialValues[trial][epoch] = value;
    if (!std::isfinite(value) || epoch >= epochs)
        return std::nullopt;   // a non-finite value is the monitors' business; the last epoch ends anyway
    switch (m_pruner) {
    case SweepPruner::None: return std::nullopt;
    case SweepPruner::Asha: return asha(epoch, epochs, value);
    case SweepPruner::Median: return median(trial, epoch, epochs, value);
    }
    return std::nullopt;
}

// A trial continues past a rung while it is among the best n / eta of the n trials that have
// reached the rung so far, itself included; the best one always continues.
std::optional<std::string> SweepBoard::asha(int64_t epoch, int64_t epochs, double value)
{
    const auto rs = rungs(epochs);
    if (std::find(rs.begin(), rs.end(), epoch) == rs.end())
        return std::nullopt;
    std::vector<double>& values = m_rungValues[epoch];
    values.push_back(value);
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end(), [&](double a, double b) { return better(a, b); });
    const size_t keep = std::max<size_t>(1, sorted.size() / static_cast<size_t>(m_reductionFactor));
    const double cutoff = sorted[keep - 1];
    if (!better(cutoff, value))
        return std::nullopt;
    return "pruned by asha at epoch " + std::to_string(epoch) + ": " + m_metric + " " + number(value)
           + " is not among the best " + std::to_string(keep) + " of " + std::to_string(sorted.size())
           + " trials at this rung (" + number(cutoff) + ")";
}

std::optional<std::string> SweepBoard::median(int64_t trial, int64_t epoch, int64_t epochs, double value)
{
    (void)epochs;
    if (epoch < m_minEpochs)
        return std::nullopt;
    std::vector<double> others;
    for (int64_t done : m_completed) {
        if (done == trial)
            continue;
        const auto& byEpoch = m_trialValues[done];
        const auto it = byEpoch.find(epoch);
        if (it != byEpoch.end() && std::isfinite(it->second))
            others.push_back(it->second);
    }
    if (others.empty())
        return std::nullopt;
    std::sort(others.begin(), others.end());
    const size_t n = others.size();
    const double med = n % 2 ? others[n / 2] : (others[n / 2 - 1] + others[n / 2]) / 2;
    if (!better(med, value))
        return std::nullopt;
    return "pruned by median at epoch " + std::to_string(epoch) + ": " + m_metric + " " + number(value)
           + " is worse than the median " + number(med) + " of " + std::to_string(n) + " completed trial"
           + (n == 1 ? "" : "s");
}

void SweepBoard::completed(int64_t trial)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_completed.insert(trial);
}

SweepPruneHook::SweepPruneHook(std::shared_ptr<SweepBoard> board, int64_t trial, std::string metric, int direction,
                               int64_t epochs)
    : m_board(std::move(board)), m_trial(trial), m_metric(std::move(metric)), m_direction(direction >= 0 ? 1 : -1),
      m_epochs(epochs)
{
}

void SweepPruneHook::metricReported(const TrainState&, const MetricPoint& point, TrainRequests&)
{
    if (point.tag == m_metric)
        m_last = point.value;
}

void SweepPruneHook::atEpochEnd(const TrainState&, int64_t epoch, TrainRequests& requests)
{
    m_epochsDone = epoch;
    if (!m_last)
        return;
    const double value = *m_last;
    if (std::isfinite(value) && (!m_best || (m_direction > 0 ? value > *m_best : value < *m_best)))
        m_best = value;
    if (const auto why = m_board->report(m_trial, epoch, m_epochs, value)) {
        m_prunedWhy = *why;
        requests.stop(*why, StopKind::Finished);
    }
}

} // namespace nnlab::detail
