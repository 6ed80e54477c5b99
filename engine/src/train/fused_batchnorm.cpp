// BatchNormRelu (fused_ops.h): BatchNorm1d/2d, alone or with ReLU or leaky ReLU (+ a residual
// addition).
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

// ---------------------------------------------------------------------------------------
// BatchNorm (training) + an activation on rows of C channels: channels-last 4-D tensors, and
// the [N, C] input of BatchNorm1d, which is the same layout.
//
// Only the input is kept for the backward pass, with the per-channel mean (as a float) and
// scale: the output is act((x - mean) * scale + beta), and the backward pass recomputes the
// activation's slope with the same float operations (and keeps dropout's noise). Sums run
// over x - pivot (forward, the pivot being the first row) and over x - mean (backward), so
// that a large mean next to a small spread does not cancel away the variance or the
// gradient, as E[x^2] - E[x]^2 would.

constexpr int64_t kChunkRows = 64;   // rows summed in float before adding to the double totals

using Act = BatchNormReluImpl::Activation;

// The activation of v, and the gradient below it given the gradient g above it: relu's and
// leaky_relu's formulas (NaN stays NaN; the slope at 0 is the negative side's). Each kernel
// below is a template on it, one plain loop per activation, and an NNLAB_KERNEL entry point.
template <Act A>
inline __attribute__((always_inline)) float activate(float v, float slope)
{
    if constexpr (A == Act::Relu)
        return v < 0.0f ? 0.0f : v;
    else if constexpr (A == Act::LeakyRelu)
        return v > 0.0f ? v : v * slope;
    else
        return v;
}

template <Act A>
inline __attribute__((always_inline)) float below(float v, float g, float slope)
{
    if constexpr (A == Act::Relu)
        return v > 0.0f ? g : 0.0f;
    else if constexpr (A == Act::LeakyRelu)
        return v > 0.0f ? g : g * slope;
    else
        return g;
}

// Over rows [begin, end): s[c] += sum of (x - pivot), q[c] += sum of (x - pivot)^2.
NNLAB_KERNEL void statsRows(const float* x, const float* pivot, int64_t C, int64_t begin, int64_t end, double* s, double* q)
{
    std::vector<float> buffer(2 * C);
    float* __restrict fs = buffer.data();
    float* __restrict fq = fs + C;
    for (int64_t r0 = begin; r0 < end; r0 += kChunkRows) {
        std::fill(buffer.begin(), buffer.end(), 0.0f);
        for (int64_t r = r0; r < std::min(end, r0 + kChunkRows); ++r) {
            const float* __restrict row = x + r * C;
            for (int64_t c = 0; c < C; ++c) {
                const float d = row[c] - pivot[c];
                fs[c] += d;
                fq[c] += d * d;
            }
        }
        for (int64_t c = 0; c < C; ++c) {
            s[c] += fs[c];
            q[c] += fq[c];
        }
    }
}

// What follows the normalization: the activation's slope (leaky ReLU) and dropout's noise
// (0 or 1 per element, drawn as dropout draws it) with its scale 1 / (1 - p).
struct Tail {
    float slope = 0.0f;
    const float* noise = nullptr;
    float keep = 1.0f;
};

// Each kernel below is a template on the activation and on dropout (one plain loop each),
// with an NNLAB_KERNEL entry point that picks the instance.
#define NNLAB_BN_INSTANCE(fn, act, drop, ...)                                                                        \
    switch (act) {                                                                                                 \
    case Act::None: drop ? fn<Act::None, true>(__VA_ARGS__) : fn<Act::None, false>(__VA_ARGS__); break;           \
    case Act::Relu: drop ? fn<Act::Relu, true>(__VA_ARGS__) : fn<Act::Relu, false>(__VA_ARGS__); break;           \
    case Act::LeakyRelu: drop ? fn<Act::LeakyRelu, true>(__VA_ARGS__) : fn<Act::LeakyRelu, false>(__VA_ARGS__); break; \
    }

