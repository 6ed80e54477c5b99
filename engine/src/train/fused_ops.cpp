#include "fused_ops.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace nnlab::detail {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The kernels are plain loops over raw pointers that GCC vectorizes; NNLAB_KERNEL builds each
// one for AVX-512, AVX2 and baseline x86-64 and picks the best at load time. (The AVX-512
// version contracts multiply-adds into FMA, so its last bits can differ from the others'.)
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NNLAB_KERNEL __attribute__((target_clones("avx512f", "avx2", "default"))) __attribute__((noinline))
#else
#define NNLAB_KERNEL
#endif

// ---------------------------------------------------------------------------------------
// Max pooling 2x2, stride 2 (+ ReLU)
//
// The forward pass writes, next to each output, a one-byte code: the window position (0-3)
// of the maximum (max_pool2d's: a later element wins when greater or NaN, so the first
// maximum in scan order), or kPoolClipped where the ReLU zeroed the output. The backward pass
// routes each gradient by its code and writes every input gradient once; it reads neither
// the input nor a zero-filled buffer, only the codes (a quarter of the input's elements at
// one byte each).

constexpr float kPoolClipped = 4.0f;

// count windows: element i of a window at a[i*S], b[i*S], c[i*S], d[i*S]; the codes go to
// `which` as floats (one type in the loop lets it vectorize), then to bytes.
template <int S, bool Relu>
__attribute__((always_inline)) inline void poolWindows(const float* __restrict a, const float* __restrict b,
                                                       const float* __restrict c, const float* __restrict d,
                                                       float* __restrict out, float* __restrict which,
                                                       uint8_t* __restrict code, int64_t count)
{
    for (int64_t i = 0; i < count; ++i) {
        float m = a[i * S], k = 0.0f;
        const float vb = b[i * S], vc = c[i * S], vd = d[i * S];
        k = ((vb > m) | (vb != vb)) ? 1.0f : k;
        m = ((vb > m) | (vb != vb)) ? vb : m;
        k = ((vc > m) | (vc != vc)) ? 2.0f : k;
        m = ((vc > m) | (vc != vc)) ? vc : m;
        k = ((vd > m) | (vd != vd)) ? 3.0f : k;
        m = ((vd > m) | (vd != vd)) ? vd : m;
        // relu keeps NaN and passes no gradient where its output is not > 0
        out[i] = Relu ? (m < 0.0f ? 0.0f : m) : m;
        which[i] = Relu ? (m > 0.0f ? k : kPoolClipped) : k;
    }
    for (int64_t i = 0; i < count; ++i)
        code[i] = static_cast<uint8_t>(which[i]);
}

template <int S>
__attribute__((always_inline)) inline void poolWindowsBackward(const uint8_t* __restrict code, float* __restrict which,
                                                               const float* __restrict g, float* __restrict ga,
                                                               float* __restrict gb, float* __restrict gc,
                                                               float* __restrict gd, int64_t count)
{
    for (int64_t i = 0; i < count; ++i)
        which[i] = code[i];
    for (int64_t i = 0; i < count; ++i) {
        const float v = g[i], k = which[i];
        ga[i * S] = k == 0.0f ? v : 0.0f;
        gb[i * S] = k == 1.0f ? v : 0.0f;
        gc[i * S] = k == 2.0f ? v : 0.0f;
        gd[i * S] = k == 3.0f ? v : 0.0f;
    }
}

struct PoolGeometry {
    int64_t n, c, h, w;
    bool nhwc;
    int64_t oh() const { return h / 2; }
    int64_t ow() const { return w / 2; }
    int64_t rows() const { return nhwc ? n * oh() : n * c * oh(); }   // output rows the kernels split among threads
    int64_t rowLength() const { return nhwc ? ow() * c : ow(); }      // outputs in a row
};

