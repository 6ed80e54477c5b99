// The pre-flight checks that train: the initial loss, the zero-input baseline, overfitting
// one batch and the gradient flow. Each trains a fresh model built from the experiment's
// seed, so the checks do not depend on one another and no user weights are touched.
#include "nnlab/preflight.h"

#include "builder.h"
#include "device.h"
#include "flat_optim.h"
#include "preflight_checks.h"
#include "session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <tuple>

namespace nnlab {

namespace {

using namespace nnlab::detail;

struct Cancelled {};

// "LinearImpl" -> "linear", "TunedConv2dImpl" -> "conv2d", "BatchNorm2dImpl" -> "batchnorm2d".
std::string moduleType(const torch::nn::Module& module)
{
    std::string name = module.name();
    if (const auto colon = name.rfind("::"); colon != std::string::npos)
        name = name.substr(colon + 2);
    for (const char* strip : {"Impl", "Tuned"})
        if (const auto at = name.find(strip); at != std::string::npos)
            name.erase(at, std::string(strip).size());
    for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
}

// Module paths in model order: "2" before "10", "3" before "3.body.0" before "4".
bool modelOrder(const std::string& a, const std::string& b)
{
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const size_t ai = std::min(a.find('.', i), a.size()), bj = std::min(b.find('.', j), b.size());
        const std::string pa = a.substr(i, ai - i), pb = b.substr(j, bj - j);
        const bool na = !pa.empty() && std::all_of(pa.begin(), pa.end(), ::isdigit);
        const bool nb = !pb.empty() && std::all_of(pb.begin(), pb.end(), ::isdigit);
        if (pa != pb) {
            if (na && nb)
                return std::stoll(pa) < std::stoll(pb);
            return pa < pb;
        }
        i = ai + 1;
        j = bj + 1;
    }
    return a.size() < b.size();
}

// How bad a layer's problem is, to name the worst of equal status: the dead share, or how
// far the grad/weight ratio is from 1 in decades.
double severity(const LayerFlow& f)
{
    if (f.deadFraction >= 0)
        return f.deadFraction;
    if (f.weightNorm <= 0 || f.gradNorm <= 0)
        return 1e9;
    return std::abs(std::log10(f.gradNorm / f.weightNorm));
}

std::string lrAdvice(double lr)
{
    return "optimizer.lr = " + formatNumber(lr) + " is probably too high; try " + formatNumber(lr / 10);
}

class Preflight {
public:
    Preflight(const PreparedExperiment& experiment, const DataBundle& data, const PreflightProgress& progress,
              TrainControl& control, const PreflightOptions& options)
        : m_experiment(experiment), m_spec(experiment.spec), m_data(data), m_progress(progress), m_control(control),
          m_options(options), m_classify(m_spec.isClassification()), m_device(selectDevice(m_spec.training.device)),
          m_train(toTensors(data.train, m_classify, m_device))
    {
        torch::manual_seed(m_spec.seed);
        m_order = torch::randperm(m_train.count, torch::TensorOptions(torch::kInt64)).to(m_device);
        m_totalUnits = static_cast<double>(2 * m_options.baselineSteps + m_options.overfitSteps + m_options.gradientSteps + 3);
    }