// y = dropout(act((x - mean) * scale + beta)) [+ skip]; dropout as LibTorch's: the output
// times (noise / (1 - p)), that factor computed first.
template <Act A, bool Drop>
inline __attribute__((always_inline)) void normalizeRowsT(const float* x, const float* meanIn, const float* scaleIn,
                                                          const float* betaIn, const float* skip, float* y, int64_t C,
                                                          int64_t begin, int64_t end, const Tail& tail)
{
    // restrict, locals and ivdep: without them GCC's run-time overlap checks sent the loops
    // to their scalar versions (gradSumsRows was 8% of a ResNet-20 step, scalar)
    const float* __restrict mean = meanIn;
    const float* __restrict scale = scaleIn;
    const float* __restrict beta = betaIn;
    const Tail t = tail;
    for (int64_t r = begin; r < end; ++r) {
        const float* __restrict in = x + r * C;
        float* __restrict out = y + r * C;
        if constexpr (Drop) {
            const float* __restrict noise = t.noise + r * C;
            #pragma GCC ivdep
            for (int64_t c = 0; c < C; ++c)
                out[c] = activate<A>((in[c] - mean[c]) * scale[c] + beta[c], t.slope) * (noise[c] * t.keep);
        } else if (skip) {
            const float* __restrict add = skip + r * C;
            #pragma GCC ivdep
            for (int64_t c = 0; c < C; ++c)
                out[c] = activate<A>((in[c] - mean[c]) * scale[c] + beta[c], t.slope) + add[c];
        } else {
            #pragma GCC ivdep
            for (int64_t c = 0; c < C; ++c)
                out[c] = activate<A>((in[c] - mean[c]) * scale[c] + beta[c], t.slope);
        }
    }
}

NNLAB_KERNEL void normalizeRows(Act act, const Tail& t, const float* x, const float* mean, const float* scale,
                                const float* beta, const float* skip, float* y, int64_t C, int64_t begin, int64_t end)
{
    NNLAB_BN_INSTANCE(normalizeRowsT, act, t.noise != nullptr, x, mean, scale, beta, skip, y, C, begin, end, t)
}

// The gradient below the tail at one element: through dropout's factor, then the activation.
template <Act A, bool Drop>
inline __attribute__((always_inline)) float gradBelow(float v, const float* gr, const float* noise, int64_t c, const Tail& t)
{
    if constexpr (Drop)
        return below<A>(v, gr[c] * (noise[c] * t.keep), t.slope);
    else
        return below<A>(v, gr[c], t.slope);
}

// Over rows [begin, end), with gm the gradient below the tail (for a ReLU: g where its
// output was > 0, else 0): s[c] += sum of gm, q[c] += sum of gm * (x - mean).
template <Act A, bool Drop>
inline __attribute__((always_inline)) void gradSumsRowsT(const float* x, const float* g, const float* meanIn,
                                                         const float* scaleIn, const float* betaIn, int64_t C,
                                                         int64_t begin, int64_t end, double* s, double* q, const Tail& tail)
{
    const float* __restrict mean = meanIn;
    const float* __restrict scale = scaleIn;
    const float* __restrict beta = betaIn;
    const Tail t = tail;
    std::vector<float> buffer(2 * C);
    float* __restrict fs = buffer.data();
    float* __restrict fq = fs + C;
    for (int64_t r0 = begin; r0 < end; r0 += kChunkRows) {
        std::fill(buffer.begin(), buffer.end(), 0.0f);
        for (int64_t r = r0; r < std::min(end, r0 + kChunkRows); ++r) {
            const float* __restrict in = x + r * C;
            const float* __restrict gr = g + r * C;
            const float* __restrict noise = Drop ? t.noise + r * C : nullptr;
            #pragma GCC ivdep
            for (int64_t c = 0; c < C; ++c) {
                const float d = in[c] - mean[c];
                const float gm = gradBelow<A, Drop>(d * scale[c] + beta[c], gr, noise, c, t);
                fs[c] += gm;
                fq[c] += gm * d;
            }
        }
        #pragma GCC ivdep
        for (int64_t c = 0; c < C; ++c) {
            s[c] += fs[c];
            q[c] += fq[c];
        }
    }
}

NNLAB_KERNEL void gradSumsRows(Act act, const Tail& t, const float* x, const float* g, const float* mean,
                               const float* scale, const float* beta, int64_t C, int64_t begin, int64_t end, double* s,
                               double* q)
{
    NNLAB_BN_INSTANCE(gradSumsRowsT, act, t.noise != nullptr, x, g, mean, scale, beta, C, begin, end, s, q, t)
}

