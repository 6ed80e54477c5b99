// ActAvgPool (fused_ops.h): an activation followed by average pooling, as one operator.
//
// LeNet-style networks put tanh (or sigmoid, ReLU) between a convolution and an average
// pooling. LibTorch writes the activation at full resolution, keeps it for the backward
// pass, pools it, and in the backward pass scatters the pooled gradient to full resolution
// (avg_pool2d_backward) and multiplies it by the activation's derivative in another pass;
// its tanh is also several times slower per element than the arithmetic needs (1.2 of 7.3
// ms a LeNet-5 step at batch 64 on one core). Here the forward pass reads the input once
// and writes only the pooled output; the backward pass recomputes the activation from the
// saved input (the tensor the convolution wrote anyway) and writes each input gradient
// once: act'(x) times the sum of the pooled gradients of the windows that hold it.
#include "fused_kernels.h"

namespace nnlab::detail {

namespace {

using namespace fused;

// ---------------------------------------------------------------------------------------
// Activations as plain float functions that GCC vectorizes in a loop over an array.

// e^x for x <= 0 (Cephes' expf: 2^n times a degree-6 polynomial on [-ln2/2, ln2/2]; about
// 1 ulp). Below -87 the result is e^-87 instead of a subnormal number.
__attribute__((always_inline)) inline float expNonPositive(float x)
{
    x = std::max(x, -87.0f);
    const float n = std::floor(x * 1.44269504088896341f + 0.5f);
    x -= n * 0.693359375f;
    x -= n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * x + 1.3981999507e-3f;
    p = p * x + 8.3334519073e-3f;
    p = p * x + 4.1665795894e-2f;
    p = p * x + 1.6666665459e-1f;
    p = p * x + 5.0000001201e-1f;
    const float y = p * x * x + x + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    return y * __builtin_bit_cast(float, bits);
}

// tanh as a 13/6 rational function on [-7.9, 7.9] (Eigen's float tanh: within a few ulp),
// x itself for |x| < 0.0004, +-1 beyond (in float, tanh(7.9) rounds to 1 - 2.4e-7).
__attribute__((always_inline)) inline float tanhApprox(float x0)
{
    const float x = std::min(std::max(x0, -7.90531110763549805f), 7.90531110763549805f);
    const float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return std::fabs(x0) < 0.0004f ? x0 : p / q;
}

__attribute__((always_inline)) inline float sigmoidApprox(float x)
{
    const float e = expNonPositive(-std::fabs(x));
    const float r = 1.0f / (1.0f + e);
    return x >= 0.0f ? r : e * r;
}

// Activation values: y[i] = act(x[i]). NaN propagates as in LibTorch (relu keeps it).
template <ActAvgPoolImpl::Activation A>
__attribute__((always_inline)) inline void activate(const float* __restrict x, float* __restrict y, int64_t count,
                                                    float slope)
{
    using Act = ActAvgPoolImpl::Activation;
    for (int64_t i = 0; i < count; ++i) {
        const float v = x[i];
        if constexpr (A == Act::None)
            y[i] = v;
        else if constexpr (A == Act::Relu)
            y[i] = v < 0.0f ? 0.0f : v;
        else if constexpr (A == Act::LeakyRelu)
            y[i] = v > 0.0f ? v : v * slope;
        else if constexpr (A == Act::Tanh)
            y[i] = tanhApprox(v);
        else
            y[i] = sigmoidApprox(v);
    }
}

// Input gradient: gx[i] = act'(x[i]) * g[i] (LibTorch's rules: relu and leaky_relu pass
// where x > 0; tanh' = 1 - t^2, sigmoid' = s (1 - s) from the recomputed value).
template <ActAvgPoolImpl::Activation A>
__attribute__((always_inline)) inline void activateBackward(const float* __restrict x, const float* __restrict g,
                                                            float* __restrict gx, int64_t count, float slope)
{
    using Act = ActAvgPoolImpl::Activation;
    for (int64_t i = 0; i < count; ++i) {
        const float v = x[i], d = g[i];
        if constexpr (A == Act::None)
            gx[i] = d;
        else if constexpr (A == Act::Relu)
            gx[i] = v > 0.0f ? d : 0.0f;
        else if constexpr (A == Act::LeakyRelu)
            gx[i] = v > 0.0f ? d : d * slope;
        else if constexpr (A == Act::Tanh) {
            const float t = tanhApprox(v);
            gx[i] = d * (1.0f - t * t);
        } else {
            const float s = sigmoidApprox(v);
            gx[i] = d * ((1.0f - s) * s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pooling over planes: a plane is one image of an NHWC tensor ([H][W][C], channels
// innermost) or one channel of an NCHW tensor ([H][W][1]).

struct PoolGeometry {
    int64_t planes, h, w, c;   // c: channels within a plane (1 for NCHW)
    int64_t k, s, p;
    int64_t oh, ow;
    int64_t planeSize() const { return h * w * c; }
    int64_t outSize() const { return oh * ow * c; }
};

// Planes [begin, end): the activation into a plane-sized buffer, then each window's mean
// (padding counts as zeros, so the divisor is k * k: LibTorch's count_include_pad). Per
// output row the window's input rows are first summed into one row (contiguous loops that
// vectorize however few channels there are), then each output sums k entries of that row.
template <ActAvgPoolImpl::Activation A>
__attribute__((always_inline)) inline void forwardPlanesT(const PoolGeometry& g, const float* x, float* y, float slope,
                                                          int64_t begin, int64_t end)
{
    const int64_t C = g.c, W = g.w, rowLength = W * C;
    const float scale = 1.0f / static_cast<float>(g.k * g.k);
    std::vector<float> act(static_cast<size_t>(g.planeSize())), rowSum(static_cast<size_t>(rowLength));
    for (int64_t plane = begin; plane < end; ++plane) {
        activate<A>(x + plane * g.planeSize(), act.data(), g.planeSize(), slope);
        float* out = y + plane * g.outSize();
        for (int64_t oh = 0; oh < g.oh; ++oh) {
            const int64_t ih0 = oh * g.s - g.p, khLo = std::max<int64_t>(0, -ih0), khHi = std::min(g.k, g.h - ih0);
            float* __restrict sum = rowSum.data();
            std::fill(sum, sum + rowLength, 0.0f);
            for (int64_t kh = khLo; kh < khHi; ++kh) {
                const float* __restrict a = act.data() + (ih0 + kh) * rowLength;
                for (int64_t i = 0; i < rowLength; ++i)
                    sum[i] += a[i];
            }
            for (int64_t ow = 0; ow < g.ow; ++ow) {
                const int64_t iw0 = ow * g.s - g.p, kwLo = std::max<int64_t>(0, -iw0), kwHi = std::min(g.k, W - iw0);
                float* __restrict o = out + (oh * g.ow + ow) * C;
                for (int64_t c = 0; c < C; ++c) {
                    float v = 0.0f;
                    for (int64_t kw = kwLo; kw < kwHi; ++kw)
                        v += sum[(iw0 + kw) * C + c];
                    o[c] = v * scale;
                }
            }
        }
    }
}

// Planes [begin, end): the pooled gradient (over k * k) spread to a plane-sized buffer, each
// input summing the windows that hold it, then times the activation's derivative. Per
// output row the gradient is spread along the row once, then added to the window's rows.
template <ActAvgPoolImpl::Activation A>
__attribute__((always_inline)) inline void backwardPlanesT(const PoolGeometry& g, const float* x, const float* gy,
                                                           float* gx, float slope, int64_t begin, int64_t end)
{
    const int64_t C = g.c, W = g.w, rowLength = W * C;
    const float scale = 1.0f / static_cast<float>(g.k * g.k);
    std::vector<float> spread(static_cast<size_t>(g.planeSize())), rowSpread(static_cast<size_t>(rowLength));
    for (int64_t plane = begin; plane < end; ++plane) {
        std::fill(spread.begin(), spread.end(), 0.0f);
        const float* grad = gy + plane * g.outSize();
        for (int64_t oh = 0; oh < g.oh; ++oh) {
            const int64_t ih0 = oh * g.s - g.p, khLo = std::max<int64_t>(0, -ih0), khHi = std::min(g.k, g.h - ih0);
            float* __restrict row = rowSpread.data();
            std::fill(row, row + rowLength, 0.0f);
            for (int64_t ow = 0; ow < g.ow; ++ow) {
                const int64_t iw0 = ow * g.s - g.p, kwLo = std::max<int64_t>(0, -iw0), kwHi = std::min(g.k, W - iw0);
                const float* __restrict d = grad + (oh * g.ow + ow) * C;
                for (int64_t kw = kwLo; kw < kwHi; ++kw)
                    for (int64_t c = 0; c < C; ++c)
                        row[(iw0 + kw) * C + c] += d[c] * scale;
            }
            for (int64_t kh = khLo; kh < khHi; ++kh) {
                float* __restrict sp = spread.data() + (ih0 + kh) * rowLength;
                for (int64_t i = 0; i < rowLength; ++i)
                    sp[i] += row[i];
            }
        }
        activateBackward<A>(x + plane * g.planeSize(), spread.data(), gx + plane * g.planeSize(), g.planeSize(), slope);
    }
}

using Act = ActAvgPoolImpl::Activation;

NNLAB_KERNEL void actPoolForwardPlanes(const PoolGeometry& g, Act act, const float* x, float* y, float slope,
                                       int64_t begin, int64_t end)
{
    switch (act) {
    case Act::None: forwardPlanesT<Act::None>(g, x, y, slope, begin, end); break;
    case Act::Relu: forwardPlanesT<Act::Relu>(g, x, y, slope, begin, end); break;
    case Act::LeakyRelu: forwardPlanesT<Act::LeakyRelu>(g, x, y, slope, begin, end); break;
    case Act::Tanh: forwardPlanesT<Act::Tanh>(g, x, y, slope, begin, end); break;
    case Act::Sigmoid: forwardPlanesT<Act::Sigmoid>(g, x, y, slope, begin, end); break;
    }
}

NNLAB_KERNEL void actPoolBackwardPlanes(const PoolGeometry& g, Act act, const float* x, const float* gy, float* gx,
                                        float slope, int64_t begin, int64_t end)
{
    switch (act) {
    case Act::None: backwardPlanesT<Act::None>(g, x, gy, gx, slope, begin, end); break;
    case Act::Relu: backwardPlanesT<Act::Relu>(g, x, gy, gx, slope, begin, end); break;
    case Act::LeakyRelu: backwardPlanesT<Act::LeakyRelu>(g, x, gy, gx, slope, begin, end); break;
    case Act::Tanh: backwardPlanesT<Act::Tanh>(g, x, gy, gx, slope, begin, end); break;
    case Act::Sigmoid: backwardPlanesT<Act::Sigmoid>(g, x, gy, gx, slope, begin, end); break;
    }
}

PoolGeometry geometry(const std::vector<int64_t>& sizes, bool nhwc, int64_t k, int64_t s, int64_t p)
{
    const int64_t N = sizes[0], C = sizes[1], H = sizes[2], W = sizes[3];
    return {nhwc ? N : N * C, H, W, nhwc ? C : 1, k, s, p, (H + 2 * p - k) / s + 1, (W + 2 * p - k) / s + 1};
}

struct ActAvgPoolFn : public torch::autograd::Function<ActAvgPoolFn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, int64_t act, double slope,
                                 int64_t k, int64_t s, int64_t p)
    {
        const bool nhwc = input.suggest_memory_format() == at::MemoryFormat::ChannelsLast
                          && input.is_contiguous(at::MemoryFormat::ChannelsLast);
        const auto format = nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
        const torch::Tensor x = input.contiguous(format);
        const PoolGeometry g = geometry(x.sizes().vec(), nhwc, k, s, p);
        torch::Tensor y = at::empty({x.size(0), x.size(1), g.oh, g.ow}, x.options().memory_format(format));
        const float* xp = x.data_ptr<float>();
        float* yp = y.data_ptr<float>();
        const auto a = static_cast<Act>(act);
        at::parallel_for(0, g.planes, 1, [&](int64_t begin, int64_t end) {
            actPoolForwardPlanes(g, a, xp, yp, static_cast<float>(slope), begin, end);
        });
        ctx->save_for_backward({x});
        ctx->saved_data["act"] = act;
        ctx->saved_data["slope"] = slope;
        ctx->saved_data["nhwc"] = nhwc;
        ctx->saved_data["k"] = k;
        ctx->saved_data["s"] = s;
        ctx->saved_data["p"] = p;
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const torch::Tensor x = ctx->get_saved_variables()[0];
        const bool nhwc = ctx->saved_data["nhwc"].toBool();
        const auto format = nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
        const PoolGeometry g = geometry(x.sizes().vec(), nhwc, ctx->saved_data["k"].toInt(), ctx->saved_data["s"].toInt(),
                                        ctx->saved_data["p"].toInt());
        const torch::Tensor gy = grads[0].contiguous(format);
        torch::Tensor gx = at::empty(x.sizes(), x.options().memory_format(format));
        const float* xp = x.data_ptr<float>();
        const float* gyp = gy.data_ptr<float>();
        float* gxp = gx.data_ptr<float>();
        const auto a = static_cast<Act>(ctx->saved_data["act"].toInt());
        const auto slope = static_cast<float>(ctx->saved_data["slope"].toDouble());
        at::parallel_for(0, g.planes, 1, [&](int64_t begin, int64_t end) {
            actPoolBackwardPlanes(g, a, xp, gyp, gxp, slope, begin, end);
        });
        return {gx, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

} // namespace

ActAvgPoolImpl::ActAvgPoolImpl(const torch::nn::AvgPool2dOptions& options_, Activation activation, double negativeSlope)
    : options(options_), m_activation(activation), m_negativeSlope(negativeSlope)
{
}

bool ActAvgPoolImpl::kernelApplies(const torch::Tensor& x) const
{
    const auto k = *options.kernel_size(), s = *options.stride(), p = *options.padding();
    // sigmoid: the kernel's is correct but its exponential does not vectorize yet (5x slower
    // than LibTorch's sigmoid + avg_pool2d in bench_fused_conv), so LibTorch runs it
    return m_activation != Activation::Sigmoid && cpuFloat4d(x) && k[0] == k[1] && s[0] == s[1] && p[0] == p[1] && k[0] >= 1 && s[0] >= 1 && p[0] >= 0
           && 2 * p[0] <= k[0] && !options.ceil_mode() && options.count_include_pad() && !options.divisor_override()
           && x.size(2) + 2 * p[0] >= k[0] && x.size(3) + 2 * p[0] >= k[0];
}

torch::Tensor ActAvgPoolImpl::forward(const torch::Tensor& x)
{
    RECORD_FUNCTION("nnlab::ActAvgPool", std::vector<c10::IValue>());   // a span in NNLAB_PROFILE traces
    if (kernelApplies(x))
        return ActAvgPoolFn::apply(x, static_cast<int64_t>(m_activation), m_negativeSlope, (*options.kernel_size())[0],
                                   (*options.stride())[0], (*options.padding())[0]);
    torch::Tensor a = x;
    switch (m_activation) {
    case Activation::None: break;
    case Activation::Relu: a = torch::relu(x); break;
    case Activation::LeakyRelu: a = torch::leaky_relu(x, m_negativeSlope); break;
    case Activation::Tanh: a = torch::tanh(x); break;
    case Activation::Sigmoid: a = torch::sigmoid(x); break;
    }
    return torch::avg_pool2d(a, options.kernel_size(), options.stride(), options.padding(), options.ceil_mode(),
                             options.count_include_pad(), options.divisor_override());
}

} // namespace nnlab::detail