    void run(PreflightReport& report)
    {
        stage("checking the data");
        report.checks.push_back(checkOutputLayer(m_spec));
        report.checks.push_back(checkLabelBalance(m_data, m_options.minClassExamples, &report.classCounts));
        std::vector<FeatureRange> ranges;
        report.checks.push_back(checkInputRange(m_data, &ranges));
        const int64_t shown = std::min({m_options.viewSamples, m_options.overfitSamples, m_train.count});
        const torch::Tensor viewIndices = m_order.slice(0, 0, shown).cpu();
        report.input = makeInputView(m_data, {viewIndices.data_ptr<int64_t>(), viewIndices.data_ptr<int64_t>() + shown},
                                     std::move(ranges));
        step();
        stage("measuring the initial loss");
        report.checks.push_back(initialLoss());
        step();
        stage("training on real and on zeroed inputs");
        report.checks.push_back(baseline());
        stage("overfitting one batch");
        report.checks.push_back(overfitBatch());
        stage("measuring the gradient flow");
        report.checks.push_back(gradientFlow(report.layers));
        m_units = m_totalUnits;   // the checks that finished early skipped their remaining steps
        stage("done");
    }

private:
    void stage(const std::string& text)
    {
        if (m_progress)
            m_progress(std::min(1.0, m_units / m_totalUnits), text);
        m_stage = text;
    }
    // One unit of work done: reports progress now and then, and stops when cancelled.
    void step()
    {
        if (!m_control.waitWhilePaused())
            throw Cancelled{};
        m_units += 1;
        if (m_progress)
            m_progress(std::min(1.0, m_units / m_totalUnits), m_stage);
    }

    torch::nn::Sequential freshModel(bool fuse = fusionEnabled()) const
    {
        torch::manual_seed(m_spec.seed);
        torch::nn::Sequential model = buildModel(m_spec.model, m_experiment.model, fuse);
        model->to(m_device);
        model->train();
        return model;
    }

    // The b-th training batch of the seeded order (wrapping around).
    std::pair<torch::Tensor, torch::Tensor> batch(int64_t b, int64_t size) const
    {
        size = std::min(size, m_train.count);
        const int64_t start = (b * size) % std::max<int64_t>(1, m_train.count - size + 1);
        const torch::Tensor idx = m_order.slice(0, start, start + size);
        return {m_train.x.index_select(0, idx), m_train.y.index_select(0, idx)};
    }

    torch::Tensor loss(const torch::Tensor& out, const torch::Tensor& y) const { return lossFunction(out, y, m_classify); }

    // One optimizer step at the experiment's base learning rate, clipping as the trainer does.
    torch::Tensor trainStep(torch::nn::Sequential& model, FlatOptimizer& optimizer, const torch::Tensor& x, const torch::Tensor& y)
    {
        optimizer.zeroGrad();
        const torch::Tensor l = loss(model->forward(x), y);
        l.backward();
        if (m_spec.training.gradClipValue > 0)
            optimizer.clipGradValue(m_spec.training.gradClipValue);
        if (m_spec.training.gradClipNorm > 0)
            optimizer.clipGradNorm(m_spec.training.gradClipNorm);
        optimizer.step(m_spec.optimizer.lr);
        return l.detach();
    }

    // Loss (and accuracy) in eval mode, without autograd.
    std::pair<double, double> measure(torch::nn::Sequential& model, const torch::Tensor& x, const torch::Tensor& y) const
    {
        torch::NoGradGuard noGrad;
        model->eval();
        const torch::Tensor out = model->forward(x);
        const double l = loss(out, y).item<double>();
        const double accuracy = m_classify ? out.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>() : -1.0;
        model->train();
        return {l, accuracy};
    }

