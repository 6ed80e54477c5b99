// ConvPool2x2 (fused_ops.h): a first-layer convolution + ReLU + 2x2 max-pooling.
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

// ---------------------------------------------------------------------------------------
// Conv2d (stride 1) + ReLU + max pooling 2x2, for inputs that need no gradient
//
// The input is padded once into NHWC; the weight is laid out [kh][kw][ci][co] so the inner
// loops run over output channels (contiguous in the output, one vector for 16 channels).

struct ConvGeometry {
    int64_t n, ci, hp, wp;   // the padded input, NHWC
    int64_t co, k;
    int64_t oh, ow;          // pooled output
    int64_t coPad() const { return (co + kBlock - 1) / kBlock * kBlock; }
    // Offset of each tap (kh, kw, ci), in the order of the weight's rows, from a window's corner.
    std::vector<int64_t> tapOffsets() const
    {
        std::vector<int64_t> offsets;
        for (int64_t kh = 0; kh < k; ++kh)
            for (int64_t kw = 0; kw < k; ++kw)
                for (int64_t i = 0; i < ci; ++i)
                    offsets.push_back((kh * wp + kw) * ci + i);
        return offsets;
    }
    static constexpr int64_t kBlock = 16;   // output channels per register block
};

constexpr float kConvClipped = 4.0f;   // code of an output the ReLU zeroed: no gradient flows
constexpr int64_t B = ConvGeometry::kBlock;

// 16 floats as one value: a register on AVX-512, two on AVX2, four on SSE (GCC's generic
// vectors), so the accumulators of the convolution stay in registers on every target.
// (Only inlined into the NNLAB_KERNEL functions, so the ABI note GCC gives for passing such
// vectors to functions built for another target does not apply.)
typedef float V16 __attribute__((vector_size(64)));
#pragma GCC diagnostic ignored "-Wpsabi"

#define NNLAB_INLINE __attribute__((always_inline)) inline

NNLAB_INLINE V16 splat(float v) { return V16{} + v; }

NNLAB_INLINE V16 load16(const float* p)
{
    V16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

NNLAB_INLINE void store16(float* p, V16 v, int64_t count)
{
    if (count == B)
        std::memcpy(p, &v, sizeof v);
    else
        std::memcpy(p, &v, sizeof(float) * static_cast<size_t>(count));
}

// Pooled rows [begin, end) (a row is (n, oh)): the output and one code per output (the
// window position 0-3 of the maximum, or kConvClipped). The four convolution outputs of a
// window are accumulated side by side in registers, a block of 16 output channels at a
// time; wt is [kh][kw][ci][coPad] and bias has coPad entries (zero-padded).
NNLAB_KERNEL void convPoolForwardRows(const ConvGeometry& g, const float* xp, const float* wt, const float* bias,
                                      float* y, float* code, bool relu, int64_t begin, int64_t end)
{
    const int64_t Co = g.co, CoPad = g.coPad(), Ci = g.ci, taps = g.k * g.k * Ci;
    const std::vector<int64_t> tapOffset = g.tapOffsets();
    for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / g.oh, oh = r % g.oh;
        for (int64_t ow = 0; ow < g.ow; ++ow) {
            const float* base0 = xp + ((n * g.hp + 2 * oh) * g.wp + 2 * ow) * Ci;   // window position 0
            const float* base1 = base0 + Ci;                                         // 1, to the right
            const float* base2 = base0 + g.wp * Ci;                                  // 2, a row below
            const float* base3 = base2 + Ci;
            for (int64_t cb = 0; cb < CoPad; cb += B) {
                V16 a0 = load16(bias + cb), a1 = a0, a2 = a0, a3 = a0;
                for (int64_t t = 0; t < taps; ++t) {
                    const int64_t off = tapOffset[t];
                    const V16 w = load16(wt + t * CoPad + cb);
                    a0 += base0[off] * w;
                    a1 += base1[off] * w;
                    a2 += base2[off] * w;
                    a3 += base3[off] * w;
                }
                // max_pool2d's rule: a later position wins when greater or NaN (plain loops
                // over arrays: GCC vectorizes these selects, not those on vector types)
                float acc[4][B], best[B], which[B];
                std::memcpy(acc[0], &a0, sizeof a0);
                std::memcpy(acc[1], &a1, sizeof a1);
                std::memcpy(acc[2], &a2, sizeof a2);
                std::memcpy(acc[3], &a3, sizeof a3);
                for (int64_t c = 0; c < B; ++c) {
                    float m = acc[0][c], k = 0.0f;
                    for (int q = 1; q < 4; ++q) {
                        const float v = acc[q][c];
                        const bool wins = (v > m) | (v != v);
                        k = wins ? static_cast<float>(q) : k;
                        m = wins ? v : m;
                    }
                    // relu keeps NaN and passes no gradient where its output is not > 0
                    best[c] = relu ? (m < 0.0f ? 0.0f : m) : m;
                    which[c] = relu ? (m > 0.0f ? k : kConvClipped) : k;
                }
                const V16 m = load16(best), k = load16(which);
                float* out = y + (r * g.ow + ow) * Co + cb;
                store16(out, m, std::min(B, Co - cb));
                if (code)   // none when no gradient will be taken
                    store16(code + (r * g.ow + ow) * Co + cb, k, std::min(B, Co - cb));
            }
        }
    }
}

