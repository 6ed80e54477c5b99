// bench_fused_conv: the convolutional fast paths of engine/src/train/fused_ops.h against
// LibTorch's operators, forward + backward at batch 64 on one thread, per layer of the zoo
// models that use them (MobileNet's depthwise layers, LeNet-5's tanh + average pooling).
// Each case alternates the two implementations and keeps each one's fastest repetition,
// which a shared machine's load moves least. Prints a table; no assertions. (The sigmoid
// row runs LibTorch's operators on both sides, fused_act_pool.cpp: its spread shows the noise.)
#ifndef QT_NO_KEYWORDS
#define QT_NO_KEYWORDS
#endif

#include "fused_ops.h"

#include <torch/torch.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>

namespace {

double seconds(const std::function<void()>& step, int iterations)
{
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i)
        step();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iterations;
}

// Fastest of `reps` alternating bursts, in ms.
std::pair<double, double> race(const std::function<void()>& a, const std::function<void()>& b, int reps = 7)
{
    a();
    b();
    double ta = std::numeric_limits<double>::max(), tb = ta;
    for (int r = 0; r < reps; ++r) {
        ta = std::min(ta, seconds(a, 5));
        tb = std::min(tb, seconds(b, 5));
    }
    return {ta * 1e3, tb * 1e3};
}

void row(const std::string& what, double mflop, std::pair<double, double> t, double nchw)
{
    std::printf("%-44s %9.2f %9.2f %9.2f %7.2fx", what.c_str(), nchw, t.first, t.second, t.first / t.second);
    if (mflop > 0)
        std::printf(" %8.1f", mflop / t.second);
    std::printf("\n");
}

} // namespace

int main()
{
    at::set_num_threads(1);
    // as the trainer does (process_memory.cpp): freed activations are reused, not faulted in again
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    torch::manual_seed(0);
    const auto cl = torch::MemoryFormat::ChannelsLast;
    std::printf("forward + backward, batch 64, 1 thread; ms (fastest of 7 alternating bursts of 5)\n");
    std::printf("%-44s %9s %9s %9s %8s %8s\n", "layer", "torch", "torch", "nnlab", "speed-up", "GFLOP/s");
    std::printf("%-44s %9s %9s %9s %8s %8s\n", "", "NCHW", "NHWC", "", "vs NHWC", "nnlab");

    // MobileNet-style CIFAR net (resources/experiments/zoo/mobilenet-cifar.json): depthwise
    // 3x3, padding 1, input gradient needed (layers below have parameters)
    struct Dw {
        int64_t c, hw, s;
    };
    for (const Dw& d : {Dw{32, 32, 1}, Dw{64, 32, 2}, Dw{128, 16, 1}, Dw{128, 16, 2}, Dw{256, 8, 1}}) {
        const torch::Tensor x = torch::randn({64, d.c, d.hw, d.hw}).contiguous(cl).requires_grad_(true);
        const torch::Tensor xn = x.detach().contiguous().requires_grad_(true);
        const torch::Tensor w = (torch::randn({d.c, 1, 3, 3}) * 0.3).requires_grad_(true);
        const torch::Tensor wcl = w.detach().contiguous(cl).requires_grad_(true);
        const int64_t o = (d.hw + 2 - 3) / d.s + 1;
        const torch::Tensor gy = torch::randn({64, d.c, o, o}).contiguous(cl);
        const double mflop = 3.0 * 2.0 * 64 * d.c * o * o * 9 / 1e6;   // forward, input and weight gradients
        const auto torchStep = [&] { torch::conv2d(x, wcl, {}, d.s, 1, 1, d.c).backward(gy); };
        const auto nnlabStep = [&] { nnlab::detail::depthwiseConv2d(x, w, {}, d.s, 1).backward(gy); };
        const auto nchwStep = [&] { torch::conv2d(xn, w, {}, d.s, 1, 1, d.c).backward(gy.contiguous()); };
        const double nchw = race(nchwStep, nchwStep, 2).first;
        char what[96];
        std::snprintf(what, sizeof what, "depthwise 3x3 s%lld, %lld ch, %lldx%lld", static_cast<long long>(d.s),
                      static_cast<long long>(d.c), static_cast<long long>(d.hw), static_cast<long long>(d.hw));
        row(what, mflop, race(torchStep, nnlabStep), nchw);
        const torch::Tensor xd = x.detach();
        const auto wgrad = race([&] { torch::conv2d(xd, wcl, {}, d.s, 1, 1, d.c).backward(gy); },
                                [&] { nnlab::detail::depthwiseConv2d(xd, w, {}, d.s, 1).backward(gy); });
        std::printf("%-44s %9s %9.2f %9.2f %7.2fx\n", "  forward + weight gradient", "", wgrad.first, wgrad.second,
                    wgrad.first / wgrad.second);
        torch::NoGradGuard noGrad;
        const auto fwd = race([&] { torch::conv2d(x, wcl, {}, d.s, 1, 1, d.c); },
                              [&] { nnlab::detail::depthwiseConv2d(x, w, {}, d.s, 1); });
        std::printf("%-44s %9s %9.2f %9.2f %7.2fx\n", "  forward only", "", fwd.first, fwd.second, fwd.first / fwd.second);
    }

    // LeNet-5 (zoo/lenet5.json): tanh + 2x2 average pooling after each convolution
    using Act = nnlab::detail::ActAvgPoolImpl::Activation;
    struct Pool {
        int64_t c, hw;
        Act act;
        const char* name;
    };
    for (const Pool& p : {Pool{6, 28, Act::Tanh, "tanh"}, Pool{16, 10, Act::Tanh, "tanh"},
                          Pool{6, 28, Act::Sigmoid, "sigmoid"}, Pool{6, 28, Act::Relu, "relu"}}) {
        const torch::Tensor x = torch::randn({64, p.c, p.hw, p.hw}).contiguous(cl).requires_grad_(true);
        const torch::Tensor xn = x.detach().contiguous().requires_grad_(true);
        const torch::Tensor gy = torch::randn({64, p.c, p.hw / 2, p.hw / 2}).contiguous(cl);
        nnlab::detail::ActAvgPool fused(torch::nn::AvgPool2dOptions(2), p.act);
        const auto act = [&](const torch::Tensor& t) {
            return p.act == Act::Tanh ? torch::tanh(t) : p.act == Act::Sigmoid ? torch::sigmoid(t) : torch::relu(t);
        };
        const auto torchStep = [&] { torch::avg_pool2d(act(x), 2).backward(gy); };
        const auto nnlabStep = [&] { fused->forward(x).backward(gy); };
        const auto nchwStep = [&] { torch::avg_pool2d(act(xn), 2).backward(gy.contiguous()); };
        const double nchw = race(nchwStep, nchwStep, 2).first;
        char what[96];
        std::snprintf(what, sizeof what, "%s + avgpool 2x2, %lld ch, %lldx%lld", p.name, static_cast<long long>(p.c),
                      static_cast<long long>(p.hw), static_cast<long long>(p.hw));
        row(what, 0.0, race(torchStep, nnlabStep), nchw);
    }
    return 0;
}
