#include "session.h"
#include "fused_ops.h"

#include <ATen/record_function.h>

namespace nnlab::detail {

TensorSet toTensors(const Dataset& data, bool classification, const torch::Device& device)
{
    TensorSet set;
    set.count = data.count();
    if (set.count == 0)
        return set;
    std::vector<int64_t> shape{set.count};
    shape.insert(shape.end(), data.sampleShape.begin(), data.sampleShape.end());
    // from_blob aliases the vectors; const_cast is safe because nothing writes through them.
    set.x = torch::from_blob(const_cast<float*>(data.features.data()), shape, torch::kFloat32);
    if (classification)
        set.y = torch::from_blob(const_cast<int64_t*>(data.labels.data()), {set.count}, torch::kInt64);
    else
        set.y = torch::from_blob(const_cast<float*>(data.targets.data()), {set.count, data.targetDim}, torch::kFloat32);
    if (!device.is_cpu()) {
        set.x = set.x.to(device);
        set.y = set.y.to(device);
    }
    return set;
}

torch::Tensor lossFunction(const torch::Tensor& output, const torch::Tensor& target, bool classification)
{
    namespace F = torch::nn::functional;
    // crossEntropy: cross_entropy's result as one autograd node (fused_loss.cpp)
    return classification ? crossEntropy(output, target) : F::mse_loss(output, target);
}

Evaluation evaluate(torch::nn::Sequential& model, const TensorSet& set, int64_t batchSize, bool classification)
{
    Evaluation result;
    if (set.empty())
        return result;
    RECORD_FUNCTION("nnlab::evaluate", std::vector<c10::IValue>());   // a span in NNLAB_PROFILE traces
    torch::NoGradGuard noGrad;
    model->eval();
    // Sums stay on the set's device (a CUDA loss added into a CPU tensor would fail) and
    // are read once at the end.
    torch::Tensor lossSum = torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(set.x.device()));
    torch::Tensor correct = torch::zeros({}, torch::TensorOptions(torch::kInt64).device(set.x.device()));
    std::vector<torch::Tensor> predicted;   // kept for the confusion matrix (inspect_hook.h)
    for (int64_t start = 0; start < set.count; start += batchSize) {
        const int64_t end = std::min(start + batchSize, set.count);
        torch::Tensor out = model->forward(set.x.slice(0, start, end));
        torch::Tensor target = set.y.slice(0, start, end);
        lossSum += lossFunction(out, target, classification).to(torch::kFloat64) * (end - start);
        if (classification) {
            predicted.push_back(out.argmax(1));
            correct += predicted.back().eq(target).sum();
        }
    }
    model->train();
    if (!predicted.empty())
        result.predictions = torch::cat(predicted);
    result.loss = lossSum.item<double>() / static_cast<double>(set.count);
    if (classification)
        result.accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(set.count);
    return result;
}

PreparedExperiment fittedTo(const PreparedExperiment& experiment, const DataBundle& data)
{
    if (experiment.fitted)
        return experiment;
    Preparation fitted = fitToData(experiment, data);
    if (!fitted.ok())
        throw std::runtime_error(fitted.problems.front().text());
    return std::move(fitted.experiment);
}

std::string failureOf(const std::function<void()>& body)
{
    try {
        body();
    } catch (const c10::Error& e) {
        return std::string("LibTorch: ") + e.what_without_backtrace();
    } catch (const std::bad_alloc&) {
        return "out of memory; lower training.batch_size or the model size";
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

double unixTime()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Reporter::add(const std::string& tag, int64_t step, double value)
{
    MetricPoint point;
    point.tag = tag;
    point.step = step;
    point.wallTime = unixTime();
    point.value = value;
    m_last[tag] = value;
    m_pending.push_back(point);   // first: an event the listener causes (an alert) follows its point
    if (m_listener)
        m_listener(point);
}

void Reporter::progress(const Progress& p, bool force)
{
    const auto now = std::chrono::steady_clock::now();
    if (!force && std::chrono::duration<double>(now - m_lastFlush).count() < m_interval)
        return;
    m_lastFlush = now;
    flush();
    if (m_callbacks.progress)
        m_callbacks.progress(p);
}

void Reporter::addSnapshot(Snapshot snapshot)
{
    if (m_callbacks.snapshots)
        m_pendingSnapshots.push_back(std::move(snapshot));
}

void Reporter::flush()
{
    if (!m_pending.empty()) {
        if (m_callbacks.metrics)
            m_callbacks.metrics(m_pending);
        m_pending.clear();
    }
    if (!m_pendingSnapshots.empty()) {
        m_callbacks.snapshots(m_pendingSnapshots);
        m_pendingSnapshots.clear();
    }
}

void Reporter::event(EventKind kind, int64_t step, const std::string& detail)
{
    flush();   // keep the timeline ordered with the metrics before it
    if (m_callbacks.event)
        m_callbacks.event(kind, step, detail);
}

} // namespace nnlab::detail