// Output rows [begin, end): in NHWC a row is (n, oh) and holds OW windows of C channels; in
// NCHW a row is (n, c, oh) and holds OW windows along w.
template <bool Relu>
__attribute__((always_inline)) inline void poolForwardRowsT(const PoolGeometry& g, const float* x, float* y,
                                                            uint8_t* code, int64_t begin, int64_t end)
{
    const int64_t OH = g.oh(), OW = g.ow(), W = g.w, C = g.c;
    std::vector<float> which(static_cast<size_t>(g.rowLength()));
    for (int64_t r = begin; r < end; ++r) {
        if (g.nhwc) {
            const float* row0 = x + ((r / OH) * g.h + 2 * (r % OH)) * W * C;
            const float* row1 = row0 + W * C;
            for (int64_t ow = 0; ow < OW; ++ow)
                poolWindows<1, Relu>(row0 + 2 * ow * C, row0 + (2 * ow + 1) * C, row1 + 2 * ow * C,
                                     row1 + (2 * ow + 1) * C, y + (r * OW + ow) * C, which.data(),
                                     code + (r * OW + ow) * C, C);
        } else {
            const float* row0 = x + ((r / OH) * g.h + 2 * (r % OH)) * W;
            const float* row1 = row0 + W;
            poolWindows<2, Relu>(row0, row0 + 1, row1, row1 + 1, y + r * OW, which.data(), code + r * OW, OW);
        }
    }
}

NNLAB_KERNEL void poolForwardRows(const PoolGeometry& g, const float* x, float* y, uint8_t* code, bool relu,
                                  int64_t begin, int64_t end)
{
    if (relu)
        poolForwardRowsT<true>(g, x, y, code, begin, end);
    else
        poolForwardRowsT<false>(g, x, y, code, begin, end);
}

NNLAB_KERNEL void poolBackwardRows(const PoolGeometry& g, const uint8_t* code, const float* gy, float* gx,
                                   int64_t begin, int64_t end)
{
    const int64_t OH = g.oh(), OW = g.ow(), H = g.h, W = g.w, C = g.c;
    std::vector<float> which(static_cast<size_t>(g.rowLength()));
    for (int64_t r = begin; r < end; ++r) {
        if (g.nhwc) {
            float* grow0 = gx + ((r / OH) * H + 2 * (r % OH)) * W * C;
            float* grow1 = grow0 + W * C;
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t i0 = 2 * ow * C, i1 = (2 * ow + 1) * C;
                poolWindowsBackward<1>(code + (r * OW + ow) * C, which.data(), gy + (r * OW + ow) * C, grow0 + i0,
                                       grow0 + i1, grow1 + i0, grow1 + i1, C);
            }
            if (W % 2) {   // the last column is in no window
                std::memset(grow0 + (W - 1) * C, 0, sizeof(float) * C);
                std::memset(grow1 + (W - 1) * C, 0, sizeof(float) * C);
            }
        } else {
            float* grow0 = gx + ((r / OH) * H + 2 * (r % OH)) * W;
            float* grow1 = grow0 + W;
            poolWindowsBackward<2>(code + r * OW, which.data(), gy + r * OW, grow0, grow0 + 1, grow1, grow1 + 1, OW);
            if (W % 2)
                grow0[W - 1] = grow1[W - 1] = 0.0f;
        }
    }
}

struct MaxPool2x2Fn : public torch::autograd::Function<MaxPool2x2Fn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, bool relu)
    {
        const bool nhwc = input.suggest_memory_format() == at::MemoryFormat::ChannelsLast
                          && input.is_contiguous(at::MemoryFormat::ChannelsLast);
        const auto format = nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
        const torch::Tensor x = input.contiguous(format);
        const PoolGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), nhwc};
        torch::Tensor y = at::empty({g.n, g.c, g.oh(), g.ow()}, x.options().memory_format(format));
        torch::Tensor code = at::empty({g.n, g.c, g.oh(), g.ow()}, x.options().dtype(torch::kUInt8).memory_format(format));
        const float* xp = x.data_ptr<float>();
        float* yp = y.data_ptr<float>();
        uint8_t* cp = code.data_ptr<uint8_t>();
        at::parallel_for(0, g.rows(), 8, [&](int64_t begin, int64_t end) { poolForwardRows(g, xp, yp, cp, relu, begin, end); });
        ctx->saved_data["code"] = code;
        ctx->saved_data["sizes"] = x.sizes().vec();
        ctx->saved_data["nhwc"] = nhwc;
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const torch::Tensor code = ctx->saved_data["code"].toTensor();
        const std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
        const bool nhwc = ctx->saved_data["nhwc"].toBool();
        const auto format = nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
        const torch::Tensor gy = grads[0].contiguous(format);
        torch::Tensor gx = at::empty(sizes, gy.options().memory_format(format));
        const PoolGeometry g{sizes[0], sizes[1], sizes[2], sizes[3], nhwc};
        const uint8_t* cp = code.data_ptr<uint8_t>();
        const float* gyp = gy.data_ptr<float>();
        float* gxp = gx.data_ptr<float>();
        at::parallel_for(0, g.rows(), 8, [&](int64_t begin, int64_t end) { poolBackwardRows(g, cp, gyp, gxp, begin, end); });
        if (g.h % 2) {   // the last row is in no window
            const int64_t planes = nhwc ? g.n : g.n * g.c, plane = g.h * g.w * (nhwc ? g.c : 1), row = g.w * (nhwc ? g.c : 1);
            for (int64_t p = 0; p < planes; ++p)
                std::memset(gxp + p * plane + (g.h - 1) * row, 0, sizeof(float) * row);
        }
        return {gx, torch::Tensor()};
    }
};

