#include "tuning.h"

#include "flat_optim.h"
#include "tuning_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <dlfcn.h>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <thread>
#include <time.h>

namespace nnlab::detail {

namespace {

using Clock = std::chrono::steady_clock;

double processCpuSeconds()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Per call: wall time (what the user waits) and the process's CPU time. On a machine that
// other processes keep busy the wall time of a short burst is mostly their noise, while
// the CPU time still tells which kernels do less work; so kernels and layouts are compared
// by CPU time at a given thread count, and thread counts by wall time.
struct Timing {
    double wall = std::numeric_limits<double>::max();
    double cpu = std::numeric_limits<double>::max();
};

// Warm-up first (the first calls of a shape allocate and pick kernels), then the best of
// `bursts` short bursts. A candidate whose warm call already takes `giveUpAbove` seconds is
// not timed further.
Timing timeSteps(const std::function<void()>& step, double burstSeconds,
                 double giveUpAbove = std::numeric_limits<double>::max(), int bursts = 3)
{
    const auto firstStart = Clock::now();
    const double firstCpu = processCpuSeconds();
    step();   // the slow first call of each shape
    const double first = std::chrono::duration<double>(Clock::now() - firstStart).count();
    if (first > 3 * giveUpAbove)   // hopeless already, even allowing for the first call's set-up
        return {first, processCpuSeconds() - firstCpu};
    const auto warmStart = Clock::now();
    const double warmCpu = processCpuSeconds();
    step();
    const double warm = std::chrono::duration<double>(Clock::now() - warmStart).count();
    const double warmCpuSeconds = processCpuSeconds() - warmCpu;
    if (warm > giveUpAbove)
        return {warm, warmCpuSeconds};
    // A step longer than two bursts (VGG, ResNet-20 on CIFAR: 0.15-0.7 s a step, 20-50 ms a
    // layer) is its own sample: the warm call, not bursts of one step each, which made their
    // first start's tuning 7-11 s. Shorter steps are timed in bursts; their warm call (the
    // first after an allocation) is not a sample.
    const bool longStep = warm >= 2 * burstSeconds;
    Timing best = longStep ? Timing{warm, warmCpuSeconds} : Timing{};
    if (longStep)
        bursts = 0;
    const int perBurst = std::clamp(static_cast<int>(burstSeconds / std::max(warm, 1e-6)), 1, 20);
    for (int burst = 0; burst < bursts; ++burst) {
        const auto start = Clock::now();
        const double cpu = processCpuSeconds();
        for (int i = 0; i < perBurst; ++i)
            step();
        best.wall = std::min(best.wall, std::chrono::duration<double>(Clock::now() - start).count() / perBurst);
        best.cpu = std::min(best.cpu, (processCpuSeconds() - cpu) / perBurst);
    }
    return best;
}

struct Conv {
    TunedConv2d conv;
    bool inputNeedsGrad = true;   // false when no parameter comes before it: no input gradient
};

std::vector<Conv> convolutions(torch::nn::Sequential& model)
{
    std::vector<Conv> convs;
    bool parametersBefore = false;
    for (const auto& module : model->modules(/*include_self=*/false)) {
        if (auto conv = std::dynamic_pointer_cast<TunedConv2dImpl>(module))
            convs.push_back({TunedConv2d(conv), parametersBefore});
        if (!module->parameters(/*recurse=*/false).empty())
            parametersBefore = true;
    }
    return convs;
}

// Whether the model has convolutions at all, plain or fused (so memory format matters).
bool hasImageLayers(torch::nn::Sequential& model, const std::vector<Conv>& convs)
{
    if (!convs.empty())
        return true;
    for (const auto& module : model->modules(/*include_self=*/false))
        if (std::dynamic_pointer_cast<ConvPool2x2Impl>(module))
            return true;
    return false;
}

// Re-lays out every 4-D parameter (conv weights). empty_like + copy_ rather than
// contiguous(): a weight with one input channel counts as contiguous in both formats, yet
// oneDNN picks its output format from the weight's strides.
void setMemoryFormat(torch::nn::Sequential& model, bool channelsLast)
{
    torch::NoGradGuard noGrad;
    const auto format = channelsLast ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    for (auto& p : model->parameters())
        if (p.dim() == 4) {
            p.set_data(torch::empty_like(p, format).copy_(p));
            p.mutable_grad().reset();   // a gradient in the old layout would be kept, and slow
        }
    for (const auto& module : model->modules(/*include_self=*/false))
        if (auto fused = std::dynamic_pointer_cast<ConvPool2x2Impl>(module))
            fused->setChannelsLast(channelsLast);
}

// What a convolution's timing depends on: layers with the same key share one measurement.
std::string convShapeKey(const Conv& c)
{
    const auto& o = c.conv->options;
    std::string key = c.inputNeedsGrad ? "g" : "n";
    for (int64_t d : c.conv->inputShape())
        key += ' ' + std::to_string(d);
    key += " o" + std::to_string(o.out_channels());
    for (const auto* v : {&o.kernel_size(), &o.stride(), &o.dilation()})
        for (int64_t d : **v)
            key += ' ' + std::to_string(d);
    key += " g" + std::to_string(o.groups()) + (o.bias() ? " b" : "");
    if (const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding()))
        for (int64_t d : **padding)
            key += " p" + std::to_string(d);
    else
        key += " p?";
    return key;
}

// Per layer, the back end that runs its forward + backward faster on its own, at the
// training batch size and in the given memory format. Layers of the same shape (ResNet's
// stages repeat theirs) are timed once and take the same pick.
std::vector<bool> chooseBackends(std::vector<Conv>& convs, int64_t batch, bool channelsLast)
{
    std::vector<bool> native;
    std::map<std::string, bool> picked;
    for (auto& c : convs) {
        double best = std::numeric_limits<double>::max();
        bool pick = false;
        const std::string key = c.conv->nativeCapable() ? convShapeKey(c) : std::string();
        if (const auto same = picked.find(key); !key.empty() && same != picked.end()) {
            c.conv->setNative(same->second);
            native.push_back(same->second);
            continue;
        }
        if (c.conv->nativeCapable()) {
            std::vector<int64_t> shape{batch};
            shape.insert(shape.end(), c.conv->inputShape().begin(), c.conv->inputShape().end());
            Execution format;
            format.channelsLast = channelsLast;
            const torch::Tensor x = toExecutionFormat(torch::randn(shape), format).requires_grad_(c.inputNeedsGrad);
            torch::Tensor gradOut;
            {
                torch::NoGradGuard noGrad;
                gradOut = torch::randn_like(c.conv->forward(x));
            }
            for (bool candidate : {false, true}) {
                c.conv->setNative(candidate);
                const double t = timeSteps([&] {
                    c.conv->forward(x).backward(gradOut);
                    c.conv->zero_grad(/*set_to_none=*/true);
                    if (c.inputNeedsGrad)
                        x.mutable_grad().reset();
                }, 0.01, 3 * best, /*bursts=*/2).cpu;
                if (t < best) {
                    best = t;
                    pick = candidate;
                }
            }
        }
        c.conv->setNative(pick);
        native.push_back(pick);
        if (!key.empty())
            picked[key] = pick;
    }
    return native;
}

std::string describe(const Execution& e, bool convolutional)
{
    char text[96];
    std::snprintf(text, sizeof text, "%d thread%s%s %.2f ms/step", e.threads, e.threads == 1 ? "" : "s",
                  convolutional ? (e.channelsLast ? " channels-last" : " nchw") : "", e.stepSeconds * 1e3);
    return text;
}

// "; tuning 0.62 s": the run's record and `nnlab-cli train` say what the choice cost (the
// benchmark reads it as the tuning share of the process). Not stored in the cache.
std::string tuningNote(double seconds)
{
    char text[48];
    std::snprintf(text, sizeof text, "; tuning %.3f s", seconds);
    return text;
}

} // namespace

