#include "flat_optim.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace nnlab::detail {

FlatOptimizer::FlatOptimizer(const OptimizerSpec& spec, std::vector<torch::Tensor> parameters)
    : m_spec(spec), m_params(std::move(parameters))
{
    repack();
    const auto zeros = [&] { return torch::zeros_like(m_values); };
    if (m_spec.type == "adam" || m_spec.type == "adamw") {
        m_first = zeros();
        m_second = zeros();
    } else if (m_spec.type == "sgd") {
        if (m_spec.momentum != 0)
            m_first = zeros();
    } else if (m_spec.type == "rmsprop") {
        m_first = zeros();
        if (m_spec.momentum > 0)
            m_second = zeros();
    } else {
        throw std::invalid_argument("optimizer.type: unknown optimizer \"" + m_spec.type + "\"");
    }
}

torch::Tensor FlatOptimizer::view(const torch::Tensor& flat, size_t i) const
{
    const torch::Tensor& p = m_params[i];
    return flat.as_strided(p.sizes(), p.strides(), m_offsets[i]);
}

void FlatOptimizer::repack()
{
    torch::NoGradGuard noGrad;
    m_offsets.clear();
    int64_t total = 0;
    for (const auto& p : m_params) {
        m_offsets.push_back(total);
        total += p.numel();
    }
    const auto options = m_params.empty() ? torch::TensorOptions(torch::kFloat32)
                                          : torch::TensorOptions(m_params[0].dtype()).device(m_params[0].device());
    m_values = torch::empty({total}, options);
    m_grads = torch::zeros({total}, options);
    for (size_t i = 0; i < m_params.size(); ++i) {
        torch::Tensor slice = view(m_values, i);
        slice.copy_(m_params[i].detach());
        m_params[i].set_data(slice);
        m_params[i].mutable_grad() = view(m_grads, i);
    }
}

torch::Tensor FlatOptimizer::clipGradNorm(double maxNorm)
{
    torch::NoGradGuard noGrad;
    if (m_grads.is_cpu() && m_grads.scalar_type() == torch::kFloat && m_grads.numel() <= (1 << 18)) {
        // Small models: two plain passes (the norm, in double; the scaling) instead of five
        // operations. Larger ones keep LibTorch's norm, which is split among threads.
        float* g = m_grads.data_ptr<float>();
        const int64_t n = m_grads.numel();
        double squares = 0.0;
        for (int64_t i = 0; i < n; ++i)
            squares += static_cast<double>(g[i]) * g[i];
        const double norm = std::sqrt(squares);
        const float scale = static_cast<float>(std::min(1.0, maxNorm / (norm + 1e-6)));
        if (scale < 1.0f)
            for (int64_t i = 0; i < n; ++i)
                g[i] *= scale;
        return torch::scalar_tensor(norm, torch::kFloat);
    }
    torch::Tensor norm = m_grads.norm();
    m_grads.mul_((maxNorm / (norm + 1e-6)).clamp_max_(1.0));
    return norm;
}