// ---------------------------------------------------------------------------------------
// Linear (+ ReLU)

struct LinearReluFn : public torch::autograd::Function<LinearReluFn> {
    // bias: empty when absent
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias, bool relu)
    {
        torch::Tensor y = bias.numel() ? at::addmm(bias, x, weight.t()) : at::mm(x, weight.t());
        if (relu)
            y.clamp_min_(0.0);
        ctx->save_for_backward({x, weight, relu ? y : torch::Tensor()});
        ctx->saved_data["relu"] = relu;
        ctx->saved_data["bias"] = bias.numel() > 0;
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& weight = saved[1];
        // below the ReLU: the gradient where its output is > 0 (threshold_backward, as relu's)
        const torch::Tensor g = ctx->saved_data["relu"].toBool() ? at::threshold_backward(grads[0], saved[2], 0.0) : grads[0];
        torch::Tensor gx, gWeight, gBias;
        if (ctx->needs_input_grad(0))
            gx = at::mm(g, weight);
        if (ctx->needs_input_grad(1))
            gWeight = at::mm(g.t(), x);
        if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2))
            gBias = g.sum(0);
        return {gx, gWeight, gBias, torch::Tensor()};
    }
};

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

// LibTorch 1.13's custom functions cannot take undefined tensors: absent optional inputs
// (bias, affine parameters, running statistics) travel as empty tensors.
torch::Tensor orEmpty(const torch::Tensor& t, const torch::Tensor& like)
{
    return t.defined() ? t : torch::empty({0}, like.options().requires_grad(false));
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

bool cpuFloat4d(const torch::Tensor& x)
{
    return x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 4 && x.numel() > 0;
}

} // namespace

torch::Tensor MaxPool2x2Impl::forward(const torch::Tensor& x)
{
    RECORD_FUNCTION("nnlab::MaxPool2x2", std::vector<c10::IValue>());   // a span in NNLAB_PROFILE traces
    if (cpuFloat4d(x) && x.size(2) >= 2 && x.size(3) >= 2)
        return MaxPool2x2Fn::apply(x, m_relu);
    torch::Tensor y = torch::max_pool2d(x, 2, 2);
    return m_relu ? torch::relu_(y) : y;
}

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

LinearReluImpl::LinearReluImpl(const torch::nn::LinearOptions& options, bool relu) : m_relu(relu)
{
    torch::nn::Linear linear(options);   // Linear's initialization, drawing the same random numbers
    weight = register_parameter("weight", linear->weight);
    if (options.bias())
        bias = register_parameter("bias", linear->bias);
}

torch::Tensor LinearReluImpl::forward(const torch::Tensor& x)
{
    const bool kernel = x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 2
                        && weight.scalar_type() == torch::kFloat && x.size(1) == weight.size(1);
    if (kernel)
        return LinearReluFn::apply(x, weight, orEmpty(bias, weight), m_relu);
    torch::Tensor y = torch::linear(x, weight, bias);
    return m_relu ? torch::relu_(y) : y;
}

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