// gx = A gm + B (x - mean) + D over rows [begin, end)
template <Act Ac, bool Drop>
inline __attribute__((always_inline)) void gradInputRowsT(const float* x, const float* g, const float* meanIn,
                                                          const float* scaleIn, const float* betaIn, const float* AIn,
                                                          const float* BIn, const float* DIn, float* gx, int64_t C,
                                                          int64_t begin, int64_t end, const Tail& tail)
{
    const float* __restrict mean = meanIn;
    const float* __restrict scale = scaleIn;
    const float* __restrict beta = betaIn;
    const float* __restrict A = AIn;
    const float* __restrict B = BIn;
    const float* __restrict D = DIn;
    const Tail t = tail;
    for (int64_t r = begin; r < end; ++r) {
        const float* __restrict in = x + r * C;
        const float* __restrict gr = g + r * C;
        const float* __restrict noise = Drop ? t.noise + r * C : nullptr;
        float* __restrict out = gx + r * C;
        #pragma GCC ivdep
        for (int64_t c = 0; c < C; ++c) {
            const float d = in[c] - mean[c];
            const float gm = gradBelow<Ac, Drop>(d * scale[c] + beta[c], gr, noise, c, t);
            out[c] = A[c] * gm + B[c] * d + D[c];
        }
    }
}

NNLAB_KERNEL void gradInputRows(Act act, const Tail& t, const float* x, const float* g, const float* mean,
                                const float* scale, const float* beta, const float* A, const float* B, const float* D,
                                float* gx, int64_t C, int64_t begin, int64_t end)
{
    NNLAB_BN_INSTANCE(gradInputRowsT, act, t.noise != nullptr, x, g, mean, scale, beta, A, B, D, gx, C, begin, end, t)
}

#undef NNLAB_BN_INSTANCE

// Per-channel sums over `rows` rows by rowsFn(begin, end, s, q), split among threads and
// combined in double: the first C values are s, the next C are q.
template <typename RowsFn>
std::vector<double> channelSums(int64_t rows, int64_t C, RowsFn rowsFn)
{
    const int threads = at::get_num_threads();
    std::vector<double> partial(static_cast<size_t>(threads) * 2 * C, 0.0);
    at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
        double* s = partial.data() + static_cast<size_t>(at::get_thread_num()) * 2 * C;
        rowsFn(begin, end, s, s + C);
    });
    std::vector<double> total(2 * C, 0.0);
    for (int t = 0; t < threads; ++t)
        for (int64_t i = 0; i < 2 * C; ++i)
            total[i] += partial[static_cast<size_t>(t) * 2 * C + i];
    return total;
}

torch::Tensor channelTensor(const std::vector<double>& values, torch::ScalarType type)
{
    return torch::tensor(values, torch::kFloat64).to(type);
}

// The rows layout of an input the kernels take: channels-last 4-D, or [N, C].
at::MemoryFormat rowsFormat(const torch::Tensor& x)
{
    return x.dim() == 4 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// A CPU float input whose rows are channels: 4-D suggested channels-last (what the tuned
// convolutions write) or 2-D, with more than one value per channel (batch_norm throws
// otherwise in training, and the fallback lets it).
bool rowsInput(const torch::Tensor& x)
{
    if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat || x.numel() == 0 || x.size(1) == 0)
        return false;
    if (x.dim() == 2)
        return x.size(0) > 1;
    return x.dim() == 4 && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast && x.numel() / x.size(1) > 1;
}