// The weight-gradient sums of one pooled row and output-channel block for a fixed number of
// taps (9: a 3x3 kernel on one channel): all T sums stay in registers while the row's four
// split gradients are loaded once per window.
template <int T>
NNLAB_INLINE void convPoolWeightGradRow(const ConvGeometry& g, const float* row0, const float* split,
                                        const int64_t* tapOffset, int64_t cb, double* dw)
{
    const int64_t CoPad = g.coPad(), Ci = g.ci, down = g.wp * Ci;
    V16 acc[T];
    for (int t = 0; t < T; ++t)
        acc[t] = splat(0.0f);
    for (int64_t ow = 0; ow < g.ow; ++ow) {
        const float* gq = split + ow * 4 * CoPad + cb;
        const V16 q0 = load16(gq), q1 = load16(gq + CoPad), q2 = load16(gq + 2 * CoPad), q3 = load16(gq + 3 * CoPad);
        const float* corner = row0 + 2 * ow * Ci;
#pragma GCC unroll 32
        for (int t = 0; t < T; ++t) {
            const float* p = corner + tapOffset[t];
            acc[t] += (p[0] * q0 + p[Ci] * q1) + (p[down] * q2 + p[down + Ci] * q3);
        }
    }
    for (int t = 0; t < T; ++t) {
        double* d = dw + t * CoPad + cb;
        for (int64_t c = 0; c < B; ++c)
            d[c] += acc[t][c];
    }
}

// Over pooled rows [begin, end): gradient sums for the weight ([kh][kw][ci][coPad], into dw)
// and bias (coPad, into db), in double per row. Per row, the pooled gradient is first split
// by window position (gq: [ow][q][coPad], zero where another position won); then each tap
// sums x * gq over the row in registers.
NNLAB_KERNEL void convPoolBackwardRows(const ConvGeometry& g, const float* xp, const float* gy, const float* code,
                                       double* dw, double* db, int64_t begin, int64_t end)
{
    const int64_t Co = g.co, CoPad = g.coPad(), Ci = g.ci, OW = g.ow, taps = g.k * g.k * Ci;
    const std::vector<int64_t> tapOffset = g.tapOffsets();
    std::vector<float> split(static_cast<size_t>(OW * 4 * CoPad), 0.0f);
    for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / g.oh, oh = r % g.oh;
        for (int64_t ow = 0; ow < OW; ++ow) {
            const float* __restrict gp = gy + (r * OW + ow) * Co;
            const float* __restrict cd = code + (r * OW + ow) * Co;
            float* __restrict g0 = split.data() + ow * 4 * CoPad;
            float* __restrict g1 = g0 + CoPad;
            float* __restrict g2 = g1 + CoPad;
            float* __restrict g3 = g2 + CoPad;
            for (int64_t c = 0; c < Co; ++c) {
                const float v = gp[c], k = cd[c];
                g0[c] = k == 0.0f ? v : 0.0f;
                g1[c] = k == 1.0f ? v : 0.0f;
                g2[c] = k == 2.0f ? v : 0.0f;
                g3[c] = k == 3.0f ? v : 0.0f;
            }
        }
        for (int64_t cb = 0; cb < CoPad; cb += B) {
            float bsum[B] = {};
            for (int64_t ow = 0; ow < OW; ++ow)
                for (int q = 0; q < 4; ++q) {
                    const float* __restrict gq = split.data() + (ow * 4 + q) * CoPad + cb;
                    for (int64_t c = 0; c < B; ++c)
                        bsum[c] += gq[c];
                }
            for (int64_t c = 0; c < B; ++c)
                db[cb + c] += bsum[c];
            if (taps == 9) {
                convPoolWeightGradRow<9>(g, xp + (n * g.hp + 2 * oh) * g.wp * Ci, split.data(), tapOffset.data(), cb, dw);
                continue;
            }
            for (int64_t t = 0; t < taps; ++t) {
                V16 s0 = splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
                const float* base0 = xp + (n * g.hp + 2 * oh) * g.wp * Ci + tapOffset[t];
                const float* base2 = base0 + g.wp * Ci;
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const float* gq = split.data() + ow * 4 * CoPad + cb;
                    s0 += base0[2 * ow * Ci] * load16(gq);
                    s1 += base0[(2 * ow + 1) * Ci] * load16(gq + CoPad);
                    s2 += base2[2 * ow * Ci] * load16(gq + 2 * CoPad);
                    s3 += base2[(2 * ow + 1) * Ci] * load16(gq + 3 * CoPad);
                }
                const V16 sum = (s0 + s1) + (s2 + s3);
                double* d = dw + t * CoPad + cb;
                for (int64_t c = 0; c < B; ++c)
                    d[c] += sum[c];
            }
        }
    }
}

