// BatchNormRelu (fused_ops.h): BatchNorm2d + ReLU (+ a residual addition).
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

// ---------------------------------------------------------------------------------------
// BatchNorm2d (training) + ReLU on channels-last tensors: rows of C channels
//
// Only the input is kept for the backward pass, with the per-channel mean (as a float) and
// scale: the output is (x - mean) * scale + beta, and the backward pass recomputes the ReLU
// mask with the same float operations. Sums run over x - pivot (forward, the pivot being the
// first row) and over x - mean (backward), so that a large mean next to a small spread does
// not cancel away the variance or the gradient, as E[x^2] - E[x]^2 would.

constexpr int64_t kChunkRows = 64;   // rows summed in float before adding to the double totals

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

// y = relu((x - mean) * scale + beta) [+ skip]
NNLAB_KERNEL void normalizeReluRows(const float* x, const float* mean, const float* scale, const float* beta,
                                    const float* skip, float* y, int64_t C, int64_t begin, int64_t end)
{
    for (int64_t r = begin; r < end; ++r) {
        const float* __restrict in = x + r * C;
        float* __restrict out = y + r * C;
        if (skip) {
            const float* __restrict add = skip + r * C;
            for (int64_t c = 0; c < C; ++c) {
                const float v = (in[c] - mean[c]) * scale[c] + beta[c];
                out[c] = (v < 0.0f ? 0.0f : v) + add[c];
            }
        } else {
            for (int64_t c = 0; c < C; ++c) {
                const float v = (in[c] - mean[c]) * scale[c] + beta[c];
                out[c] = v < 0.0f ? 0.0f : v;   // NaN stays NaN, as relu keeps it
            }
        }
    }
}

// Over rows [begin, end), with gm = g where the forward output was > 0 and 0 elsewhere:
// s[c] += sum of gm, q[c] += sum of gm * (x - mean).
NNLAB_KERNEL void gradSumsRows(const float* x, const float* g, const float* mean, const float* scale, const float* beta,
                               int64_t C, int64_t begin, int64_t end, double* s, double* q)
{
    std::vector<float> buffer(2 * C);
    float* __restrict fs = buffer.data();
    float* __restrict fq = fs + C;
    for (int64_t r0 = begin; r0 < end; r0 += kChunkRows) {
        std::fill(buffer.begin(), buffer.end(), 0.0f);
        for (int64_t r = r0; r < std::min(end, r0 + kChunkRows); ++r) {
            const float* __restrict in = x + r * C;
            const float* __restrict gr = g + r * C;
            for (int64_t c = 0; c < C; ++c) {
                const float d = in[c] - mean[c];
                const float gm = d * scale[c] + beta[c] > 0.0f ? gr[c] : 0.0f;
                fs[c] += gm;
                fq[c] += gm * d;
            }
        }
        for (int64_t c = 0; c < C; ++c) {
            s[c] += fs[c];
            q[c] += fq[c];
        }
    }
}

// gx = A gm + B (x - mean) + D over rows [begin, end)
NNLAB_KERNEL void gradInputRows(const float* x, const float* g, const float* mean, const float* scale, const float* beta,
                                const float* A, const float* B, const float* D, float* gx, int64_t C, int64_t begin,
                                int64_t end)
{
    for (int64_t r = begin; r < end; ++r) {
        const float* __restrict in = x + r * C;
        const float* __restrict gr = g + r * C;
        float* __restrict out = gx + r * C;
        for (int64_t c = 0; c < C; ++c) {
            const float d = in[c] - mean[c];
            const float gm = d * scale[c] + beta[c] > 0.0f ? gr[c] : 0.0f;
            out[c] = A[c] * gm + B[c] * d + D[c];
        }
    }
}

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