struct BatchNormReluFn : public torch::autograd::Function<BatchNormReluFn> {
    // weight, bias, runningMean, runningVar, skip (added to the output): empty when absent
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                                 const torch::Tensor& bias, torch::Tensor runningMean, torch::Tensor runningVar,
                                 double momentum, double eps, int64_t activation, double negativeSlope,
                                 double dropout, const torch::Tensor& skipInput)
    {
        const at::MemoryFormat format = rowsFormat(input);
        const Act act = static_cast<Act>(activation);
        const torch::Tensor x = input.contiguous(format);
        // dropout's noise as dropout draws it (2-D inputs: the same element order)
        const torch::Tensor noise = dropout > 0 ? at::empty_like(x).bernoulli_(1 - dropout) : torch::Tensor();
        const Tail tail{static_cast<float>(negativeSlope), noise.defined() ? noise.data_ptr<float>() : nullptr,
                        noise.defined() ? 1.0f / static_cast<float>(1 - dropout) : 1.0f};
        const torch::Tensor skip = skipInput.numel() ? skipInput.contiguous(format) : skipInput;
        const int64_t C = x.size(1), rows = x.numel() / C;
        const float* xp = x.data_ptr<float>();
        const std::vector<float> pivot(xp, xp + C);
        const std::vector<double> sums = channelSums(rows, C, [&](int64_t begin, int64_t end, double* s, double* q) {
            statsRows(xp, pivot.data(), C, begin, end, s, q);
        });
        std::vector<double> mean(C), var(C);
        // saved for the backward pass: mean (as float), scale, shift in one tensor, 1/std in double
        torch::Tensor channels = at::empty({3 * C}, x.options()), invstdT = at::empty({C}, x.options().dtype(torch::kFloat64));
        float *mf = channels.data_ptr<float>(), *sc = mf + C, *sh = mf + 2 * C;
        double* invstd = invstdT.data_ptr<double>();
        const float* gamma = weight.numel() ? weight.data_ptr<float>() : nullptr;
        const float* beta = bias.numel() ? bias.data_ptr<float>() : nullptr;
        const double m = static_cast<double>(rows);
        for (int64_t c = 0; c < C; ++c) {
            const double shifted = sums[c] / m;
            mean[c] = pivot[c] + shifted;
            var[c] = std::max(0.0, sums[C + c] / m - shifted * shifted);
            invstd[c] = 1.0 / std::sqrt(var[c] + eps);
            mf[c] = static_cast<float>(mean[c]);
            sc[c] = static_cast<float>((gamma ? gamma[c] : 1.0) * invstd[c]);
            sh[c] = beta ? beta[c] : 0.0f;
        }
        torch::Tensor y = at::empty_like(x, format);
        float* yp = y.data_ptr<float>();
        const float* sk = skip.numel() ? skip.data_ptr<float>() : nullptr;
        at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
            normalizeRows(act, tail, xp, mf, sc, sh, sk, yp, C, begin, end);
        });
        if (runningMean.numel()) {   // as batch_norm does: the variance it tracks is unbiased
            const double unbias = rows > 1 ? m / (m - 1.0) : 1.0;
            if (runningMean.is_contiguous() && runningVar.is_contiguous() && runningMean.scalar_type() == torch::kFloat
                && runningVar.scalar_type() == torch::kFloat) {
                float *rm = runningMean.data_ptr<float>(), *rv = runningVar.data_ptr<float>();
                for (int64_t c = 0; c < C; ++c) {
                    rm[c] = static_cast<float>((1.0 - momentum) * rm[c] + momentum * mean[c]);
                    rv[c] = static_cast<float>((1.0 - momentum) * rv[c] + momentum * var[c] * unbias);
                }
            } else {
                std::vector<double> varUnbiased(var);
                for (double& v : varUnbiased)
                    v *= unbias;
                runningMean.mul_(1.0 - momentum).add_(channelTensor(mean, runningMean.scalar_type()), momentum);
                runningVar.mul_(1.0 - momentum).add_(channelTensor(varUnbiased, runningVar.scalar_type()), momentum);
            }
        }
        ctx->save_for_backward({x, weight});
        ctx->saved_data["channels"] = channels;
        ctx->saved_data["invstd"] = invstdT;
        ctx->saved_data["skip"] = skip.numel() > 0;
        ctx->saved_data["activation"] = activation;
        ctx->saved_data["slope"] = negativeSlope;
        ctx->saved_data["dropout"] = dropout;
        if (noise.defined())
            ctx->saved_data["noise"] = noise;
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& weight = saved[1];
        const at::MemoryFormat format = rowsFormat(x);
        const Act act = static_cast<Act>(ctx->saved_data["activation"].toInt());
        const double dropout = ctx->saved_data["dropout"].toDouble();
        const torch::Tensor noise = dropout > 0 ? ctx->saved_data["noise"].toTensor() : torch::Tensor();
        const Tail tail{static_cast<float>(ctx->saved_data["slope"].toDouble()),
                        noise.defined() ? noise.data_ptr<float>() : nullptr,
                        noise.defined() ? 1.0f / static_cast<float>(1 - dropout) : 1.0f};
        const torch::Tensor gy = grads[0].contiguous(format);
        const torch::Tensor channels = ctx->saved_data["channels"].toTensor(), invstdT = ctx->saved_data["invstd"].toTensor();
        const int64_t C = x.size(1), rows = x.numel() / C;
        const float *mf = channels.data_ptr<float>(), *sc = mf + C, *sh = mf + 2 * C;
        const double* invstd = invstdT.data_ptr<double>();
        const float *xp = x.data_ptr<float>(), *gp = gy.data_ptr<float>();
        const std::vector<double> sums = channelSums(rows, C, [&](int64_t begin, int64_t end, double* s, double* q) {
            gradSumsRows(act, tail, xp, gp, mf, sc, sh, C, begin, end, s, q);
        });
        // sumG = sum of gm, sumGXhat = sum of gm * xhat, xhat = (x - mean) invstd
        std::vector<double> sumG(C), sumGXhat(C);
        for (int64_t c = 0; c < C; ++c) {
            sumG[c] = sums[c];
            sumGXhat[c] = invstd[c] * sums[C + c];
        }
        torch::Tensor gx;
        if (ctx->needs_input_grad(0)) {
            // gx = k (gm - sumG/M - xhat sumGXhat/M), k = gamma invstd: A gm + B (x - mean) + D
            const float* gamma = weight.numel() ? weight.data_ptr<float>() : nullptr;
            std::vector<float> A(C), B(C), D(C);
            const double m = static_cast<double>(rows);
            for (int64_t c = 0; c < C; ++c) {
                const double k = (gamma ? gamma[c] : 1.0) * invstd[c];
                A[c] = static_cast<float>(k);
                B[c] = static_cast<float>(-k * invstd[c] * sumGXhat[c] / m);
                D[c] = static_cast<float>(-k * sumG[c] / m);
            }
            gx = at::empty_like(x, format);
            float* gxp = gx.data_ptr<float>();
            at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
                gradInputRows(act, tail, xp, gp, mf, sc, sh, A.data(), B.data(), D.data(), gxp, C, begin, end);
            });
        }
        torch::Tensor gWeight, gBias;
        if (weight.numel()) {
            gWeight = at::empty({C}, weight.options().requires_grad(false));
            gBias = at::empty({C}, weight.options().requires_grad(false));
            for (int64_t c = 0; c < C; ++c) {
                gWeight.data_ptr<float>()[c] = static_cast<float>(sumGXhat[c]);
                gBias.data_ptr<float>()[c] = static_cast<float>(sumG[c]);
            }
        }
        // the skip input's gradient is the output's
        const torch::Tensor gSkip = ctx->saved_data["skip"].toBool() ? grads[0] : torch::Tensor();
        const torch::Tensor none;
        return {gx, gWeight, gBias, none, none, none, none, none, none, none, gSkip};
    }
};

} // namespace

