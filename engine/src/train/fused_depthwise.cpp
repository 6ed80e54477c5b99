// Depthwise convolution (fused_ops.h): Conv2d with groups = in = out channels, channels-last.
//
// LibTorch 1.13 runs a training depthwise convolution through its generic grouped path:
// 6-25 ms forward + backward for one MobileNet layer at batch 64 on one core, at 1-10 GFLOP/s,
// while the arithmetic is a few tens of MFLOP. Here each pass is a direct loop over NHWC
// tensors with the channels innermost (16 per vector), so every tap of the kernel is one
// vector multiply-add: forward, the input gradient (gathered, each written once) and the
// weight and bias gradients (register sums per row, added up in double).
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

// 16 floats as one value (see fused_conv_pool.cpp): a register on AVX-512, two on AVX2.
typedef float V16 __attribute__((vector_size(64)));
#pragma GCC diagnostic ignored "-Wpsabi"

#define NNLAB_DW_INLINE __attribute__((always_inline)) inline

constexpr int64_t B = 16;

// `count` (1-16) floats from p; the rest zero. The full case is one unaligned load.
template <bool Full>
NNLAB_DW_INLINE V16 load(const float* p, int64_t count)
{
    V16 v{};
    if (Full)
        std::memcpy(&v, p, sizeof v);
    else
        std::memcpy(&v, p, sizeof(float) * static_cast<size_t>(count));
    return v;
}

template <bool Full>
NNLAB_DW_INLINE void store(float* p, V16 v, int64_t count)
{
    if (Full)
        std::memcpy(p, &v, sizeof v);
    else
        std::memcpy(p, &v, sizeof(float) * static_cast<size_t>(count));
}

struct DwGeometry {
    int64_t n, c, h, w;   // input, NHWC
    int64_t k, s, p;      // square kernel, stride, zero padding
    int64_t oh, ow;       // output
};

// Calls f.template operator()<Full>(cb, count) for each block of 16 channels, the last one
// possibly partial.
template <typename F>
NNLAB_DW_INLINE void channelBlocks(int64_t C, F&& f)
{
    int64_t cb = 0;
    for (; cb + B <= C; cb += B)
        f(std::true_type{}, cb, B);
    if (cb < C)
        f(std::false_type{}, cb, C - cb);
}

// Output rows [begin, end), a row being (n, oh). wt is [kh][kw][c]; bias has c entries or is
// null. Where a window lies inside the input's width, four neighbouring outputs are summed
// side by side: four independent multiply-add chains (one chain waits on each addition's
// latency) sharing each weight load.
NNLAB_KERNEL void dwForwardRows(const DwGeometry& g, const float* x, const float* wt, const float* bias, float* y,
                                int64_t begin, int64_t end)
{
    const int64_t C = g.c, K = g.k, S = g.s;
    for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / g.oh, oh = r % g.oh, ih0 = oh * g.s - g.p;
        const int64_t khLo = std::max<int64_t>(0, -ih0), khHi = std::min<int64_t>(K, g.h - ih0);
        const float* image = x + n * g.h * g.w * C;
        float* out = y + r * g.ow * C;
        for (int64_t ow = 0; ow < g.ow;) {
            const int64_t iw0 = ow * S - g.p;
            if (ow + 4 <= g.ow && iw0 >= 0 && iw0 + 3 * S + K <= g.w) {
                channelBlocks(C, [&](auto full, int64_t cb, int64_t count) {
                    constexpr bool Full = decltype(full)::value;
                    V16 a0 = bias ? load<Full>(bias + cb, count) : V16{}, a1 = a0, a2 = a0, a3 = a0;
                    for (int64_t kh = khLo; kh < khHi; ++kh) {
                        const float* xr = image + ((ih0 + kh) * g.w + iw0) * C + cb;
                        const float* wr = wt + kh * K * C + cb;
                        for (int64_t kw = 0; kw < K; ++kw) {
                            const V16 w = load<Full>(wr + kw * C, count);
                            const float* p = xr + kw * C;
                            a0 += load<Full>(p, count) * w;
                            a1 += load<Full>(p + S * C, count) * w;
                            a2 += load<Full>(p + 2 * S * C, count) * w;
                            a3 += load<Full>(p + 3 * S * C, count) * w;
                        }
                    }
                    float* o = out + ow * C + cb;
                    store<Full>(o, a0, count);
                    store<Full>(o + C, a1, count);
                    store<Full>(o + 2 * C, a2, count);
                    store<Full>(o + 3 * C, a3, count);
                });
                ow += 4;
                continue;
            }
            const int64_t kwLo = std::max<int64_t>(0, -iw0), kwHi = std::min<int64_t>(K, g.w - iw0);
            channelBlocks(C, [&](auto full, int64_t cb, int64_t count) {
                constexpr bool Full = decltype(full)::value;
                V16 acc = bias ? load<Full>(bias + cb, count) : V16{};
                for (int64_t kh = khLo; kh < khHi; ++kh) {
                    const float* xr = image + ((ih0 + kh) * g.w + iw0) * C + cb;
                    const float* wr = wt + kh * K * C + cb;
                    for (int64_t kw = kwLo; kw < kwHi; ++kw)
                        acc += load<Full>(xr + kw * C, count) * load<Full>(wr + kw * C, count);
                }
                store<Full>(out + ow * C + cb, acc, count);
            });
            ++ow;
        }
    }
}