struct BatchNormReluFn : public torch::autograd::Function<BatchNormReluFn> {
    // weight, bias, runningMean, runningVar, skip (added to the output): empty when absent
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                                 const torch::Tensor& bias, torch::Tensor runningMean, torch::Tensor runningVar,
                                 double momentum, double eps, const torch::Tensor& skipInput)
    {
        const torch::Tensor x = input.contiguous(at::MemoryFormat::ChannelsLast);
        const torch::Tensor skip = skipInput.numel() ? skipInput.contiguous(at::MemoryFormat::ChannelsLast) : skipInput;
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
        torch::Tensor y = at::empty_like(x, at::MemoryFormat::ChannelsLast);
        float* yp = y.data_ptr<float>();
        const float* sk = skip.numel() ? skip.data_ptr<float>() : nullptr;
        at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) { normalizeReluRows(xp, mf, sc, sh, sk, yp, C, begin, end); });
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
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& weight = saved[1];
        const torch::Tensor gy = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
        const torch::Tensor channels = ctx->saved_data["channels"].toTensor(), invstdT = ctx->saved_data["invstd"].toTensor();
        const int64_t C = x.size(1), rows = x.numel() / C;
        const float *mf = channels.data_ptr<float>(), *sc = mf + C, *sh = mf + 2 * C;
        const double* invstd = invstdT.data_ptr<double>();
        const float *xp = x.data_ptr<float>(), *gp = gy.data_ptr<float>();
        const std::vector<double> sums = channelSums(rows, C, [&](int64_t begin, int64_t end, double* s, double* q) {
            gradSumsRows(xp, gp, mf, sc, sh, C, begin, end, s, q);
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
            gx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
            float* gxp = gx.data_ptr<float>();
            at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
                gradInputRows(xp, gp, mf, sc, sh, A.data(), B.data(), D.data(), gxp, C, begin, end);
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
        return {gx, gWeight, gBias, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), gSkip};
    }
};

} // namespace

BatchNormReluImpl::BatchNormReluImpl(const torch::nn::BatchNorm2dOptions& options_) : options(options_)
{
    // BatchNorm2d's names, shapes and initial values
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
    return !is_training() && !needsGrad && options.track_running_stats() && running_mean.defined() && cpuFloat4d(x)
           && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast
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
    const bool kernel = is_training() && cpuFloat4d(x) && x.size(1) > 0
                        && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast
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
        const torch::Tensor in = x.contiguous(at::MemoryFormat::ChannelsLast);
        const torch::Tensor sk = skip.defined() ? skip.contiguous(at::MemoryFormat::ChannelsLast) : skip;
        const int64_t C = in.size(1), rows = in.numel() / C;
        const torch::Tensor invstd = (running_var.to(torch::kFloat64) + options.eps()).rsqrt();
        const torch::Tensor scale = (options.affine() ? weight.to(torch::kFloat64) * invstd : invstd).to(torch::kFloat).contiguous();
        const torch::Tensor mean = running_mean.to(torch::kFloat).contiguous();
        const torch::Tensor beta = options.affine() ? bias.contiguous() : torch::zeros({C});
        torch::Tensor y = at::empty_like(in, at::MemoryFormat::ChannelsLast);
        const float *xp = in.data_ptr<float>(), *mp = mean.data_ptr<float>(), *sp = scale.data_ptr<float>(),
                    *bp = beta.data_ptr<float>(), *kp = sk.defined() ? sk.data_ptr<float>() : nullptr;
        float* yp = y.data_ptr<float>();
        at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) { normalizeReluRows(xp, mp, sp, bp, kp, yp, C, begin, end); });
        return y;
    }
    if (!kernel) {
        torch::Tensor y = torch::batch_norm(x, weight, bias, running_mean, running_var,
                                            is_training() || !options.track_running_stats(), momentum, options.eps(),
                                            at::globalContext().userEnabledCuDNN());
        torch::relu_(y);
        return skip.defined() ? y + skip : y;
    }
    const bool track = options.track_running_stats() && running_mean.defined();
    const torch::Tensor none;
    return BatchNormReluFn::apply(x, orEmpty(options.affine() ? weight : none, x), orEmpty(options.affine() ? bias : none, x),
                                  orEmpty(track ? running_mean : none, x), orEmpty(track ? running_var : none, x),
                                  momentum, options.eps(), orEmpty(skip, x));
}

} // namespace nnlab::detail