    CheckResult initialLoss()
    {
        torch::nn::Sequential model = freshModel();
        const auto [x, y] = batch(0, m_options.lossSamples);
        double l = 0.0;
        {
            torch::NoGradGuard noGrad;   // train mode, as the first step sees it
            l = loss(model->forward(x), y).item<double>();
        }
        m_initialLoss = l;
        if (m_classify) {
            const double expected = std::log(static_cast<double>(std::max<int64_t>(2, m_data.numClasses)));
            const std::vector<CheckNumber> numbers{{"initial loss", l}, {"ln(K)", expected}};
            const std::string found = "initial loss " + formatNumber(l) + ", ln(" + std::to_string(m_data.numClasses)
                                      + ") = " + formatNumber(expected);
            if (!std::isfinite(l) || l > 3 * expected)
                return makeCheck(CheckId::InitialLoss, CheckStatus::Fail,
                                 found + ": the logits start far too confident; check the input's normalisation, the "
                                         "last layer and the initialisation",
                                 numbers);
            if (std::abs(l - expected) > 0.25 * expected + 0.05)
                return makeCheck(CheckId::InitialLoss, CheckStatus::Warn,
                                 found + ": the initial predictions are not uniform; check the last layer's scale and "
                                         "the input's normalisation",
                                 numbers);
            return makeCheck(CheckId::InitialLoss, CheckStatus::Pass, found + ": the initial predictions are near uniform", numbers);
        }
        const double meanSquare = y.to(torch::kFloat64).pow(2).mean().item<double>();
        const double variance = y.to(torch::kFloat64).var(0, false).mean().item<double>();
        const std::vector<CheckNumber> numbers{{"initial loss", l}, {"target mean square", meanSquare}, {"target variance", variance}};
        const std::string found = "initial loss " + formatNumber(l) + ", targets' mean square " + formatNumber(meanSquare)
                                  + ", variance " + formatNumber(variance);
        if (!std::isfinite(l) || l > 10 * meanSquare + 1e-6)
            return makeCheck(CheckId::InitialLoss, CheckStatus::Fail,
                             found + ": the initial outputs are far too large; check the input's normalisation and the last layer",
                             numbers);
        if (l > 2 * meanSquare + 1e-6)
            return makeCheck(CheckId::InitialLoss, CheckStatus::Warn,
                             found + ": the initial outputs are large; scale the targets or the last layer down", numbers);
        return makeCheck(CheckId::InitialLoss, CheckStatus::Pass, found, numbers);
    }

    // Trains two fresh copies in lockstep on the same batches, one on zeroed inputs, and
    // compares their loss on a held batch (zeroed for the baseline) every few steps, until
    // the real inputs are clearly ahead or baselineSteps are spent.
    CheckResult baseline()
    {
        const int64_t size = m_spec.training.batchSize;
        const auto [heldX, heldY] = batch(0, m_options.lossSamples);
        const torch::Tensor heldZero = torch::zeros_like(heldX);
        torch::nn::Sequential models[2] = {freshModel(), freshModel()};   // real, zeroed
        FlatOptimizer real(m_spec.optimizer, models[0]->parameters());
        FlatOptimizer zeroed(m_spec.optimizer, models[1]->parameters());
        double realLoss = 0.0, zeroLoss = 0.0;
        int64_t steps = 0;
        while (steps < m_options.baselineSteps) {
            auto [x, y] = batch(steps + 1, size);
            trainStep(models[0], real, x, y);
            trainStep(models[1], zeroed, torch::zeros_like(x), y);
            ++steps;
            step();
            step();
            if (steps % 20 == 0 || steps == m_options.baselineSteps) {
                realLoss = measure(models[0], heldX, heldY).first;
                zeroLoss = measure(models[1], heldZero, heldY).first;
                if (!std::isfinite(realLoss) || realLoss < 0.9 * zeroLoss)
                    break;
            }
        }
        m_units += 2.0 * static_cast<double>(m_options.baselineSteps - steps);
        const std::vector<CheckNumber> numbers{{"loss, real inputs", realLoss}, {"loss, zeroed inputs", zeroLoss},
                                               {"steps", static_cast<double>(steps)}};
        const std::string found = "after " + std::to_string(steps) + " steps: loss " + formatNumber(realLoss)
                                  + " on real inputs, " + formatNumber(zeroLoss) + " on zeroed inputs";
        if (!std::isfinite(realLoss) || (realLoss > zeroLoss && realLoss > 1.5 * m_initialLoss))
            return makeCheck(CheckId::Baseline, CheckStatus::Fail,
                             found + ": the loss rose from " + formatNumber(m_initialLoss) + ", training diverges; "
                                 + lrAdvice(m_spec.optimizer.lr),
                             numbers);
        if (realLoss < 0.9 * zeroLoss)
            return makeCheck(CheckId::Baseline, CheckStatus::Pass, found, numbers);
        if (realLoss < zeroLoss)
            return makeCheck(CheckId::Baseline, CheckStatus::Warn,
                             found + ": the inputs help only a little; check optimizer.lr (" + formatNumber(m_spec.optimizer.lr)
                                 + ") and that features and labels line up",
                             numbers);
        return makeCheck(CheckId::Baseline, CheckStatus::Fail,
                         found + ": the model learns nothing from its inputs; check that features and labels line up "
                                 "and optimizer.lr (" + formatNumber(m_spec.optimizer.lr) + ")",
                         numbers);
    }