// The input gradient of images [begin, end): each output's gradient is scattered, times
// the K*K weights, into a zero-padded copy of the image (so no tap needs a bounds check),
// whose inside is then copied out. Per channel block the weights stay in registers.
template <int K>
NNLAB_DW_INLINE void dwInputGradImagesT(const DwGeometry& g, const float* gy, const float* wt, float* gx,
                                        int64_t begin, int64_t end)
{
    const int64_t C = g.c, S = g.s, Hp = g.h + 2 * g.p, Wp = g.w + 2 * g.p;
    std::vector<float> padded(static_cast<size_t>(Hp * Wp * C));
    for (int64_t n = begin; n < end; ++n) {
        std::fill(padded.begin(), padded.end(), 0.0f);
        const float* grad = gy + n * g.oh * g.ow * C;
        channelBlocks(C, [&](auto full, int64_t cb, int64_t count) {
            constexpr bool Full = decltype(full)::value;
            V16 w[K * K];
            for (int t = 0; t < K * K; ++t)
                w[t] = load<Full>(wt + t * C + cb, count);
            for (int64_t oh = 0; oh < g.oh; ++oh)
                for (int64_t ow = 0; ow < g.ow; ++ow) {
                    const V16 gv = load<Full>(grad + (oh * g.ow + ow) * C + cb, count);
                    float* corner = padded.data() + (oh * S * Wp + ow * S) * C + cb;
#pragma GCC unroll 8
                    for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 8
                        for (int kw = 0; kw < K; ++kw) {
                            float* q = corner + (kh * Wp + kw) * C;
                            store<Full>(q, load<Full>(q, count) + gv * w[kh * K + kw], count);
                        }
                }
        });
        for (int64_t h = 0; h < g.h; ++h)
            std::memcpy(gx + (n * g.h + h) * g.w * C, padded.data() + ((h + g.p) * Wp + g.p) * C,
                        sizeof(float) * static_cast<size_t>(g.w * C));
    }
}

NNLAB_KERNEL void dwInputGradImages(const DwGeometry& g, const float* gy, const float* wt, float* gx, int64_t begin,
                                    int64_t end)
{
    if (g.k == 3)
        dwInputGradImagesT<3>(g, gy, wt, gx, begin, end);
    else
        dwInputGradImagesT<5>(g, gy, wt, gx, begin, end);
}