// OpenBLAS keeps its own pool of pthreads (one per core) beside OpenMP's, and its idle
// threads spin on sched_yield: at one OpenMP thread a GEMM could still take both cores.
// at::set_num_threads does not reach it, so it is set here, found at run time because which
// BLAS libblas.so.3 points to is the system's choice.
void applyThreads(int threads)
{
    at::set_num_threads(threads);
    using SetThreads = void (*)(int);
    static const auto setBlasThreads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (setBlasThreads)
        setBlasThreads(threads);
}

void applyExecution(const Execution& e, torch::nn::Sequential& model)
{
    applyThreads(e.threads);
    applyLayout(e, model);
}

void applyLayout(const Execution& e, torch::nn::Sequential& model)
{
    at::globalContext().setUserEnabledMkldnn(true);
    std::vector<Conv> convs = convolutions(model);
    if (hasImageLayers(model, convs))
        setMemoryFormat(model, e.channelsLast);
    for (size_t i = 0; i < convs.size() && i < e.nativeConvs.size(); ++i)
        convs[i].conv->setNative(e.nativeConvs[i]);
}

torch::Tensor toExecutionFormat(const torch::Tensor& x, const Execution& e)
{
    return e.channelsLast && x.dim() == 4 ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

Execution tuneExecution(const ExperimentSpec& spec, torch::nn::Sequential& model, const TensorSet& train,
                        const torch::Device& device)
{
    if (!device.is_cpu()) {
        Execution e;
        e.description = "device " + device.str();
        return e;
    }
    if (spec.training.deterministic) {
        Execution e;
        e.threads = spec.training.threads > 0 ? static_cast<int>(spec.training.threads) : 1;
        e.nativeConvs.assign(convolutions(model).size(), false);
        e.description = "deterministic: " + std::to_string(e.threads) + " thread(s), nchw, oneDNN convolutions";
        applyExecution(e, model);
        return e;
    }
    const auto tuningStart = Clock::now();
    const auto tuningSeconds = [&] { return std::chrono::duration<double>(Clock::now() - tuningStart).count(); };
    const std::string cachePath = tuningCachePath();
    const std::string cacheKey = cachePath.empty() ? std::string() : tuningKey(spec, model, train, device);
    if (std::optional<Execution> cached = loadTuning(cachePath, cacheKey);
        cached && cached->nativeConvs.size() == convolutions(model).size()) {
        const std::string measured = "measured: ";
        if (cached->description.rfind(measured, 0) == 0)
            cached->description.erase(0, measured.size());
        cached->description = "cached: " + cached->description;
        cached->cached = true;
        applyExecution(*cached, model);
        cached->tuningSeconds = tuningSeconds();
        cached->description += tuningNote(cached->tuningSeconds);
        return *cached;
    }
    std::vector<torch::Tensor> saved;
    for (const auto& t : model->parameters())
        saved.push_back(t.detach().clone());
    for (const auto& t : model->buffers())
        saved.push_back(t.detach().clone());

    std::vector<Conv> convs = convolutions(model);
    const bool images = hasImageLayers(model, convs);
    const std::vector<bool> formats = images ? std::vector<bool>{false, true} : std::vector<bool>{false};
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<int> threadChoices;
    if (spec.training.threads > 0)
        threadChoices = {static_cast<int>(spec.training.threads)};
    else
        for (int t = 1; t <= cores; t *= 2)
            threadChoices.push_back(t);
    if (spec.training.threads <= 0 && threadChoices.back() != cores)
        threadChoices.push_back(cores);
    // When other processes already keep the other cores busy (1-minute load average), more
    // threads would lose (OpenMP threads wait for the scheduler; ThreadGuard drops them at
    // run time anyway) and measuring them took seconds: only one thread is measured.
    // Such a choice is cached for an hour only (tuning_cache.h), then measured again.
    const bool measure = threadChoices.size() > 1 || images;
    std::string skipped;
    bool loadLimited = false;
    double load[1] = {0.0};
    if (spec.training.threads <= 0 && threadChoices.size() > 1 && getloadavg(load, 1) == 1
        && load[0] >= cores - 0.5) {
        loadLimited = true;
        char text[96];
        std::snprintf(text, sizeof text, "; more threads not measured (load average %.1f on %d cores)", load[0], cores);
        skipped = text;
        threadChoices = {1};
    }

    const int64_t n = std::min(spec.training.batchSize, train.count);
    const torch::Tensor x0 = train.x.slice(0, 0, n).contiguous(), y = train.y.slice(0, 0, n);
    Execution best;
    best.stepSeconds = std::numeric_limits<double>::max();
    double oneThread = 0.0;
    std::string log;
    for (int threads : threadChoices) {
        Execution bestHere;   // the fastest at this thread count, by CPU time
        bestHere.stepSeconds = std::numeric_limits<double>::max();
        double bestCpu = std::numeric_limits<double>::max();
        // Beyond one thread only one candidate: one thread's format and back ends, timed once,
        // given up as soon as its warm step shows it cannot win by the 20% it must. Timing
        // every format and back end again at each count took most of a first start's tuning,
        // and two threads on a busy 2-core machine run 10-50x slower, so each of those
        // candidates took hundreds of milliseconds to lose.
        const bool reuse = threads > 1 && threadChoices.front() == 1 && best.stepSeconds < std::numeric_limits<double>::max();
        for (bool channelsLast : reuse ? std::vector<bool>{best.channelsLast} : formats) {
            Execution candidate;
            candidate.threads = threads;
            candidate.channelsLast = channelsLast;
            applyThreads(threads);
            if (images)
                setMemoryFormat(model, channelsLast);
            if (reuse) {
                candidate.nativeConvs = best.nativeConvs;
                for (size_t i = 0; i < convs.size() && i < best.nativeConvs.size(); ++i)
                    convs[i].conv->setNative(best.nativeConvs[i]);
            } else {
                // Formats are compared with oneDNN everywhere; the back ends are chosen after,
                // in the winning format only (timing every layer in both formats was most of
                // a CIFAR model's tuning: 4-5 s of VGG's).
                candidate.nativeConvs.assign(convs.size(), false);
                for (auto& c : convs)
                    c.conv->setNative(false);
            }
            Timing t{0.0, 0.0};
            if (measure) {
                // The step the trainer runs, with its optimizer: torch::optim's per-tensor loop
                // is serial work that would hide what a second thread gains.
                FlatOptimizer trial(spec.optimizer, model->parameters());
                const torch::Tensor x = toExecutionFormat(x0, candidate);
                t = timeSteps([&] {
                    trial.zeroGrad();
                    lossFunction(model->forward(x), y, spec.isClassification()).backward();
                    if (spec.training.gradClipNorm > 0)
                        trial.clipGradNorm(spec.training.gradClipNorm);
                    trial.step(spec.optimizer.lr);
                }, 0.015, reuse ? 1.25 * best.stepSeconds : 3 * std::min(best.stepSeconds, bestHere.stepSeconds));
            }
            candidate.stepSeconds = t.wall;
            log += (log.empty() ? "" : ", ") + describe(candidate, images);
            if (t.cpu < bestCpu) {
                bestCpu = t.cpu;
                bestHere = candidate;
            }
        }
        if (!reuse && !convs.empty()) {
            if (images)
                setMemoryFormat(model, bestHere.channelsLast);
            bestHere.nativeConvs = chooseBackends(convs, n, bestHere.channelsLast);
        }
        // More threads only for a clear gain: they cost the other core (a GUI's) and collapse
        // when another process takes it.
        if (threads == 1) {
            best = bestHere;
            oneThread = bestHere.stepSeconds;
        } else if (bestHere.stepSeconds < 0.8 * best.stepSeconds) {
            best = bestHere;
        }
    }
    if (!convs.empty()) {
        log += "; convolutions:";
        for (bool native : best.nativeConvs)
            log += native ? " native" : " onednn";
    }
    log += skipped;
    best.loadLimited = loadLimited;
    best.description = measure ? "measured: " + log : "fixed: " + std::to_string(best.threads) + " thread(s)";
    if (!measure)
        best.stepSeconds = 0.0;
    else if (threadChoices.front() == 1)
        best.oneThreadSeconds = oneThread;

    torch::NoGradGuard noGrad;
    size_t i = 0;
    for (auto& t : model->parameters())
        t.copy_(saved[i++]);
    for (auto& t : model->buffers())
        t.copy_(saved[i++]);
    applyExecution(best, model);
    if (measure)
        storeTuning(cachePath, cacheKey, best);   // a cache: a failed write only costs the next start
    best.tuningSeconds = tuningSeconds();
    if (measure)
        best.description += tuningNote(best.tuningSeconds);
    return best;
}

std::string ThreadGuard::check(int64_t steps, double seconds)
{
    if (m_threads <= 1 || m_stepSeconds <= 0.0)
        return {};
    m_steps += steps;
    m_seconds += seconds;
    if (m_seconds < 0.5)
        return {};
    const double slowdown = m_seconds / static_cast<double>(m_steps) / m_stepSeconds;
    m_slowSpans = slowdown > 1.0 ? m_slowSpans + 1 : 0;
    m_steps = 0;
    m_seconds = 0.0;
    if (m_slowSpans < 2)
        return {};
    char text[160];
    std::snprintf(text, sizeof text, "steps on %d threads ran %.1fx as long as measured on 1 thread (other processes "
                  "hold the cores); continuing on 1 thread", m_threads, slowdown);
    m_threads = 1;
    applyThreads(1);
    return text;
}

} // namespace nnlab::detail