struct ConvPoolFn : public torch::autograd::Function<ConvPoolFn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias, int64_t padding, bool relu, bool channelsLast, bool backward)
    {
        // backward: whether a gradient will be taken (GradMode is off in here); else no codes.
        // The layouts are written by plain loops (through strides): each tensor operation
        // costs a dispatch, and at batch 64 the whole kernel is a quarter of a millisecond.
        const int64_t N = x.size(0), Ci = x.size(1), H = x.size(2), W = x.size(3), K = weight.size(2), p = padding;
        const ConvGeometry g{N, Ci, H + 2 * p, W + 2 * p, weight.size(0), K, (H + 2 * p - K + 1) / 2, (W + 2 * p - K + 1) / 2};
        // the input, zero-padded, [N, H + 2p, W + 2p, Ci]
        torch::Tensor xp = at::empty({g.n, g.hp, g.wp, Ci}, x.options());
        {
            const auto in = x.accessor<float, 4>();
            float* out = xp.data_ptr<float>();
            at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
                for (int64_t n = begin; n < end; ++n) {
                    float* image = out + n * g.hp * g.wp * Ci;
                    std::fill(image, image + g.hp * g.wp * Ci, 0.0f);
                    for (int64_t h = 0; h < H; ++h)
                        for (int64_t w = 0; w < W; ++w)
                            for (int64_t i = 0; i < Ci; ++i)
                                image[((h + p) * g.wp + w + p) * Ci + i] = in[n][i][h][w];
                }
            });
        }
        // the weight as [K, K, Ci, coPad] and the bias as [coPad], zero beyond Co
        std::vector<float> wt(static_cast<size_t>(K * K * Ci * g.coPad()), 0.0f), b(static_cast<size_t>(g.coPad()), 0.0f);
        {
            const auto w = weight.accessor<float, 4>();
            for (int64_t o = 0; o < g.co; ++o)
                for (int64_t i = 0; i < Ci; ++i)
                    for (int64_t kh = 0; kh < K; ++kh)
                        for (int64_t kw = 0; kw < K; ++kw)
                            wt[static_cast<size_t>(((kh * K + kw) * Ci + i) * g.coPad() + o)] = w[o][i][kh][kw];
            if (bias.numel())
                for (int64_t o = 0; o < g.co; ++o)
                    b[static_cast<size_t>(o)] = bias.accessor<float, 1>()[o];
        }
        torch::Tensor y = at::empty({g.n, g.co, g.oh, g.ow}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
        // the codes as floats (0-3, kConvClipped): one type in the loops lets them vectorize
        torch::Tensor code = backward ? at::empty({g.n, g.oh, g.ow, g.co}, x.options()) : torch::Tensor();
        const float *xpp = xp.data_ptr<float>(), *wtp = wt.data(), *bp = b.data();
        float* yp = y.data_ptr<float>();
        float* cp = backward ? code.data_ptr<float>() : nullptr;
        at::parallel_for(0, g.n * g.oh, 4, [&](int64_t begin, int64_t end) {
            convPoolForwardRows(g, xpp, wtp, bp, yp, cp, relu, begin, end);
        });
        ctx->saved_data["xp"] = xp;
        ctx->saved_data["code"] = code;
        ctx->saved_data["k"] = K;
        ctx->saved_data["bias"] = bias.numel() > 0;
        return channelsLast ? y : y.contiguous();
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const torch::Tensor xp = ctx->saved_data["xp"].toTensor(), code = ctx->saved_data["code"].toTensor();
        const int64_t K = ctx->saved_data["k"].toInt();
        const ConvGeometry g{xp.size(0), xp.size(3), xp.size(1), xp.size(2), code.size(3), K, code.size(1), code.size(2)};
        const torch::Tensor gy = grads[0].contiguous(at::MemoryFormat::ChannelsLast);   // [N, Co, OH, OW] stored NHWC
        const int64_t taps = K * K * g.ci, coPad = g.coPad(), size = (taps + 1) * coPad;
        const int threads = at::get_num_threads();
        std::vector<double> partial(static_cast<size_t>(threads) * size, 0.0);
        const float *xpp = xp.data_ptr<float>(), *gp = gy.data_ptr<float>();
        const float* cp = code.data_ptr<float>();
        at::parallel_for(0, g.n * g.oh, 4, [&](int64_t begin, int64_t end) {
            double* mine = partial.data() + static_cast<size_t>(at::get_thread_num()) * size;
            convPoolBackwardRows(g, xpp, gp, cp, mine, mine + taps * coPad, begin, end);
        });
        std::vector<double> total(size, 0.0);
        for (int t = 0; t < threads; ++t)
            for (int64_t i = 0; i < size; ++i)
                total[i] += partial[static_cast<size_t>(t) * size + i];
        // back to Conv2d's layouts: weight [Co, Ci, K, K] from [K, K, Ci, coPad], bias [Co]
        torch::Tensor gWeight = at::empty({g.co, g.ci, K, K}, xp.options());
        float* gw = gWeight.data_ptr<float>();
        for (int64_t o = 0; o < g.co; ++o)
            for (int64_t i = 0; i < g.ci; ++i)
                for (int64_t t = 0; t < K * K; ++t)
                    gw[(o * g.ci + i) * K * K + t] = static_cast<float>(total[static_cast<size_t>((t * g.ci + i) * coPad + o)]);
        torch::Tensor gBias;
        if (ctx->saved_data["bias"].toBool()) {
            gBias = at::empty({g.co}, xp.options());
            for (int64_t o = 0; o < g.co; ++o)
                gBias.data_ptr<float>()[o] = static_cast<float>(total[static_cast<size_t>(taps * coPad + o)]);
        }
        return {torch::Tensor(), gWeight, gBias, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

} // namespace

ConvPool2x2Impl::ConvPool2x2Impl(const torch::nn::Conv2dOptions& options_, bool relu) : options(options_), m_relu(relu)
{
    torch::nn::Conv2d conv(options);   // Conv2d's initialization, drawing the same random numbers
    weight = register_parameter("weight", conv->weight);
    if (options.bias())
        bias = register_parameter("bias", conv->bias);
}

int64_t ConvPool2x2Impl::padding() const
{
    return (*c10::get<torch::ExpandingArray<2>>(options.padding()))[0];
}

torch::Tensor ConvPool2x2Impl::forward(const torch::Tensor& x)
{
    RECORD_FUNCTION("nnlab::ConvPool2x2", std::vector<c10::IValue>());
    const int64_t K = weight.size(2), p = padding();
    const bool kernel = cpuFloat4d(x) && !(torch::GradMode::is_enabled() && x.requires_grad())
                        && weight.scalar_type() == torch::kFloat && x.size(1) == weight.size(1)
                        && x.size(2) + 2 * p - K + 1 >= 2 && x.size(3) + 2 * p - K + 1 >= 2;
    if (kernel)
        return ConvPoolFn::apply(x, weight, orEmpty(bias, weight), p, m_relu, m_channelsLast,
                                 torch::GradMode::is_enabled() && (weight.requires_grad() || (bias.defined() && bias.requires_grad())));
    torch::Tensor y = torch::conv2d(x, weight, bias, 1, p);
    if (m_relu)
        y = torch::relu_(y);
    return torch::max_pool2d(y, 2, 2);
}

} // namespace nnlab::detail