    CheckResult overfitBatch()
    {
        torch::nn::Sequential model = freshModel();
        FlatOptimizer optimizer(m_spec.optimizer, model->parameters());
        const auto [x, y] = batch(0, m_options.overfitSamples);
        const int64_t n = x.size(0);
        double initial = 0.0, last = 0.0, accuracy = -1.0;   // initial: the first step's loss (train mode)
        int64_t steps = 0;
        bool reached = false;
        const double lr = m_spec.optimizer.lr;
        const auto numbers = [&] {
            std::vector<CheckNumber> v{{"initial loss", initial}, {"final loss", last}, {"steps", double(steps)}};
            if (m_classify)
                v.push_back({"batch accuracy", accuracy});
            return v;
        };
        while (steps < m_options.overfitSteps && !reached) {
            const double trainLoss = trainStep(model, optimizer, x, y).item<double>();
            if (steps == 0)
                initial = last = trainLoss;
            ++steps;
            step();
            if (!std::isfinite(trainLoss)) {
                last = trainLoss;
                return makeCheck(CheckId::OverfitBatch, CheckStatus::Fail,
                                 "the loss became " + formatNumber(trainLoss) + " at step " + std::to_string(steps)
                                     + " on one batch of " + std::to_string(n) + ": " + lrAdvice(lr),
                                 numbers());
            }
            if (steps % 10 == 0 || steps == m_options.overfitSteps) {
                std::tie(last, accuracy) = measure(model, x, y);
                reached = last < m_options.overfitTarget * initial || (accuracy >= 1.0 && last < 0.25 * initial);
            }
        }
        m_units += static_cast<double>(m_options.overfitSteps - steps);
        const std::string found = "loss " + formatNumber(initial) + " -> " + formatNumber(last)
                                  + (m_classify ? ", batch accuracy " + formatNumber(100 * accuracy) + "%" : std::string())
                                  + " after " + std::to_string(steps) + " steps on " + std::to_string(n) + " samples";
        if (reached)
            return makeCheck(CheckId::OverfitBatch, CheckStatus::Pass, found, numbers());
        if (!std::isfinite(last) || last >= initial)
            return makeCheck(CheckId::OverfitBatch, CheckStatus::Fail, found + ": the loss did not fall; " + lrAdvice(lr), numbers());
        return makeCheck(CheckId::OverfitBatch, CheckStatus::Fail,
                         found + ": a model that cannot memorise one batch has a bug, too little capacity or a bad "
                                 "optimizer.lr (" + formatNumber(lr) + ")",
                         numbers());
    }

    // ReLU outputs, walking the network module by module (into residual bodies) without
    // autograd: a unit (a channel, or a feature) is dead when it is zero for every sample.
    void deadRelus(torch::nn::Sequential& seq, torch::Tensor x, const std::string& prefix, std::vector<LayerFlow>& out)
    {
        const auto children = seq->named_children();
        size_t i = 0;
        for (auto it = seq->begin(); it != seq->end(); ++it, ++i) {
            const std::string name = prefix + children[i].key();
            const auto module = it->ptr();
            if (auto residual = std::dynamic_pointer_cast<ResidualImpl>(module)) {
                for (const auto& child : residual->named_children())
                    if (auto body = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(child.value()); body && child.key() == "body") {
                        torch::nn::Sequential bodySeq(body);
                        deadRelus(bodySeq, x, name + ".body.", out);
                    }
            }
            x = it->forward<torch::Tensor>(x.clone());
            if (std::dynamic_pointer_cast<torch::nn::ReLUImpl>(module)) {
                const torch::Tensor alive = x.dim() > 2 ? x.gt(0).flatten(2).any(2).any(0) : x.gt(0).flatten(1).any(0);
                LayerFlow flow;
                flow.name = name;
                flow.type = "relu";
                flow.deadFraction = 1.0 - alive.to(torch::kFloat64).mean().item<double>();
                if (flow.deadFraction >= 1.0) {
                    flow.status = CheckStatus::Fail;
                    flow.problem = "dead";
                } else if (flow.deadFraction > 0.5) {
                    flow.status = CheckStatus::Warn;
                    flow.problem = "dead";
                }
                out.push_back(flow);
            }
        }
    }