// Weight and bias gradient sums over output rows [begin, end), into dw ([kh][kw][c]) and db
// (c), in double. Each image is first copied with its zero padding into `padded`, so that
// every tap of every window is inside it: the K*K sums of an image and channel block then
// stay in registers through fully unrolled loops without bounds checks.
template <int K>
NNLAB_DW_INLINE void dwWeightGradRowsT(const DwGeometry& g, const float* x, const float* gy, double* dw, double* db,
                                       int64_t begin, int64_t end)
{
    const int64_t C = g.c, S = g.s, Hp = g.h + 2 * g.p, Wp = g.w + 2 * g.p;
    std::vector<float> padded(static_cast<size_t>(Hp * Wp * C), 0.0f);
    for (int64_t r0 = begin; r0 < end;) {
        // the rows of one image: copied once, summed in registers across all of them (one
        // image's rows at most, ~1,000 terms, before the double sums)
        const int64_t n = r0 / g.oh, r1 = std::min(end, (n + 1) * g.oh);
        const float* image = x + n * g.h * g.w * C;
        for (int64_t h = 0; h < g.h; ++h)
            std::memcpy(padded.data() + ((h + g.p) * Wp + g.p) * C, image + h * g.w * C,
                        sizeof(float) * static_cast<size_t>(g.w * C));
        channelBlocks(C, [&](auto full, int64_t cb, int64_t count) {
            constexpr bool Full = decltype(full)::value;
            V16 acc[K * K];
            for (int t = 0; t < K * K; ++t)
                acc[t] = V16{};
            V16 bsum{};
            for (int64_t r = r0; r < r1; ++r) {
                const float* rows = padded.data() + (r % g.oh) * S * Wp * C;   // the window's first row
                const float* grad = gy + r * g.ow * C;
                for (int64_t ow = 0; ow < g.ow; ++ow) {
                    const V16 gv = load<Full>(grad + ow * C + cb, count);
                    bsum += gv;
                    const float* corner = rows + ow * S * C + cb;
#pragma GCC unroll 8
                    for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 8
                        for (int kw = 0; kw < K; ++kw)
                            acc[kh * K + kw] += load<Full>(corner + (kh * Wp + kw) * C, count) * gv;
                }
            }
            for (int t = 0; t < K * K; ++t)
                for (int64_t c = 0; c < count; ++c)
                    dw[t * C + cb + c] += acc[t][c];
            for (int64_t c = 0; c < count; ++c)
                db[cb + c] += bsum[c];
        });
        r0 = r1;
    }
}

NNLAB_KERNEL void dwWeightGradRows(const DwGeometry& g, const float* x, const float* gy, double* dw, double* db,
                                   int64_t begin, int64_t end)
{
    if (g.k == 3)
        dwWeightGradRowsT<3>(g, x, gy, dw, db, begin, end);
    else
        dwWeightGradRowsT<5>(g, x, gy, dw, db, begin, end);
}

// The weight [C, 1, K, K] (any strides) as [kh][kw][c].
std::vector<float> tapsMajor(const torch::Tensor& weight)
{
    const int64_t C = weight.size(0), K = weight.size(2);
    std::vector<float> wt(static_cast<size_t>(K * K * C));
    const auto w = weight.accessor<float, 4>();
    for (int64_t c = 0; c < C; ++c)
        for (int64_t kh = 0; kh < K; ++kh)
            for (int64_t kw = 0; kw < K; ++kw)
                wt[static_cast<size_t>((kh * K + kw) * C + c)] = w[c][0][kh][kw];
    return wt;
}

