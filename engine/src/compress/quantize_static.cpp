// quantizeModel: which layers go int8 (options, forced layers, max-drop), calibration of the
// activation ranges, and the per-layer, per-batch-size choice of int8 or float by timing.
#include "quantize_impl.h"

#include "nnlab/model_info.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <set>
#include <sstream>
#include <stdexcept>

namespace nnlab::detail {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

std::string points(double fraction)
{
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << fraction * 100.0;
    return out.str();
}

std::string millis(double ms)
{
    std::ostringstream out;
    out << std::fixed << std::setprecision(3) << ms << " ms";
    return out.str();
}

// Rows of `x` repeated or cut to `batch` rows.
torch::Tensor batchOf(const torch::Tensor& x, int64_t batch)
{
    if (x.size(0) >= batch)
        return x.slice(0, 0, batch).contiguous();
    const int64_t times = (batch + x.size(0) - 1) / x.size(0);
    std::vector<int64_t> reps(x.dim(), 1);
    reps[0] = times;
    return x.repeat(reps).slice(0, 0, batch).contiguous();
}

// Median milliseconds of the model with `step` in int8 and in float, the calls interleaved so
// that a machine busy with something else slows both alike.
std::pair<double, double> medianMs(const QuantizedModel& model, QStep& step, const torch::Tensor& x, int calls)
{
    constexpr int64_t never = std::numeric_limits<int64_t>::max();
    std::vector<double> int8Ms, floatMs;
    for (int i = -3; i < calls; ++i) {
        for (const bool int8 : {true, false}) {
            step.int8FromBatch = int8 ? 1 : never;
            const auto t0 = std::chrono::steady_clock::now();
            model.forward(x);
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (i >= 0)
                (int8 ? int8Ms : floatMs).push_back(ms);
        }
    }
    const auto median = [](std::vector<double>& v) {
        std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
        return v[v.size() / 2];
    };
    return {median(int8Ms), median(floatMs)};
}

struct ThreadsGuard {
    explicit ThreadsGuard(int threads) : saved(torch::get_num_threads())
    {
        if (threads > 0)
            torch::set_num_threads(threads);
    }
    ~ThreadsGuard() { torch::set_num_threads(saved); }
    int saved;
};

// Names of every layer with its type, and which quantizable step each folded layer went into.
std::map<std::string, std::string> layerTypes(const ExperimentSpec& spec)
{
    Problems problems;
    const ModelInfo info = inspectModel(spec.model, problems);
    std::map<std::string, std::string> out;
    for (const LayerInfo& row : info.layers)
        out[row.name] = row.type;
    return out;
}

void calibrate(QuantizedModel::Impl& impl, const torch::Tensor& x, const QuantizeProgressFn& progress)
{
    impl.observing = true;
    const int64_t n = x.size(0), batch = 256;
    try {
        for (int64_t i = 0; i < n; i += batch) {
            impl.forward(x.slice(0, i, std::min(n, i + batch)));
            if (progress)
                progress("calibrating", std::min(n, i + batch), n);
        }
    } catch (...) {
        impl.observing = false;
        throw;
    }
    impl.observing = false;
    impl.input.fix();
    std::function<void(std::vector<QStep>&)> fix = [&](std::vector<QStep>& steps) {
        for (QStep& s : steps) {
            s.out.fix();
            fix(s.body);
            fix(s.shortcut);
        }
    };
    fix(impl.steps);
}

} // namespace

double quantizedAccuracy(const QuantizedModel& model, const torch::Tensor& x, const torch::Tensor& y)
{
    const int64_t n = x.size(0);
    if (n == 0)
        return -1.0;
    int64_t right = 0;
    for (int64_t i = 0; i < n; i += 256) {
        const int64_t end = std::min(n, i + 256);
        const torch::Tensor out = model.forward(x.slice(0, i, end));
        right += out.argmax(1).eq(y.slice(0, i, end)).sum().item<int64_t>();
    }
    return double(right) / double(n);
}

