// Two small int8 kernels where LibTorch 1.13's are slow for a small CNN (measured, one thread,
// 64 x 16 x 28 x 28: quantized max_pool2d 0.9-1.4 ms, quantize_per_tensor of a 64 x 1 x 28 x 28
// input 0.19 ms): a float -> quint8 quantizer and 2x2 max-pooling on quint8, both plain loops
// the compiler vectorizes. Results equal LibTorch's (max of the stored bytes is the max of the
// values, the scale being positive; rounding half to even as nearbyint).
#include "quantize_impl.h"

#include <algorithm>
#include <cstdint>

namespace nnlab::detail {

torch::Tensor quantizeActivation(const torch::Tensor& x, double scale, int64_t zeroPoint, bool channelsLast)
{
    const auto format = channelsLast && x.dim() == 4 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    const torch::Tensor in = x.to(torch::kFloat32).contiguous(format);
    torch::Tensor out = at::_empty_affine_quantized(in.sizes(), at::device(at::kCPU).dtype(at::kQUInt8), scale, zeroPoint, format);
    const float* src = in.data_ptr<float>();
    uint8_t* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
    const float inv = float(1.0 / scale), zp = float(zeroPoint);
    const float lo = -zp, hi = 255.0f - zp;
    const float magic = 12582912.0f;   // 1.5 * 2^23: adding and subtracting it rounds half to even
    const int64_t n = in.numel();
    for (int64_t i = 0; i < n; ++i) {
        const float r = std::min(std::max(src[i] * inv, lo), hi);
        dst[i] = uint8_t(int32_t((r + magic) - magic + zp));
    }
    return out;
}

bool quantizedPool2x2Covers(const torch::Tensor& x)
{
    return x.is_quantized() && x.scalar_type() == at::kQUInt8 && x.dim() == 4 && x.size(2) >= 2 && x.size(3) >= 2
           && (x.is_contiguous(at::MemoryFormat::ChannelsLast) || x.is_contiguous());
}

torch::Tensor quantizedMaxPool2x2(const torch::Tensor& x)
{
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), oh = h / 2, ow = w / 2;
    const bool nhwc = x.is_contiguous(at::MemoryFormat::ChannelsLast);
    const auto format = nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    torch::Tensor out = at::_empty_affine_quantized({n, c, oh, ow}, at::device(at::kCPU).dtype(at::kQUInt8), x.q_scale(),
                                                    x.q_zero_point(), format);
    const uint8_t* src = reinterpret_cast<const uint8_t*>(x.data_ptr<c10::quint8>());
    uint8_t* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
    if (nhwc) {
        for (int64_t b = 0; b < n; ++b)
            for (int64_t i = 0; i < oh; ++i)
                for (int64_t j = 0; j < ow; ++j) {
                    const uint8_t* p = src + ((b * h + 2 * i) * w + 2 * j) * c;
                    const uint8_t* q = p + w * c;
                    uint8_t* o = dst + ((b * oh + i) * ow + j) * c;
                    for (int64_t k = 0; k < c; ++k)
                        o[k] = std::max(std::max(p[k], p[k + c]), std::max(q[k], q[k + c]));
                }
    } else {
        for (int64_t plane = 0; plane < n * c; ++plane)
            for (int64_t i = 0; i < oh; ++i) {
                const uint8_t* p = src + (plane * h + 2 * i) * w;
                const uint8_t* q = p + w;
                uint8_t* o = dst + (plane * oh + i) * ow;
                for (int64_t j = 0; j < ow; ++j)
                    o[j] = std::max(std::max(p[2 * j], p[2 * j + 1]), std::max(q[2 * j], q[2 * j + 1]));
            }
    }
    return out;
}

} // namespace nnlab::detail