BatchNormReluImpl::BatchNormReluImpl(const torch::nn::BatchNorm2dOptions& options_, Activation activation,
                                     double negativeSlope, double dropout)
    : options(options_), m_activation(activation), m_negativeSlope(negativeSlope), m_dropout(dropout)
{
    TORCH_CHECK(dropout >= 0.0 && dropout < 1.0, "BatchNormRelu: dropout p must be in [0, 1)");
    // BatchNorm1d's and BatchNorm2d's names, shapes and initial values
    if (options.affine()) {
        weight = register_parameter("weight", torch::ones({options.num_features()}));
        bias = register_parameter("bias", torch::zeros({options.num_features()}));
    }
    if (options.track_running_stats()) {
        running_mean = register_buffer("running_mean", torch::zeros({options.num_features()}));
        running_var = register_buffer("running_var", torch::ones({options.num_features()}));
        num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
    }
}

bool BatchNormReluImpl::evaluationKernelApplies(const torch::Tensor& x, const torch::Tensor& skip) const
{
    const bool needsGrad = torch::GradMode::is_enabled()
                           && (x.requires_grad() || (skip.defined() && skip.requires_grad())
                               || (options.affine() && weight.requires_grad()));
    const bool rows = x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.numel() > 0
                      && ((x.dim() == 2 && x.size(1) > 0)
                          || (cpuFloat4d(x) && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast));
    return !is_training() && !needsGrad && options.track_running_stats() && running_mean.defined() && rows
           && (!options.affine() || (weight.scalar_type() == torch::kFloat && bias.scalar_type() == torch::kFloat))
           && (!skip.defined() || (skip.sizes() == x.sizes() && skip.scalar_type() == torch::kFloat && skip.device() == x.device()));
}