    CheckResult gradientFlow(std::vector<LayerFlow>& layers)
    {
        torch::nn::Sequential model = freshModel(/*fuse=*/false);   // ReLUs as modules of their own
        FlatOptimizer optimizer(m_spec.optimizer, model->parameters());
        const int64_t size = m_spec.training.batchSize;
        for (int64_t s = 0; s < m_options.gradientSteps; ++s) {
            auto [x, y] = batch(s + 1, size);
            trainStep(model, optimizer, x, y);
            step();
        }
        std::vector<LayerFlow> relus;
        {
            torch::NoGradGuard noGrad;   // on a large batch: a unit is dead when no sample of it fires
            deadRelus(model, batch(0, std::max(size, m_options.lossSamples)).first, "", relus);
        }
        const auto [x, y] = batch(m_options.gradientSteps + 1, size);
        optimizer.zeroGrad();
        loss(model->forward(x), y).backward();
        step();

        // Parameters grouped by their layer ("3.body.0.weight" -> "3.body.0"), in model order.
        std::map<std::string, std::shared_ptr<torch::nn::Module>> modules;
        for (const auto& m : model->named_modules())
            modules[m.key()] = m.value();
        std::vector<LayerFlow> flows;
        std::map<std::string, std::pair<double, double>> squares;
        for (const auto& p : model->named_parameters()) {
            const std::string layer = p.key().substr(0, p.key().rfind('.'));
            if (!squares.count(layer)) {
                LayerFlow f;
                f.name = layer;
                f.type = modules.count(layer) ? moduleType(*modules[layer]) : "";
                flows.push_back(f);
            }
            const torch::Tensor g = p.value().grad();
            squares[layer].first += g.defined() ? g.to(torch::kFloat64).pow(2).sum().item<double>() : 0.0;
            squares[layer].second += p.value().to(torch::kFloat64).pow(2).sum().item<double>();
        }
        for (auto& f : flows) {
            f.gradNorm = std::sqrt(squares[f.name].first);
            f.weightNorm = std::sqrt(squares[f.name].second);
            const double ratio = f.weightNorm > 0 ? f.gradNorm / f.weightNorm : f.gradNorm;
            if (!std::isfinite(f.gradNorm)) {
                f.status = CheckStatus::Fail;
                f.problem = "not finite";
            } else if (f.gradNorm == 0.0) {
                f.status = CheckStatus::Warn;
                f.problem = "no gradient";
            } else if (ratio < 1e-5) {
                f.status = CheckStatus::Warn;
                f.problem = "vanishing";
            } else if (ratio > 10.0) {
                f.status = CheckStatus::Warn;
                f.problem = "exploding";
            }
        }
        layers = flows;
        layers.insert(layers.end(), relus.begin(), relus.end());
        std::stable_sort(layers.begin(), layers.end(), [](const LayerFlow& a, const LayerFlow& b) { return modelOrder(a.name, b.name); });
        return summarise(layers);
    }

