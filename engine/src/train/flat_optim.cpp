#include "flat_optim.h"
#include "fused_kernels.h"   // NNLAB_KERNEL: one build per instruction set

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace nnlab::detail {

namespace {

// One-pass steps over the flat float buffers, each the same terms in the same order as
// torch::optim's tensor operations (1.13), where each operation is a pass and a dispatch:
// an SGD step with momentum and weight decay was four passes, RMSprop five or six. The
// vectorized ATen kernels contract some multiply-adds and these loops others, so the last
// bit can differ (test_optim_equivalence). Loops are templates on the options so that each
// is a plain vectorizable loop; the NNLAB_KERNEL entry points pick one.

constexpr int64_t kGrain = 1 << 16;   // elements per thread's share: small models stay on one

// The loops read their scalars into locals first (a store through the buffers could
// otherwise alias the argument struct, so every scalar was loaded again per element), and
// this file is built with -fno-math-errno (CMakeLists.txt): sqrt's errno check for negative
// inputs kept Adam's loop scalar, one element per 50-cycle chain of sqrt, divisions and
// multiply-adds, half of the spiral MLP's step.

enum class SgdMode { Plain, MomentumFirst, Momentum, NesterovFirst, Nesterov };

struct SgdArgs {
    float* p;
    const float* g;
    float* buf;   // momentum buffer, or null
    float decay, momentum, dampened, negLr;   // dampened: 1 - dampening
};

template <bool Decay, SgdMode Mode>
inline __attribute__((always_inline)) void sgdLoop(const SgdArgs& a, int64_t begin, int64_t end)
{
    float* __restrict p = a.p;
    const float* __restrict g = a.g;
    float* __restrict buf = a.buf;
    const float decay = a.decay, momentum = a.momentum, dampened = a.dampened, negLr = a.negLr;
    for (int64_t i = begin; i < end; ++i) {
        float d = g[i];
        if constexpr (Decay)
            d = d + decay * p[i];                          // grad.add(p, weight_decay)
        if constexpr (Mode == SgdMode::MomentumFirst || Mode == SgdMode::NesterovFirst) {
            buf[i] = d;                                    // the buffer starts as a copy
            if constexpr (Mode == SgdMode::NesterovFirst)
                d = d + momentum * d;
        } else if constexpr (Mode == SgdMode::Momentum || Mode == SgdMode::Nesterov) {
            const float b = buf[i] * momentum + dampened * d;   // buf.mul_(m).add_(d, 1 - dampening)
            buf[i] = b;
            d = Mode == SgdMode::Nesterov ? d + momentum * b : b;
        }
        p[i] = p[i] + negLr * d;                           // p.add_(d, -lr)
    }
}

template <bool Decay>
inline __attribute__((always_inline)) void sgdModes(SgdMode mode, const SgdArgs& a, int64_t begin, int64_t end)
{
    switch (mode) {
    case SgdMode::Plain: sgdLoop<Decay, SgdMode::Plain>(a, begin, end); break;
    case SgdMode::MomentumFirst: sgdLoop<Decay, SgdMode::MomentumFirst>(a, begin, end); break;
    case SgdMode::Momentum: sgdLoop<Decay, SgdMode::Momentum>(a, begin, end); break;
    case SgdMode::NesterovFirst: sgdLoop<Decay, SgdMode::NesterovFirst>(a, begin, end); break;
    case SgdMode::Nesterov: sgdLoop<Decay, SgdMode::Nesterov>(a, begin, end); break;
    }
}

NNLAB_KERNEL void sgdRange(SgdMode mode, bool decay, const SgdArgs& a, int64_t begin, int64_t end)
{
    if (decay)
        sgdModes<true>(mode, a, begin, end);
    else
        sgdModes<false>(mode, a, begin, end);
}

struct RmspropArgs {
    float* p;
    const float* g;
    float* square;   // square_avg
    float* buf;      // momentum buffer, or null
    float decay, alpha, oneMinusAlpha, eps, momentum, negLr;
};

template <bool Decay, bool Momentum>
inline __attribute__((always_inline)) void rmspropLoop(const RmspropArgs& a, int64_t begin, int64_t end)
{
    float* __restrict p = a.p;
    const float* __restrict g = a.g;
    float* __restrict sq = a.square;
    float* __restrict buf = a.buf;
    const float decay = a.decay, alpha = a.alpha, oneMinusAlpha = a.oneMinusAlpha, eps = a.eps, momentum = a.momentum,
                negLr = a.negLr;
    // Rounded as torch.optim's tensor operations round: each operation on its own, and a
    // fused multiply-add exactly where ATen's vector kernels have one (add with alpha is
    // vec::fmadd; addcmul's `self + value * t1 * t2` is contracted by the compiler that built
    // ATen). The file is built with -ffp-contract=off, so these are the only ones at any
    // optimization level: RMSprop amplifies a last-bit difference, and a contracted step drifted
    // to 6e-3 of torch.optim's weights over 120 CNN steps at -O1 (test_optim_equivalence).
    for (int64_t i = begin; i < end; ++i) {
        float grad = g[i];
        if constexpr (Decay)
            grad = std::fma(p[i], decay, grad);                        // grad.add(p, weight_decay)
        const float s = std::fma(oneMinusAlpha * grad, grad, sq[i] * alpha);   // mul_(alpha).addcmul_(g, g, 1 - alpha)
        sq[i] = s;
        const float avg = std::sqrt(s) + eps;                          // square_avg.sqrt().add_(eps)
        if constexpr (Momentum) {
            const float b = buf[i] * momentum + grad / avg;            // buf.mul_(m).addcdiv_(g, avg)
            buf[i] = b;
            p[i] = std::fma(b, negLr, p[i]);                           // p.add_(buf, -lr)
        } else {
            p[i] = p[i] + negLr * grad / avg;                          // p.addcdiv_(g, avg, -lr)
        }
    }
}

NNLAB_KERNEL void rmspropRange(bool decay, const RmspropArgs& a, int64_t begin, int64_t end)
{
    if (decay) {
        a.buf ? rmspropLoop<true, true>(a, begin, end) : rmspropLoop<true, false>(a, begin, end);
    } else {
        a.buf ? rmspropLoop<false, true>(a, begin, end) : rmspropLoop<false, false>(a, begin, end);
    }
}

struct AdamArgs {
    float* p;
    const float* g;
    float *first, *second;
    float keep, l2, b1, b2, a1, a2, rootBc2, eps, stepSize;
};

NNLAB_KERNEL void adamRange(const AdamArgs& a, int64_t begin, int64_t end)
{
    float* __restrict pv = a.p;
    const float* __restrict gv = a.g;
    float* __restrict m1 = a.first;
    float* __restrict m2 = a.second;
    const float keep = a.keep, l2 = a.l2, b1 = a.b1, b2 = a.b2, a1 = a.a1, a2 = a.a2, rootBc2 = a.rootBc2, eps = a.eps,
                stepSize = a.stepSize;
    for (int64_t i = begin; i < end; ++i) {
        const float value = pv[i] * keep;
        const float grad = gv[i] + l2 * value;
        const float first = m1[i] * b1 + a1 * grad;
        const float second = m2[i] * b2 + a2 * grad * grad;
        m1[i] = first;
        m2[i] = second;
        pv[i] = value + stepSize * (first / (std::sqrt(second) / rootBc2 + eps));
    }
}

bool cpuFloat(const torch::Tensor& t) { return t.is_cpu() && t.scalar_type() == torch::kFloat; }

} // namespace

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
        if (cpuFloat(p)) {
            const bool momentum = s.momentum != 0;
            const SgdMode mode = !momentum ? SgdMode::Plain
                                 : s.nesterov ? (m_momentumStarted ? SgdMode::Nesterov : SgdMode::NesterovFirst)
                                              : (m_momentumStarted ? SgdMode::Momentum : SgdMode::MomentumFirst);
            const SgdArgs args{p.data_ptr<float>(), m_grads.data_ptr<float>(), momentum ? m_first.data_ptr<float>() : nullptr,
                               static_cast<float>(s.weightDecay), static_cast<float>(s.momentum), 1.0f,
                               static_cast<float>(-lr)};
            at::parallel_for(0, p.numel(), kGrain,
                             [&](int64_t begin, int64_t end) { sgdRange(mode, s.weightDecay != 0, args, begin, end); });
            m_momentumStarted = momentum;
            return;
        }
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
        if (cpuFloat(p)) {
            const RmspropArgs args{p.data_ptr<float>(), m_grads.data_ptr<float>(), m_first.data_ptr<float>(),
                                   s.momentum > 0 ? m_second.data_ptr<float>() : nullptr,
                                   static_cast<float>(s.weightDecay), static_cast<float>(s.alpha),
                                   static_cast<float>(1 - s.alpha), static_cast<float>(s.eps),
                                   static_cast<float>(s.momentum), static_cast<float>(-lr)};
            at::parallel_for(0, p.numel(), kGrain,
                             [&](int64_t begin, int64_t end) { rmspropRange(s.weightDecay != 0, args, begin, end); });
            return;
        }
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
    if (cpuFloat(p)) {
        // One pass over the four buffers instead of about ten tensor operations.
        const bool adamw = s.type == "adamw";
        const AdamArgs args{p.data_ptr<float>(), m_grads.data_ptr<float>(), m_first.data_ptr<float>(),
                            m_second.data_ptr<float>(), static_cast<float>(adamw ? 1 - lr * s.weightDecay : 1.0),
                            static_cast<float>(adamw ? 0.0 : s.weightDecay), static_cast<float>(s.beta1),
                            static_cast<float>(s.beta2), static_cast<float>(1 - s.beta1), static_cast<float>(1 - s.beta2),
                            static_cast<float>(std::sqrt(biasCorrection2)), static_cast<float>(s.eps),
                            static_cast<float>(-lr / biasCorrection1)};
        at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) { adamRange(args, begin, end); });
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