torch::Tensor BatchNormReluImpl::forward(const torch::Tensor& x)
{
    return forwardAdd(x, torch::Tensor());
}

torch::Tensor BatchNormReluImpl::forwardAdd(const torch::Tensor& x, const torch::Tensor& skip)
{
    RECORD_FUNCTION("nnlab::BatchNormRelu", std::vector<c10::IValue>());
    // as torch::nn's BatchNorm modules check (at::batch_norm would return the bias)
    TORCH_CHECK(x.dim() >= 2, "BatchNorm: expected an input with a batch and a channel dimension, got ", x.sizes());
    TORCH_CHECK(!is_training() || x.numel() != x.size(1), "Expected more than 1 value per channel when training, got input size ",
                x.sizes());
    const bool kernel = is_training() && rowsInput(x) && (m_dropout == 0 || (x.dim() == 2 && !skip.defined()))
                        && (!options.affine() || (weight.scalar_type() == torch::kFloat && bias.scalar_type() == torch::kFloat))
                        && (!skip.defined() || (skip.sizes() == x.sizes() && skip.scalar_type() == torch::kFloat
                                                && skip.device() == x.device()));
    // The running statistics as BatchNormImplBase::forward keeps them.
    double momentum = options.momentum().value_or(0.0);
    if (is_training() && options.track_running_stats() && num_batches_tracked.defined()) {
        if (num_batches_tracked.is_cpu() && num_batches_tracked.scalar_type() == torch::kLong)
            ++*num_batches_tracked.data_ptr<int64_t>();
        else
            num_batches_tracked += 1;
        if (!options.momentum())
            momentum = 1.0 / num_batches_tracked.item<double>();
    }
    if (!kernel && evaluationKernelApplies(x, skip)) {
        // Evaluation with the running statistics, no autograd: the output pass alone.
        const at::MemoryFormat format = rowsFormat(x);
        const torch::Tensor in = x.contiguous(format);
        const torch::Tensor sk = skip.defined() ? skip.contiguous(format) : skip;
        const int64_t C = in.size(1), rows = in.numel() / C;
        const torch::Tensor invstd = (running_var.to(torch::kFloat64) + options.eps()).rsqrt();
        const torch::Tensor scale = (options.affine() ? weight.to(torch::kFloat64) * invstd : invstd).to(torch::kFloat).contiguous();
        const torch::Tensor mean = running_mean.to(torch::kFloat).contiguous();
        const torch::Tensor beta = options.affine() ? bias.contiguous() : torch::zeros({C});
        torch::Tensor y = at::empty_like(in, format);
        const float *xp = in.data_ptr<float>(), *mp = mean.data_ptr<float>(), *sp = scale.data_ptr<float>(),
                    *bp = beta.data_ptr<float>(), *kp = sk.defined() ? sk.data_ptr<float>() : nullptr;
        float* yp = y.data_ptr<float>();
        const Tail tail{static_cast<float>(m_negativeSlope)};
        at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
            normalizeRows(m_activation, tail, xp, mp, sp, bp, kp, yp, C, begin, end);
        });
        return y;
    }
    if (!kernel) {
        torch::Tensor y = torch::batch_norm(x, weight, bias, running_mean, running_var,
                                            is_training() || !options.track_running_stats(), momentum, options.eps(),
                                            at::globalContext().userEnabledCuDNN());
        if (m_activation == Activation::Relu)
            torch::relu_(y);
        else if (m_activation == Activation::LeakyRelu)
            torch::leaky_relu_(y, m_negativeSlope);
        if (m_dropout > 0 && is_training())
            y = torch::dropout(y, m_dropout, true);
        return skip.defined() ? y + skip : y;
    }
    const bool track = options.track_running_stats() && running_mean.defined();
    const torch::Tensor none;
    return BatchNormReluFn::apply(x, orEmpty(options.affine() ? weight : none, x), orEmpty(options.affine() ? bias : none, x),
                                  orEmpty(track ? running_mean : none, x), orEmpty(track ? running_var : none, x),
                                  momentum, options.eps(), static_cast<int64_t>(m_activation), m_negativeSlope,
                                  m_dropout, orEmpty(skip, x));
}

} // namespace nnlab::detail
