// The machine's measured peak: a 1024x1024 float matrix product and the jobs' convolutions
// (forward + backward at the training batch size, oneDNN and native), at each thread count.
#include "bench_speed.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <dlfcn.h>
#include <functional>

namespace bench {

namespace {

// LibTorch's thread count and OpenBLAS's own pool (at::set_num_threads does not reach it),
// as nnlab's trainer sets them.
void setThreads(int threads)
{
    at::set_num_threads(threads);
    using SetThreads = void (*)(int);
    static const auto setBlasThreads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (setBlasThreads)
        setBlasThreads(threads);
}

// Best seconds per call over three bursts of about `seconds` / 3 each, after a warm-up.
double bestSeconds(const std::function<void()>& call, double seconds)
{
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    call();
    call();
    const double once = std::max(std::chrono::duration<double>(Clock::now() - t0).count() / 2, 1e-6);
    const int perBurst = std::max(1, static_cast<int>(seconds / 3 / once));
    double best = 1e18;
    for (int burst = 0; burst < 3; ++burst) {
        t0 = Clock::now();
        for (int i = 0; i < perBurst; ++i)
            call();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / perBurst);
    }
    return best;
}

Json convCase(const Json& shape, bool mkldnn, double seconds)
{
    const int64_t batch = shape["batch"], cin = shape["in_channels"], h = shape["height"], w = shape["width"];
    const int64_t cout = shape["out_channels"], k = shape["kernel"], stride = shape["stride"], pad = shape["padding"];
    at::globalContext().setUserEnabledMkldnn(mkldnn);
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(cin, cout, k).stride(stride).padding(pad));
    const torch::Tensor x = torch::randn({batch, cin, h, w}).requires_grad_(true);
    const torch::Tensor probe = conv->forward(x);
    const torch::Tensor gradOut = torch::randn(probe.sizes());
    const double t = bestSeconds([&] {
        conv->zero_grad();
        x.mutable_grad() = torch::Tensor();
        conv->forward(x).backward(gradOut);
    }, seconds);
    at::globalContext().setUserEnabledMkldnn(true);
    // Forward, weight gradient and input gradient: three products of the forward's size.
    const double macs = static_cast<double>(batch * cout * probe.size(2) * probe.size(3) * cin * k * k);
    char name[128];
    std::snprintf(name, sizeof name, "conv %lldx%lld %lld->%lld k%lld s%lld b%lld %s", static_cast<long long>(h),
                  static_cast<long long>(w), static_cast<long long>(cin), static_cast<long long>(cout),
                  static_cast<long long>(k), static_cast<long long>(stride), static_cast<long long>(batch),
                  mkldnn ? "onednn" : "native");
    return Json{{"case", name}, {"gflops", 6.0 * macs / t / 1e9}};
}

} // namespace

Json measurePeak(const std::vector<int>& threadCounts, const Json& convShapes, double secondsPerCase)
{
    const int previous = at::get_num_threads();
    Json cases = Json::array();
    double peak = 0.0;
    Json peakByThreads = Json::object();
    for (int threads : threadCounts) {
        setThreads(threads);
        double best = 0.0;
        {
            torch::NoGradGuard noGrad;
            const int64_t n = 1024;
            const torch::Tensor a = torch::rand({n, n}), b = torch::rand({n, n});
            torch::Tensor c = torch::empty({n, n});
            const double t = bestSeconds([&] { torch::mm_out(c, a, b); }, secondsPerCase);
            Json row{{"case", "matmul 1024x1024x1024"}, {"threads", threads}, {"gflops", 2.0 * n * n * n / t / 1e9}};
            best = std::max(best, row["gflops"].get<double>());
            cases.push_back(row);
        }
        for (const auto& shape : convShapes)
            for (bool mkldnn : {true, false}) {
                Json row = convCase(shape, mkldnn, secondsPerCase);
                row["threads"] = threads;
                best = std::max(best, row["gflops"].get<double>());
                cases.push_back(row);
            }
        peakByThreads[std::to_string(threads)] = best;
        peak = std::max(peak, best);
    }
    setThreads(previous);
    return Json{{"gflops", peak}, {"by_threads", peakByThreads}, {"cases", cases}};
}

} // namespace bench