struct DepthwiseFn : public torch::autograd::Function<DepthwiseFn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                                 const torch::Tensor& bias, int64_t stride, int64_t padding)
    {
        const bool nhwc = input.is_contiguous(at::MemoryFormat::ChannelsLast);
        const torch::Tensor x = input.contiguous(at::MemoryFormat::ChannelsLast);
        const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), K = weight.size(2);
        const DwGeometry g{N, C, H, W, K, stride, padding, (H + 2 * padding - K) / stride + 1,
                           (W + 2 * padding - K) / stride + 1};
        const std::vector<float> wt = tapsMajor(weight);
        torch::Tensor y = at::empty({N, C, g.oh, g.ow}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
        const float* xp = x.data_ptr<float>();
        const float* bp = bias.numel() ? bias.contiguous().data_ptr<float>() : nullptr;
        float* yp = y.data_ptr<float>();
        at::parallel_for(0, N * g.oh, 1, [&](int64_t begin, int64_t end) {
            dwForwardRows(g, xp, wt.data(), bp, yp, begin, end);
        });
        ctx->save_for_backward({x, weight});
        ctx->saved_data["stride"] = stride;
        ctx->saved_data["padding"] = padding;
        ctx->saved_data["bias"] = bias.numel() > 0;
        ctx->saved_data["nhwc"] = nhwc;
        return nhwc ? y : y.contiguous();
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &weight = saved[1];
        const int64_t stride = ctx->saved_data["stride"].toInt(), padding = ctx->saved_data["padding"].toInt();
        const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), K = weight.size(2);
        const DwGeometry g{N, C, H, W, K, stride, padding, (H + 2 * padding - K) / stride + 1,
                           (W + 2 * padding - K) / stride + 1};
        const torch::Tensor gy = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
        const float* gyp = gy.data_ptr<float>();

        torch::Tensor gx;
        if (ctx->needs_input_grad(0)) {
            const std::vector<float> wt = tapsMajor(weight);
            gx = at::empty({N, C, H, W}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
            float* gxp = gx.data_ptr<float>();
            if (stride == 1 && padding <= K - 1) {
                // at stride 1 the input gradient is the forward convolution of the output
                // gradient with the kernel turned by 180 degrees and padding K - 1 - p:
                // the forward kernel's register blocking, and no padded copy
                std::vector<float> turned(wt.size());
                for (int64_t t = 0; t < K * K; ++t)
                    std::memcpy(turned.data() + t * C, wt.data() + (K * K - 1 - t) * C, sizeof(float) * static_cast<size_t>(C));
                const DwGeometry back{N, C, g.oh, g.ow, K, 1, K - 1 - padding, H, W};
                at::parallel_for(0, N * H, 1, [&](int64_t begin, int64_t end) {
                    dwForwardRows(back, gyp, turned.data(), nullptr, gxp, begin, end);
                });
            } else {
                at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
                    dwInputGradImages(g, gyp, wt.data(), gxp, begin, end);
                });
            }
            if (!ctx->saved_data["nhwc"].toBool())
                gx = gx.contiguous();
        }

        torch::Tensor gWeight, gBias;
        const bool hasBias = ctx->saved_data["bias"].toBool();
        if (ctx->needs_input_grad(1) || (hasBias && ctx->needs_input_grad(2))) {
            const int64_t size = (K * K + 1) * C;
            const int threads = at::get_num_threads();
            std::vector<double> partial(static_cast<size_t>(threads * size), 0.0);
            const float* xp = x.data_ptr<float>();
            at::parallel_for(0, N * g.oh, 1, [&](int64_t begin, int64_t end) {
                double* mine = partial.data() + static_cast<size_t>(at::get_thread_num()) * size;
                dwWeightGradRows(g, xp, gyp, mine, mine + K * K * C, begin, end);
            });
            for (int t = 1; t < threads; ++t)
                for (int64_t i = 0; i < size; ++i)
                    partial[static_cast<size_t>(i)] += partial[static_cast<size_t>(t * size + i)];
            gWeight = at::empty({C, 1, K, K}, weight.options());
            float* gw = gWeight.data_ptr<float>();
            for (int64_t c = 0; c < C; ++c)
                for (int64_t t = 0; t < K * K; ++t)
                    gw[c * K * K + t] = static_cast<float>(partial[static_cast<size_t>(t * C + c)]);
            if (hasBias) {
                gBias = at::empty({C}, weight.options());
                for (int64_t c = 0; c < C; ++c)
                    gBias.data_ptr<float>()[c] = static_cast<float>(partial[static_cast<size_t>(K * K * C + c)]);
            }
        }
        return {gx, gWeight, gBias, torch::Tensor(), torch::Tensor()};
    }
};

} // namespace

bool depthwiseKernelApplies(const torch::Tensor& x, const torch::Tensor& weight, int64_t groups, int64_t stride,
                            int64_t padding, int64_t dilation)
{
    if (!cpuFloat4d(x) || weight.scalar_type() != torch::kFloat || !weight.device().is_cpu() || weight.dim() != 4)
        return false;
    const int64_t K = weight.size(2);
    return dilation == 1 && stride >= 1 && padding >= 0 && groups == x.size(1) && weight.size(0) == groups
           && weight.size(1) == 1 && weight.size(3) == K && (K == 3 || K == 5) && x.size(2) + 2 * padding >= K
           && x.size(3) + 2 * padding >= K;
}

torch::Tensor depthwiseConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              int64_t stride, int64_t padding)
{
    RECORD_FUNCTION("nnlab::DepthwiseConv2d", std::vector<c10::IValue>());   // a span in NNLAB_PROFILE traces
    return DepthwiseFn::apply(x, weight, orEmpty(bias, weight), stride, padding);
}

} // namespace nnlab::detail
