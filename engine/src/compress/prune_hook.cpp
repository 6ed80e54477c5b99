// The mask-holding training hook and the AGP schedule (prune.h).
#include "prune.h"

#include <cmath>
#include <stdexcept>

namespace nnlab::detail {

double agpSparsity(double initial, double final, int64_t step, int64_t rampSteps)
{
    if (rampSteps <= 0 || step >= rampSteps)
        return final;
    if (step <= 0)
        return initial;
    const double left = 1.0 - double(step) / double(rampSteps);
    return final + (initial - final) * left * left * left;
}

int64_t agpRampSteps(int64_t totalSteps)
{
    return std::max<int64_t>(1, totalSteps * 3 / 4);
}

int64_t agpUpdateEvery(int64_t rampSteps)
{
    return std::max<int64_t>(1, rampSteps / 50);
}

PruneMaskHook::PruneMaskHook(PruneMasks masks, Options options)
    : m_masks(std::move(masks)), m_options(std::move(options))
{
    const double s = m_options.prune.sparsity;
    if (!(s >= 0.0 && s < 1.0))
        throw std::invalid_argument("prune: a sparsity must be in [0, 1), got " + std::to_string(s));
    if (m_options.prune.schedule == PruneSchedule::Agp) {
        if (m_options.rampSteps < 1)
            throw std::invalid_argument("prune: the AGP schedule needs at least one fine-tuning step");
        if (!(m_options.initialSparsity >= 0.0 && m_options.initialSparsity <= s))
            throw std::invalid_argument("prune: AGP's initial sparsity must be in [0, final sparsity]");
        m_sparsity = m_options.initialSparsity;
    } else {
        m_sparsity = s;
    }
}

void PruneMaskHook::afterStep(const StepView& view, TrainRequests&)
{
    const int64_t t = view.state.step;
    const int64_t ramp = m_options.rampSteps;
    if (m_options.prune.schedule == PruneSchedule::Agp && t <= ramp
        && (t % agpUpdateEvery(ramp) == 0 || t == ramp)) {
        // The step just taken moved the pruned weights off zero: zero them before ranking, so
        // that they rank lowest and stay pruned (sparsity only rises on the ramp).
        holdMasks(*view.model, &view.optimizer);
        const double s = agpSparsity(m_options.initialSparsity, m_options.prune.sparsity, t, ramp);
        recompute(*view.model, s);
    }
    holdMasks(*view.model, &view.optimizer);
}

void PruneMaskHook::recompute(torch::nn::Module& model, double sparsity)
{
    torch::NoGradGuard noGrad;
    const auto parameters = model.named_parameters(/*recurse=*/true);
    std::map<std::string, torch::Tensor> weights;
    for (const auto& [name, mask] : m_masks) {
        const torch::Tensor* p = parameters.find(name);
        if (!p)
            throw std::runtime_error("prune: the model has no parameter '" + name + "' to mask");
        weights[name] = p->detach().to(torch::kCPU);
    }
    PruneMasks masks = magnitudeMasks(weights, sparsity, m_options.prune.global);
    for (auto& [name, mask] : masks)
        m_masks[name] = mask.to(parameters.find(name)->device());
    m_sparsity = sparsity;
    ++m_updates;
}

void PruneMaskHook::holdMasks(torch::nn::Module& model, FlatOptimizer* optimizer)
{
    torch::NoGradGuard noGrad;
    const auto parameters = model.named_parameters(/*recurse=*/true);
    std::vector<torch::Tensor> state;
    if (optimizer)
        state = optimizer->stateTensors();   // [values, then each moment buffer]
    for (auto& [name, mask] : m_masks) {
        const torch::Tensor* found = parameters.find(name);
        if (!found)
            throw std::runtime_error("prune: the model has no parameter '" + name + "' to mask");
        torch::Tensor p = *found;
        if (mask.device() != p.device())
            mask = mask.to(p.device());
        p.mul_(mask);
        if (p.grad().defined())
            p.grad().mul_(mask);
        // The optimizer keeps its moments in flat buffers laid out as its values buffer, of
        // which the parameter is a view: the same strided view of each moment buffer is this
        // parameter's state.
        if (state.size() > 1 && p.is_alias_of(state[0])) {
            const int64_t offset = p.storage_offset() - state[0].storage_offset();
            for (size_t i = 1; i < state.size(); ++i)
                state[i].as_strided(p.sizes(), p.strides(), state[i].storage_offset() + offset).mul_(mask);
        }
    }
}

std::shared_ptr<PruneMaskHook> makePruneMaskHook(PruneMasks masks, const PruneOptions& options, int64_t totalSteps)
{
    PruneMaskHook::Options o;
    o.prune = options;
    if (options.schedule == PruneSchedule::Agp && totalSteps < 1)
        throw std::invalid_argument("prune: the AGP schedule needs at least one fine-tuning step");
    o.rampSteps = agpRampSteps(totalSteps);
    o.initialSparsity = 0.0;
    return std::make_shared<PruneMaskHook>(std::move(masks), o);
}

} // namespace nnlab::detail
