#include "nnlab/lr_finder.h"

#include "builder.h"
#include "device.h"
#include "flat_optim.h"
#include "session.h"
#include "train_pieces.h"
#include "tuning.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace nnlab {

namespace {

using namespace nnlab::detail;

std::string formatNumber(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", v);
    return text;
}

// The range test: set up once, then one step per learning rate until the last or divergence.
class RangeTest {
public:
    RangeTest(const PreparedExperiment& experiment, const DataBundle& data, const LrFinderOptions& options)
        : m_spec(experiment.spec), m_options(options), m_classify(m_spec.isClassification()),
          m_device(selectDevice(m_spec.training.device)), m_model(freshModel(experiment, m_device)),
          m_train(toTensors(data.train, m_classify, m_device)),
          m_execution(tuneExecution(m_spec, m_model, m_train, m_device)),
          m_optimizer(m_spec.optimizer, m_model->parameters()), m_batches(m_train, m_spec, m_execution, m_device)
    {
        if (m_train.empty())
            throw std::runtime_error("the training set is empty");
    }

    void run(TrainControl& control, const LrFinderCallback& progress, LrFinderResult& result)
    {
        using Clock = std::chrono::steady_clock;
        const auto started = Clock::now();
        auto lastReport = started;
        double average = 0.0;
        double best = std::numeric_limits<double>::infinity();
        m_model->train();
        for (int64_t step = 0; step < m_options.steps; ++step) {
            if (!control.waitWhilePaused()) {
                result.status = TrainStatus::Cancelled;
                result.message = "cancelled at step " + std::to_string(step);
                return;
            }
            const double lr = lrFinderRate(m_options, step);
            const double loss = trainStep(step, lr);
            if (!std::isfinite(loss)) {
                result.diverged = true;
                result.message = "the loss became " + formatNumber(loss) + " at lr " + formatNumber(lr);
                break;
            }
            average = m_options.smoothing * average + (1.0 - m_options.smoothing) * loss;
            const double smoothed = average / (1.0 - std::pow(m_options.smoothing, static_cast<double>(step + 1)));
            result.points.push_back(LrFinderPoint{/*lr*/ lr, /*loss*/ loss, /*smoothedLoss*/ smoothed});
            best = std::min(best, smoothed);

            const bool last = step + 1 == m_options.steps;
            const bool diverging = smoothed > m_options.divergeFactor * best;
            const auto now = Clock::now();
            if (progress && (step == 0 || last || diverging || now - lastReport >= std::chrono::milliseconds(100))) {
                lastReport = now;
                const double elapsed = std::chrono::duration<double>(now - started).count();
                LrFinderProgress p;
                p.step = step + 1;
                p.totalSteps = m_options.steps;
                p.lr = lr;
                p.smoothedLoss = smoothed;
                p.etaSeconds = elapsed / static_cast<double>(step + 1) * static_cast<double>(m_options.steps - step - 1);
                progress(p);
            }
            if (diverging) {
                result.diverged = true;
                result.message = "stopped at lr " + formatNumber(lr) + ": the smoothed loss " + formatNumber(smoothed)
                                 + " exceeds " + formatNumber(m_options.divergeFactor) + " x its minimum "
                                 + formatNumber(best);
                break;
            }
        }
        result.status = TrainStatus::Finished;
    }

private:
    static torch::nn::Sequential freshModel(const PreparedExperiment& e, const torch::Device& device)
    {
        torch::manual_seed(e.spec.seed);   // the same initial weights as a run of this experiment
        torch::nn::Sequential model = buildModel(e.spec.model, e.model);
        model->to(device);
        return model;
    }

    double trainStep(int64_t step, double lr)
    {
        const Batches::Batch batch = m_batches.forStep(step);
        m_optimizer.zeroGrad();
        const torch::Tensor output = m_model->forward(batch.x);
        const torch::Tensor loss = lossFunction(output, batch.y, m_classify);
        loss.backward();
        if (m_spec.training.gradClipValue > 0)
            m_optimizer.clipGradValue(m_spec.training.gradClipValue);
        if (m_spec.training.gradClipNorm > 0)
            m_optimizer.clipGradNorm(m_spec.training.gradClipNorm);
        m_optimizer.step(lr);
        return loss.item<double>();
    }

    const ExperimentSpec& m_spec;
    const LrFinderOptions& m_options;
    const bool m_classify;
    const torch::Device m_device;
    torch::nn::Sequential m_model;
    const TensorSet m_train;
    const Execution m_execution;
    FlatOptimizer m_optimizer;
    Batches m_batches;
};

} // namespace

double lrFinderRate(const LrFinderOptions& options, int64_t step)
{
    const double t = options.steps > 1 ? static_cast<double>(step) / static_cast<double>(options.steps - 1) : 0.0;
    return options.startLr * std::pow(options.endLr / options.startLr, t);
}

LrSuggestions suggestLearningRates(const std::vector<LrFinderPoint>& points, double startLr, double endLr)
{
    LrSuggestions s;
    // fast.ai drops the first tenth (the average still warming up) and the last five (the
    // blow-up that stopped the test); on short curves only what leaves enough to judge.
    size_t first = points.size() / 10;
    size_t end = points.size() >= first + 5 + 5 ? points.size() - 5 : points.size();
    if (end < first + 3) {
        first = 0;
        end = points.size();
    }
    if (end < 3)
        return s;
    const auto clampLr = [&](double lr) { return std::clamp(lr, startLr, endLr); };

    size_t lowest = first;
    for (size_t i = first; i < end; ++i)
        if (points[i].smoothedLoss < points[lowest].smoothedLoss)
            lowest = i;
    // Only on the falling side of the lowest loss: after it, a loss that blows up and then
    // jumps about can show a steeper (meaningless) descent.
    size_t steepest = first;
    double steepestSlope = std::numeric_limits<double>::infinity();
    for (size_t i = first; i + 1 <= std::max(lowest, first + 1) && i + 1 < end; ++i) {
        const double slope = (points[i + 1].smoothedLoss - points[i].smoothedLoss)
                             / (std::log(points[i + 1].lr) - std::log(points[i].lr));
        if (slope < steepestSlope) {
            steepestSlope = slope;
            steepest = i;
        }
    }
    s.valid = true;
    s.minimumLossLr = points[lowest].lr;
    s.minimumLoss = points[lowest].smoothedLoss;
    s.minimum = clampLr(points[lowest].lr / 10.0);
    s.steepest = clampLr(points[steepest].lr);
    s.steepestLoss = points[steepest].smoothedLoss;
    s.oneCycleMax = s.minimum;
    return s;
}

LrFinderResult findLearningRate(const PreparedExperiment& experiment, const DataBundle& data, TrainControl& control,
                                const LrFinderOptions& options, const LrFinderCallback& progress)
{
    const auto started = std::chrono::steady_clock::now();
    LrFinderResult result;
    result.options = options;
    const std::string failure = detail::failureOf([&] {
        const std::string invalid = validateLrFinderOptions(options);
        if (!invalid.empty())
            throw std::invalid_argument(invalid);
        const PreparedExperiment fitted = detail::fittedTo(experiment, data);
        RangeTest test(fitted, data, options);
        test.run(control, progress, result);
    });
    if (!failure.empty()) {
        result.status = TrainStatus::Failed;
        result.message = failure;
    }
    if (result.status != TrainStatus::Failed)
        result.suggestions = suggestLearningRates(result.points, options.startLr, options.endLr);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace nnlab
