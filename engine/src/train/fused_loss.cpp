// crossEntropy (fused_ops.h): log_softmax + nll_loss (mean) as one autograd node.
//
// LibTorch's cross_entropy is two nodes and, with the mean, about six operator calls forward
// and backward, each a dispatch that costs more than the arithmetic on a small classifier's
// [batch, classes] logits. Here one pass per row computes the row's maximum and log-sum-exp
// and the loss term; the backward pass writes softmax - one-hot, scaled, in one pass. The
// terms are log_softmax's: out = (x - max) - log(sum exp(x - max)), gradient
// exp(out) * g / N minus g / N at the target.
#include "builder.h"   // fusionEnabled
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

// Rows [begin, end) of x [N, K]: rowMax, rowLogSum (log of the sum of exp(x - max)) and the
// row's loss term -out[target].
NNLAB_KERNEL void crossEntropyRows(const float* x, const int64_t* target, int64_t K, int64_t begin, int64_t end,
                                   float* rowMax, float* rowLogSum, double* lossSum)
{
    double sum = 0.0;
    for (int64_t r = begin; r < end; ++r) {
        const float* __restrict row = x + r * K;
        float m = row[0];
        for (int64_t k = 1; k < K; ++k)
            m = std::max(m, row[k]);   // a NaN anywhere makes the row's loss NaN below
        float s = 0.0f;
        for (int64_t k = 0; k < K; ++k)
            s += std::exp(row[k] - m);
        const float logSum = std::log(s);
        rowMax[r] = m;
        rowLogSum[r] = logSum;
        sum -= static_cast<double>((row[target[r]] - m) - logSum);
    }
    *lossSum += sum;
}

// gx = exp(out) * scale - (k == target) * scale, scale = g / N
NNLAB_KERNEL void crossEntropyGradRows(const float* x, const int64_t* target, const float* rowMax,
                                       const float* rowLogSum, float scale, int64_t K, int64_t begin, int64_t end,
                                       float* gx)
{
    for (int64_t r = begin; r < end; ++r) {
        const float* __restrict row = x + r * K;
        float* __restrict out = gx + r * K;
        const float m = rowMax[r], logSum = rowLogSum[r];
        for (int64_t k = 0; k < K; ++k)
            out[k] = std::exp((row[k] - m) - logSum) * scale;
        out[target[r]] -= scale;
    }
}

struct CrossEntropyFn : public torch::autograd::Function<CrossEntropyFn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& targets)
    {
        const torch::Tensor x = logits.contiguous();
        const torch::Tensor t = targets.contiguous();
        const int64_t N = x.size(0), K = x.size(1);
        torch::Tensor rows = at::empty({2, N}, x.options());
        float *rowMax = rows.data_ptr<float>(), *rowLogSum = rowMax + N;
        double lossSum = 0.0;
        crossEntropyRows(x.data_ptr<float>(), t.data_ptr<int64_t>(), K, 0, N, rowMax, rowLogSum, &lossSum);
        ctx->save_for_backward({x, t, rows});
        return torch::scalar_tensor(lossSum / static_cast<double>(N), x.options());
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &t = saved[1], &rows = saved[2];
        const int64_t N = x.size(0), K = x.size(1);
        const float scale = grads[0].item<float>() / static_cast<float>(N);
        torch::Tensor gx = at::empty_like(x);
        const float* rowMax = rows.data_ptr<float>();
        crossEntropyGradRows(x.data_ptr<float>(), t.data_ptr<int64_t>(), rowMax, rowMax + N, scale, K, 0, N,
                             gx.data_ptr<float>());
        return {gx, torch::Tensor()};
    }
};

} // namespace

torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& target)
{
    static const bool enabled = fusionEnabled();   // NNLAB_FUSED_OPS=0 measures LibTorch's
    const bool kernel = enabled && logits.device().is_cpu() && logits.scalar_type() == torch::kFloat && logits.dim() == 2
                        && logits.size(0) > 0 && logits.size(1) > 0 && target.device().is_cpu()
                        && target.scalar_type() == torch::kLong && target.dim() == 1 && target.size(0) == logits.size(0)
                        && target.is_contiguous();
    if (kernel) {
        // Targets outside [0, K) (ignore_index, mistakes) go to LibTorch, which says what is wrong.
        const int64_t* t = target.data_ptr<int64_t>();
        const int64_t K = logits.size(1);
        bool inRange = true;
        for (int64_t i = 0; i < target.size(0); ++i)
            inRange = inRange && t[i] >= 0 && t[i] < K;
        if (inRange)
            return CrossEntropyFn::apply(logits, target);
    }
    return torch::nn::functional::cross_entropy(logits, target);
}

} // namespace nnlab::detail