void FlatOptimizer::step(double lr)
{
    torch::NoGradGuard noGrad;
    const OptimizerSpec& s = m_spec;
    torch::Tensor& p = m_values;
    if (s.type == "sgd") {
        torch::Tensor d = s.weightDecay != 0 ? m_grads.add(p, s.weightDecay) : m_grads;
        if (s.momentum != 0) {
            if (m_momentumStarted)
                m_first.mul_(s.momentum).add_(d);
            else
                m_first.copy_(d);
            m_momentumStarted = true;
            d = s.nesterov ? d.add(m_first, s.momentum) : m_first;
        }
        p.add_(d, -lr);
        return;
    }
    ++m_steps;
    if (s.type == "rmsprop") {
        const torch::Tensor grad = s.weightDecay != 0 ? m_grads.add(p, s.weightDecay) : m_grads;
        m_first.mul_(s.alpha).addcmul_(grad, grad, 1 - s.alpha);
        const torch::Tensor avg = m_first.sqrt().add_(s.eps);
        if (s.momentum > 0) {
            m_second.mul_(s.momentum).addcdiv_(grad, avg);
            p.add_(m_second, -lr);
        } else {
            p.addcdiv_(grad, avg, -lr);
        }
        return;
    }
    // adam, adamw
    const double biasCorrection1 = 1 - std::pow(s.beta1, static_cast<double>(m_steps));
    const double biasCorrection2 = 1 - std::pow(s.beta2, static_cast<double>(m_steps));
    if (p.is_cpu() && p.scalar_type() == torch::kFloat) {
        // One pass over the four buffers instead of about ten tensor operations, each a pass
        // and a dispatch: the same terms in the same order.
        const bool adamw = s.type == "adamw";
        const float keep = static_cast<float>(adamw ? 1 - lr * s.weightDecay : 1.0);
        const float l2 = static_cast<float>(adamw ? 0.0 : s.weightDecay);
        const float b1 = static_cast<float>(s.beta1), b2 = static_cast<float>(s.beta2);
        const float a1 = static_cast<float>(1 - s.beta1), a2 = static_cast<float>(1 - s.beta2);
        const float rootBc2 = static_cast<float>(std::sqrt(biasCorrection2)), eps = static_cast<float>(s.eps);
        const float stepSize = static_cast<float>(-lr / biasCorrection1);
        float* pv = p.data_ptr<float>();
        const float* gv = m_grads.data_ptr<float>();
        float* m1 = m_first.data_ptr<float>();
        float* m2 = m_second.data_ptr<float>();
        at::parallel_for(0, p.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
                const float value = pv[i] * keep;
                const float grad = gv[i] + l2 * value;
                const float first = m1[i] * b1 + a1 * grad;
                const float second = m2[i] * b2 + a2 * grad * grad;
                m1[i] = first;
                m2[i] = second;
                pv[i] = value + stepSize * (first / (std::sqrt(second) / rootBc2 + eps));
            }
        });
        return;
    }
    if (s.type == "adamw" && s.weightDecay != 0)
        p.mul_(1 - lr * s.weightDecay);
    const torch::Tensor grad = s.type == "adam" && s.weightDecay != 0 ? m_grads.add(p, s.weightDecay) : m_grads;
    m_first.mul_(s.beta1).add_(grad, 1 - s.beta1);
    m_second.mul_(s.beta2).addcmul_(grad, grad, 1 - s.beta2);
    const torch::Tensor denom = (m_second.sqrt() / std::sqrt(biasCorrection2)).add_(s.eps);
    p.addcdiv_(m_first, denom, -lr / biasCorrection1);
}

void FlatOptimizer::save(torch::serialize::OutputArchive& archive) const
{
    archive.write("type", c10::IValue(m_spec.type));
    archive.write("steps", torch::tensor(m_steps, torch::kInt64));
    archive.write("momentum_started", torch::tensor(static_cast<int64_t>(m_momentumStarted), torch::kInt64));
    if (m_first.defined())
        archive.write("first", canonical(m_first));
    if (m_second.defined())
        archive.write("second", canonical(m_second));
}

// Each parameter's state in its logical (contiguous) order, so a checkpoint does not depend
// on the memory format the run happened to pick (channels-last convolution weights).
torch::Tensor FlatOptimizer::canonical(const torch::Tensor& flat) const
{
    std::vector<torch::Tensor> pieces;
    pieces.reserve(m_params.size());
    for (size_t i = 0; i < m_params.size(); ++i)
        pieces.push_back(view(flat, i).contiguous().flatten());
    return pieces.empty() ? flat.clone() : torch::cat(pieces);
}

void FlatOptimizer::load(torch::serialize::InputArchive& archive)
{
    torch::NoGradGuard noGrad;
    c10::IValue type;
    archive.read("type", type);
    if (!type.isString() || type.toStringRef() != m_spec.type)
        throw std::runtime_error("the checkpoint's optimizer is not " + m_spec.type);
    torch::Tensor steps, started;
    archive.read("steps", steps);
    archive.read("momentum_started", started);
    m_steps = steps.item<int64_t>();
    m_momentumStarted = started.item<int64_t>() != 0;
    const auto readInto = [&](const char* key, torch::Tensor& buffer) {
        if (!buffer.defined())
            return;
        torch::Tensor stored;
        archive.read(key, stored);
        if (stored.numel() != buffer.numel())
            throw std::runtime_error(std::string("the checkpoint's optimizer state \"") + key + "\" has "
                                     + std::to_string(stored.numel()) + " values, the model " + std::to_string(buffer.numel()));
        int64_t offset = 0;
        for (size_t i = 0; i < m_params.size(); ++i) {
            torch::Tensor target = view(buffer, i);
            target.copy_(stored.slice(0, offset, offset + target.numel()).view(target.sizes()));
            offset += target.numel();
        }
    };
    readInto("first", m_first);
    readInto("second", m_second);
}

std::vector<torch::Tensor> FlatOptimizer::stateTensors()
{
    std::vector<torch::Tensor> out{m_values};
    for (const torch::Tensor& t : {m_first, m_second})
        if (t.defined())
            out.push_back(t);
    return out;
}

torch::Tensor FlatOptimizer::counters() const
{
    return torch::tensor({m_steps, static_cast<int64_t>(m_momentumStarted)}, torch::kInt64);
}

void FlatOptimizer::setCounters(const torch::Tensor& counters)
{
    m_steps = counters[0].item<int64_t>();
    m_momentumStarted = counters[1].item<int64_t>() != 0;
}

} // namespace nnlab::detail
