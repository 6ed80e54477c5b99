// MaxPool2x2 (fused_ops.h): 2x2 max-pooling (+ ReLU) with one-byte codes.
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

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

} // namespace

torch::Tensor MaxPool2x2Impl::forward(const torch::Tensor& x)
{
    RECORD_FUNCTION("nnlab::MaxPool2x2", std::vector<c10::IValue>());   // a span in NNLAB_PROFILE traces
    if (cpuFloat4d(x) && x.size(2) >= 2 && x.size(3) >= 2)
        return MaxPool2x2Fn::apply(x, m_relu);
    torch::Tensor y = torch::max_pool2d(x, 2, 2);
    return m_relu ? torch::relu_(y) : y;
}

} // namespace nnlab::detail
