#include "data_parallel.h"

namespace nnlab::detail {

namespace {

// control(): the first value says go on (1) or how the run ended (status + 2).
constexpr double kGoOn = 1.0;

double statusCode(TrainStatus status) { return 2.0 + static_cast<double>(static_cast<int>(status)); }

} // namespace

DataParallel::DataParallel(const DistributedSetup& setup, int64_t logEverySteps, Reporter& report)
    : m_group(setup), m_logEvery(std::max<int64_t>(1, logEverySteps)), m_report(report),
      m_rateSums(static_cast<size_t>(setup.worldSize), 0.0)
{
}

void DataParallel::syncState(torch::nn::Module& model, FlatOptimizer& optimizer, TrainState& state)
{
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> tensors = optimizer.stateTensors();   // the parameters' flat values first
    for (const auto& buffer : model.buffers())
        tensors.push_back(buffer);
    torch::Tensor counters = optimizer.counters();
    torch::Tensor progress = torch::tensor({static_cast<double>(state.step), state.lrScale}, torch::kFloat64);
    tensors.push_back(counters);
    tensors.push_back(progress);
    m_group.broadcast(tensors);
    optimizer.setCounters(counters);
    state.step = static_cast<int64_t>(progress[0].item<double>());
    state.lrScale = progress[1].item<double>();
}

torch::Tensor DataParallel::afterBackward(FlatOptimizer& optimizer, const torch::Tensor& loss, const torch::Tensor& output,
                                          const torch::Tensor& target, bool classify, const TrainState& state)
{
    const auto reduceStart = std::chrono::steady_clock::now();
    m_group.averageGradients(optimizer.gradients());
    const auto now = std::chrono::steady_clock::now();
    m_allReduceSeconds += std::chrono::duration<double>(now - reduceStart).count();
    const double seconds = std::chrono::duration<double>(now - m_lastStep).count();
    m_lastStep = now;
    const int64_t n = output.size(0);
    // [loss sum, correct, samples, samples/s of worker 0 .. N-1]: one small all-reduce.
    torch::Tensor totals = torch::zeros({3 + workers()}, torch::kFloat64);
    auto t = totals.accessor<double, 1>();
    t[0] = loss.item<double>() * static_cast<double>(n);
    t[1] = classify ? static_cast<double>(output.argmax(1).eq(target).sum().item<int64_t>()) : 0.0;
    t[2] = static_cast<double>(n);
    t[3 + m_group.rank()] = seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
    m_group.sum(totals);
    if (leader()) {
        for (int r = 0; r < workers(); ++r)
            m_rateSums[static_cast<size_t>(r)] += t[3 + r];
        // The step just taken is state.step + 1 (the trainer counts it after the hooks' view).
        if (++m_rateSteps >= m_logEvery) {
            for (int r = 0; r < workers(); ++r)
                m_report.add("workers/" + std::to_string(r) + "/samples_per_sec", state.step + 1,
                             m_rateSums[static_cast<size_t>(r)] / static_cast<double>(m_rateSteps));
            m_report.add("workers/allreduce_time", state.step + 1, m_allReduceSeconds / static_cast<double>(m_rateSteps));
            m_allReduceSeconds = 0.0;
            std::fill(m_rateSums.begin(), m_rateSums.end(), 0.0);
            m_rateSteps = 0;
        }
    }
    return totals.slice(0, 0, 3);
}

std::optional<TrainStatus> DataParallel::control(TrainState& state)
{
    torch::Tensor message = torch::tensor({kGoOn, state.lrScale}, torch::kFloat64);
    m_group.broadcast({message});
    if (leader())
        return std::nullopt;
    state.lrScale = message[1].item<double>();
    const double code = message[0].item<double>();
    if (code == kGoOn)
        return std::nullopt;
    return static_cast<TrainStatus>(static_cast<int>(code - 2.0));
}

void DataParallel::announceStop(TrainStatus status)
{
    if (!leader())
        return;
    try {
        m_group.broadcast({torch::tensor({statusCode(status), 0.0}, torch::kFloat64)});
    } catch (const WorkerLost&) {
        // Ending anyway: a worker that is gone needs no telling.
    }
}

} // namespace nnlab::detail