QuantizedModel quantizeModel(const ExperimentSpec& spec, const std::vector<NamedTensor>& weights,
                             const QuantizeOptions& options, const QuantizeData& data,
                             const QuantizeExtras& extras, const QuantizeProgressFn& progress)
{
    const bool dynamic = options.mode == QuantizeMode::Dynamic;
    if (!dynamic && options.calibrationSamples < 1)
        throw std::invalid_argument("--calibrate: needs at least 1 sample, got " + std::to_string(options.calibrationSamples));
    if (!dynamic && (!data.calibration.defined() || data.calibration.size(0) == 0))
        throw std::invalid_argument("--calibrate: static int8 needs calibration samples and the data has none");
    if (options.maxDrop >= 0 && (!data.validationX.defined() || data.validationX.size(0) == 0))
        throw std::invalid_argument("--max-drop: needs a validation split (data.validation_fraction > 0)");
    if (extras.timingCalls < 1)
        throw std::invalid_argument("timing calls: must be >= 1");

    const QuantEngine engine = resolveQuantEngine(options.engine);
    QuantizedModel model = QuantizedModel::fromFloat(spec, weights);
    QuantizedModel::Impl& impl = model.impl();
    impl.engine = engine;
    std::vector<QStep*> steps = quantizableSteps(impl.steps);

    // Which layer names mean what: quantizable steps, and the layers folded into them.
    std::map<std::string, QStep*> byName;
    for (QStep* s : steps) {
        byName[s->name] = s;
        for (const std::string& a : s->absorbed)
            byName[a] = s;
    }
    std::string quantizableList;
    for (const QStep* s : steps)
        quantizableList += (quantizableList.empty() ? "" : ", ") + s->name;
    const std::map<std::string, std::string> types = layerTypes(spec);
    const std::set<std::string> floatSet(options.floatLayers.begin(), options.floatLayers.end());
    for (const std::string& name : options.floatLayers)
        if (!byName.count(name))
            throw std::invalid_argument("float layers: \"" + name + "\" is no conv2d or linear layer of the model (those are "
                                        + quantizableList + ")");
    std::set<const QStep*> forced;
    for (const std::string& name : extras.int8Layers) {
        const auto it = byName.find(name);
        if (it == byName.end()) {
            const auto t = types.find(name);
            if (t == types.end())
                throw std::invalid_argument("int8 layers: the model has no layer \"" + name + "\"");
            throw std::runtime_error("layer " + name + " (" + t->second + "): the quantized back end ("
                                     + quantEngineName(engine) + ") cannot run it in int8; only conv2d and linear layers "
                                     "(with a BatchNorm and ReLU after them folded in) and residual projections run in int8: "
                                     + quantizableList);
        }
        if (dynamic && it->second->kind == QStep::Kind::Conv)
            throw std::runtime_error("layer " + name + " (conv2d): dynamic int8 runs linear layers only; use static int8 for convolutions");
        if (floatSet.count(name) || floatSet.count(it->second->name))
            throw std::invalid_argument("layer " + name + " is both in float layers and in int8 layers");
        forced.insert(it->second);
    }

    // The initial choice: every layer the mode can run, unless the user keeps it in float.
    std::map<const QStep*, std::string> why;
    auto isFloatLayer = [&](const QStep* s) {
        if (floatSet.count(s->name))
            return true;
        for (const std::string& a : s->absorbed)
            if (floatSet.count(a))
                return true;
        return false;
    };
    for (QStep* s : steps) {
        bool int8 = true;
        if (isFloatLayer(s)) {
            int8 = false;
            why[s] = "float: in float layers";
        } else if (dynamic && s->kind == QStep::Kind::Conv) {
            int8 = false;
            why[s] = "float: dynamic int8 quantizes linear layers only";
        } else {
            why[s] = forced.count(s) ? "int8: forced" : "int8";
        }
        s->int8 = int8;
    }

    if (!dynamic) {
        const int64_t n = std::min<int64_t>(options.calibrationSamples, data.calibration.size(0));
        calibrate(impl, data.calibration.slice(0, 0, n), progress);
        impl.report.calibrationSamples = n;
    }
    auto apply = [&](QStep* s, bool int8) { setStepInt8(*s, int8, dynamic, options.perChannel, engine); };
    std::map<const QStep*, bool> chosen;
    for (QStep* s : steps) {
        chosen[s] = s->int8;
        apply(s, s->int8);
    }

    // Accuracy-aware: each layer alone in int8, then the costliest back to float until the drop fits.
    std::map<const QStep*, double> alone;
    if (options.maxDrop >= 0) {
        const torch::Tensor& vx = data.validationX;
        const torch::Tensor& vy = data.validationY;
        for (QStep* s : steps)
            apply(s, false);
        const double floatAccuracy = quantizedAccuracy(model, vx, vy);
        impl.report.floatAccuracy = floatAccuracy;
        int64_t done = 0;
        for (QStep* s : steps) {
            if (!chosen[s])
                continue;
            apply(s, true);
            alone[s] = floatAccuracy - quantizedAccuracy(model, vx, vy);
            apply(s, false);
            if (progress)
                progress("max-drop: each layer alone in int8", ++done, int64_t(steps.size()));
        }
        for (QStep* s : steps)
            apply(s, chosen[s]);
        double accuracy = quantizedAccuracy(model, vx, vy);
        while (floatAccuracy - accuracy > options.maxDrop) {
            QStep* worst = nullptr;
            for (QStep* s : steps)
                if (chosen[s] && !forced.count(s) && (!worst || alone[s] > alone[worst]))
                    worst = s;
            if (!worst)
                break;
            const double before = floatAccuracy - accuracy;
            chosen[worst] = false;
            apply(worst, false);
            accuracy = quantizedAccuracy(model, vx, vy);
            why[worst] = "float: max-drop " + points(options.maxDrop) + " points; alone in int8 it cost "
                         + points(alone[worst]) + ", the costliest left (model drop " + points(before) + " -> "
                         + points(floatAccuracy - accuracy) + ")";
        }
        impl.report.int8Accuracy = accuracy;
    }

    // Fastest per layer: at each batch size, greedily in model order, int8 or float for each int8 layer.
    std::map<const QStep*, std::map<int64_t, std::pair<double, double>>> timings;
    if (options.fastestPerLayer && !dynamic) {
        ThreadsGuard threads(extras.timingThreads);
        const torch::Tensor sample = data.calibration;
        std::vector<int64_t> batches = extras.timingBatches;
        std::sort(batches.begin(), batches.end());
        std::map<const QStep*, std::map<int64_t, bool>> fast;
        int64_t done = 0;
        for (int64_t b : batches) {
            const torch::Tensor x = batchOf(sample, b);
            for (QStep* s : steps)
                if (chosen[s])
                    s->int8FromBatch = 1;
            for (QStep* s : steps) {
                if (!chosen[s] || forced.count(s))
                    continue;
                const auto [int8Ms, floatMs] = medianMs(model, *s, x, extras.timingCalls);
                timings[s][b] = {int8Ms, floatMs};
                fast[s][b] = int8Ms <= floatMs;
                s->int8FromBatch = fast[s][b] ? 1 : kNever;
                if (progress)
                    progress("timing int8 against float per layer", ++done, int64_t(batches.size() * steps.size()));
            }
        }
        // int8 from the smallest measured batch size from which it was faster at every larger one.
        for (QStep* s : steps) {
            if (!chosen[s] || forced.count(s) || batches.empty())
                continue;
            int64_t from = kNever;
            for (size_t i = batches.size(); i-- > 0;) {
                if (!fast[s][batches[i]])
                    break;
                from = i == 0 ? 1 : int64_t(std::ceil(std::sqrt(double(batches[i - 1]) * double(batches[i]))));
            }
            s->int8FromBatch = from;
            std::string detail;
            for (int64_t b : batches)
                detail += (detail.empty() ? "" : ", ") + std::string("batch ") + std::to_string(b) + ": int8 "
                          + millis(timings[s][b].first) + ", float " + millis(timings[s][b].second);
            if (from == 1)
                why[s] = "int8: faster at every batch size measured (model " + detail + ")";
            else if (from == kNever)
                why[s] = "int8 weights, run in float: int8 was slower (model " + detail + ")";
            else
                why[s] = "int8 from batch " + std::to_string(from) + ", float below: measured model " + detail;
        }
    }

    // Pack the int8 weights afresh: onednn's packed weights cache their last primitive, and the
    // timing above ran them on inputs of other shapes and ranges.
    for (QStep* s : steps)
        if (s->int8)
            packStep(*s, engine);

    QuantizeReport& report = impl.report;
    report.engine = engine;
    report.mode = options.mode;
    report.perChannel = options.perChannel;
    report.layers.clear();
    for (const QStep* s : steps) {
        QuantLayerReport row;
        row.name = s->name;
        row.type = s->type;
        row.int8 = s->int8;
        row.why = why[s];
        row.fused = s->fused;
        row.int8FromBatch = s->int8 ? s->int8FromBatch : kNever;
        row.accuracyDrop = alone.count(s) ? alone[s] : 0.0;
        row.timingMs = timings[s];
        report.layers.push_back(std::move(row));
    }
    return model;
}

} // namespace nnlab::detail