    CheckResult summarise(const std::vector<LayerFlow>& layers) const
    {
        const LayerFlow* worst = nullptr;
        int problems = 0;
        for (const auto& f : layers) {
            if (f.status == CheckStatus::Pass)
                continue;
            ++problems;
            if (!worst || (f.status == CheckStatus::Fail && worst->status != CheckStatus::Fail)
                || (f.status == worst->status && severity(f) > severity(*worst)))
                worst = &f;
        }
        double minRatio = INFINITY, maxRatio = 0.0, maxDead = 0.0;
        for (const auto& f : layers) {
            if (f.deadFraction >= 0)
                maxDead = std::max(maxDead, f.deadFraction);
            else if (f.weightNorm > 0) {
                minRatio = std::min(minRatio, f.gradNorm / f.weightNorm);
                maxRatio = std::max(maxRatio, f.gradNorm / f.weightNorm);
            }
        }
        const std::vector<CheckNumber> numbers{{"smallest grad/weight", std::isfinite(minRatio) ? minRatio : 0.0},
                                               {"largest grad/weight", maxRatio},
                                               {"most dead ReLU units", maxDead}};
        const std::string after = "after " + std::to_string(m_options.gradientSteps) + " steps";
        if (!worst)
            return makeCheck(CheckId::GradientFlow, CheckStatus::Pass,
                             std::to_string(layers.size()) + " layers " + after + ": grad/weight " + formatNumber(minRatio)
                                 + " .. " + formatNumber(maxRatio) + ", at most " + formatNumber(100 * maxDead)
                                 + "% dead ReLU units",
                             numbers);
        std::string what = "layer " + worst->name + " (" + worst->type + "): ";
        if (worst->problem == "dead")
            what += formatNumber(100 * worst->deadFraction) + "% of its units are zero for a whole batch; lower "
                    "optimizer.lr, try leaky_relu or batchnorm before it";
        else if (worst->problem == "not finite")
            what += "non-finite gradient; " + lrAdvice(m_spec.optimizer.lr) + ", or set training.grad_clip_norm";
        else if (worst->problem == "exploding")
            what += "gradient " + formatNumber(worst->gradNorm / worst->weightNorm) + "x its weights; lower optimizer.lr "
                    "or set training.grad_clip_norm";
        else
            what += worst->problem + " gradient (" + formatNumber(worst->gradNorm) + "); add normalisation or residual "
                    "connections, or use relu instead of sigmoid/tanh";
        if (problems > 1)
            what += " (" + std::to_string(problems - 1) + " more)";
        return makeCheck(CheckId::GradientFlow, worst->status, after + ", " + what, numbers);
    }

    const PreparedExperiment& m_experiment;
    const ExperimentSpec& m_spec;
    const DataBundle& m_data;
    const PreflightProgress& m_progress;
    TrainControl& m_control;
    const PreflightOptions m_options;
    const bool m_classify;
    const torch::Device m_device;
    const TensorSet m_train;
    torch::Tensor m_order;   // the seeded order every check draws its batches from
    double m_units = 0, m_totalUnits = 1;
    double m_initialLoss = NAN;   // measured by initialLoss()
    std::string m_stage;
};

// Every check in the report, those that did not run as Skipped.
void completeChecks(PreflightReport& report, const std::string& why)
{
    for (int i = 0; i <= static_cast<int>(CheckId::GradientFlow); ++i)
        if (!report.find(static_cast<CheckId>(i)))
            report.checks.push_back(makeCheck(static_cast<CheckId>(i), CheckStatus::Skipped, why));
    std::stable_sort(report.checks.begin(), report.checks.end(),
                     [](const CheckResult& a, const CheckResult& b) { return a.id < b.id; });
}

} // namespace

PreflightReport runPreflight(const PreparedExperiment& experiment, const DataBundle& data, const PreflightProgress& progress,
                             TrainControl& control, const PreflightOptions& options)
{
    const auto started = std::chrono::steady_clock::now();
    PreflightReport report;
    try {
        const PreparedExperiment fitted = detail::fittedTo(experiment, data);
        if (data.train.count() == 0)
            throw std::runtime_error("data: no training samples");
        Preflight(fitted, data, progress, control, options).run(report);
    } catch (const Cancelled&) {
        report.cancelled = true;
    } catch (const c10::Error& e) {
        report.error = std::string("LibTorch: ") + e.what_without_backtrace();
    } catch (const std::exception& e) {
        report.error = e.what();
    }
    completeChecks(report, report.cancelled ? "cancelled" : "not run: " + report.error);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

} // namespace nnlab
