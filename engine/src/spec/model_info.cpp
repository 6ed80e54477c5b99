#include "nnlab/model_info.h"

#include "nnlab/layer_types.h"
#include "spec_inspect.h"
#include "spec_monitors.h"
#include "spec_sweep.h"

#include <cmath>
#include <sstream>

namespace nnlab {

std::string shapeText(const Shape& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

namespace {

int64_t product(const Shape& s)
{
    int64_t n = 1;
    for (auto v : s)
        n *= v;
    return n;
}

std::string number(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
}

// Range checks of one layer's options against the type table.
void checkOptions(const LayerSpec& layer, const LayerTypeInfo& info, const std::string& path,
                  Problems& problems)
{
    for (const auto& opt : info.options) {
        const double v = layer.option(opt.key);
        if (v < opt.min)
            problems.push_back({path + "." + opt.key, "must be >= " + number(opt.min) + ", got " + number(v)});
        else if (v > opt.max)
            problems.push_back({path + "." + opt.key, "must be <= " + number(opt.max) + ", got " + number(v)});
        else if (opt.kind != OptionInfo::Kind::Float && std::floor(v) != v)
            problems.push_back({path + "." + opt.key, "must be a whole number, got " + number(v)});
    }
    for (const auto& [key, value] : layer.options)
        if (!findOption(info, key))
            problems.push_back({path + "." + key, "unknown key; not an option of " + layer.type});
}

// The layer whose out_features may be left to the data: the last top-level linear layer.
int outputLayerIndex(const ModelSpec& model)
{
    for (size_t i = model.layers.size(); i-- > 0;)
        if (model.layers[i].type == "linear")
            return static_cast<int>(i);
    return -1;
}

class Inspector {
public:
    Inspector(ModelInfo& info, Problems& problems, std::string outputLayerPath)
        : m_info(info), m_problems(problems), m_outputLayerPath(std::move(outputLayerPath))
    {
    }

    // Returns the output shape, or {} once a layer fails (later layers are not inferred) or
    // once a shape waits for the data (later layers are listed and checked, without shapes).
    Shape layers(const std::vector<LayerSpec>& specs, Shape in, const std::string& path,
                 const std::string& prefix, int depth)
    {
        for (size_t i = 0; i < specs.size(); ++i) {
            const LayerSpec& spec = specs[i];
            const std::string name = prefix + (spec.name.empty() ? std::to_string(i) : spec.name);
            in = layer(spec, in, path + "[" + std::to_string(i) + "]", name, depth);
            if (!m_info.ok)
                return {};
        }
        return in;
    }

private:
    bool fail(LayerInfo& row, const std::string& message, const std::string& key = "")
    {
        row.ok = false;
        m_info.ok = false;
        const std::string where = key.empty() ? row.path + " (" + row.type + ")" : row.path + "." + key;
        m_problems.push_back({where, message});
        return false;
    }

    // Spatial output size of a window op; 0 when the window does not fit.
    static int64_t windowOut(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation)
    {
        const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : span / stride + 1;
    }

    bool infer(const LayerSpec& s, LayerInfo& row)
    {
        const Shape& in = row.inputShape;
        const std::string& t = s.type;
        const std::string got = "got " + shapeText(in);
        if (t == "linear") {
            if (in.size() != 1)
                return fail(row, "expects a flat input, " + got + "; add a flatten layer");
            const int64_t out = s.intOption("out_features");
            if (out == 0 && row.path == m_outputLayerPath)
                return true;   // as many as the data has classes or targets: not known yet
            if (out == 0)
                return fail(row, "missing (or 0); only the model's last linear layer may leave its size to "
                                 "the data", "out_features");
            row.outputShape = {out};
            row.parameters = in[0] * out + (s.flag("bias") ? out : 0);
            row.macs = in[0] * out;
            return true;
        }
        if (t == "conv2d") {
            if (in.size() != 3)
                return fail(row, "expects a [channels, height, width] input, " + got);
            const int64_t outC = s.intOption("out_channels"), k = s.intOption("kernel_size");
            const int64_t groups = s.intOption("groups");
            if (in[0] % groups || outC % groups)
                return fail(row, "in_channels " + std::to_string(in[0]) + " and out_channels "
                                     + std::to_string(outC) + " must both divide by groups "
                                     + std::to_string(groups), "groups");
            const int64_t h = windowOut(in[1], k, s.intOption("stride"), s.intOption("padding"), s.intOption("dilation"));
            const int64_t w = windowOut(in[2], k, s.intOption("stride"), s.intOption("padding"), s.intOption("dilation"));
            if (h < 1 || w < 1)
                return fail(row, "kernel " + std::to_string(k) + " does not fit the input " + shapeText(in)
                                     + "; reduce kernel_size or add padding", "kernel_size");
            row.outputShape = {outC, h, w};
            const int64_t perOut = (in[0] / groups) * k * k;
            row.parameters = outC * perOut + (s.flag("bias") ? outC : 0);
            row.macs = outC * h * w * perOut;
            return true;
        }
        if (t == "maxpool2d" || t == "avgpool2d") {
            if (in.size() != 3)
                return fail(row, "expects a [channels, height, width] input, " + got);
            const int64_t k = s.intOption("kernel_size"), pad = s.intOption("padding");
            const int64_t stride = s.intOption("stride") > 0 ? s.intOption("stride") : k;
            if (2 * pad > k)
                return fail(row, "must be at most kernel_size / 2 (" + std::to_string(k / 2) + "), got "
                                     + std::to_string(pad), "padding");
            const int64_t h = windowOut(in[1], k, stride, pad, 1), w = windowOut(in[2], k, stride, pad, 1);
            if (h < 1 || w < 1)
                return fail(row, "window " + std::to_string(k) + " does not fit the input " + shapeText(in), "kernel_size");
            row.outputShape = {in[0], h, w};
            return true;
        }
        if (t == "adaptive_avgpool2d") {
            if (in.size() != 3)
                return fail(row, "expects a [channels, height, width] input, " + got);
            const int64_t o = s.intOption("output_size");
            row.outputShape = {in[0], o, o};
            return true;
        }
        if (t == "batchnorm2d") {
            if (in.size() != 3)
                return fail(row, "expects a [channels, height, width] input, " + got + "; use batchnorm1d for flat features");
            row.outputShape = in;
            row.parameters = s.flag("affine") ? 2 * in[0] : 0;
            row.macs = product(in);
            return true;
        }
        if (t == "batchnorm1d") {
            if (in.size() != 1 && in.size() != 2)
                return fail(row, "expects a flat or [channels, length] input, " + got + "; use batchnorm2d for images");
            row.outputShape = in;
            row.parameters = s.flag("affine") ? 2 * in[0] : 0;
            row.macs = product(in);
            return true;
        }
        if (t == "layernorm") {
            row.outputShape = in;
            row.parameters = s.flag("elementwise_affine") ? 2 * product(in) : 0;
            row.macs = product(in);
            return true;
        }
        if (t == "flatten") {
            row.outputShape = {product(in)};
            return true;
        }
        // Element-wise layers: dropout and the activations.
        row.outputShape = in;
        return true;
    }

    Shape residual(const LayerSpec& s, const std::string& path, const std::string& name, int depth,
                   size_t rowIndex)
    {
        const Shape in = m_info.layers[rowIndex].inputShape;
        if (s.layers.empty()) {
            fail(m_info.layers[rowIndex], "a residual block needs at least one layer");
            return {};
        }
        const Shape body = layers(s.layers, in, path + ".layers", name + ".body.", depth + 1);
        if (body.empty())
            return {};
        LayerInfo* row = &m_info.layers[rowIndex];
        if (body == in) {
            row->outputShape = in;
            row->macs = product(in);   // the addition
            return in;
        }
        if (body.size() != in.size() || (in.size() != 1 && in.size() != 3)) {
            fail(*row, "its layers turn " + shapeText(in) + " into " + shapeText(body)
                           + "; a residual block must keep the rank (flat or [C, H, W])");
            return {};
        }
        LayerInfo shortcut;
        shortcut.path = path;
        shortcut.name = name + ".shortcut";
        shortcut.type = "shortcut";
        shortcut.depth = depth + 1;
        shortcut.inputShape = in;
        shortcut.outputShape = body;
        if (in.size() == 1) {
            shortcut.parameters = in[0] * body[0] + body[0];
            shortcut.macs = in[0] * body[0];
        } else {
            // A 1x1 convolution whose stride maps the input grid onto the body's, as in ResNet.
            const int64_t stride = (in[1] + body[1] - 1) / body[1];
            if (windowOut(in[1], 1, stride, 0, 1) != body[1] || windowOut(in[2], 1, stride, 0, 1) != body[2]) {
                fail(*row, "its layers turn " + shapeText(in) + " into " + shapeText(body)
                               + "; no strided 1x1 projection maps one grid onto the other");
                return {};
            }
            shortcut.parameters = in[0] * body[0] + body[0];
            shortcut.macs = in[0] * body[0] * body[1] * body[2];
        }
        m_info.layers.push_back(shortcut);
        row = &m_info.layers[rowIndex];
        row->outputShape = body;
        row->macs = product(body);
        return body;
    }

    Shape layer(const LayerSpec& s, const Shape& in, const std::string& path, const std::string& name,
                int depth)
    {
        LayerInfo row;
        row.path = path;
        row.name = name;
        row.type = s.type;
        row.depth = depth;
        row.inputShape = in;
        const LayerTypeInfo* info = findLayerType(s.type);
        if (!info) {
            fail(row, "unknown layer type \"" + s.type + "\"; one of " + layerTypeList(), "type");
            m_info.layers.push_back(row);
            return {};
        }
        const size_t before = m_problems.size();
        checkOptions(s, *info, path, m_problems);
        if (!info->isBlock && !s.layers.empty())
            m_problems.push_back({path + ".layers", "only a residual block holds layers"});
        if (m_problems.size() != before) {
            row.ok = false;
            m_info.ok = false;
            m_info.layers.push_back(row);
            return {};
        }
        if (info->isBlock) {
            m_info.layers.push_back(row);
            return residual(s, path, name, depth, m_info.layers.size() - 1);
        }
        if (in.empty()) {
            // The input waits for the data: the layer's options are checked, its shape is not.
            if (s.type == "linear" && s.intOption("out_features") == 0 && path != m_outputLayerPath)
                fail(row, "missing (or 0); only the model's last linear layer may leave its size to the data",
                     "out_features");
            m_info.shapesKnown = false;
            m_info.layers.push_back(row);
            return {};
        }
        const bool ok = infer(s, row);
        if (ok && row.outputShape.empty())
            m_info.shapesKnown = false;
        m_info.layers.push_back(row);
        return ok ? row.outputShape : Shape{};
    }

    ModelInfo& m_info;
    Problems& m_problems;
    std::string m_outputLayerPath;   // "model.layers[k]" of the output layer
};

void checkRange(Problems& p, const std::string& path, double v, double min, double max, bool minOpen = false)
{
    if (std::isnan(v) || (minOpen ? v <= min : v < min))
        p.push_back({path, std::string("must be ") + (minOpen ? "> " : ">= ") + number(min) + ", got " + number(v)});
    else if (v > max)
        p.push_back({path, "must be <= " + number(max) + ", got " + number(v)});
}

void checkChoice(Problems& p, const std::string& path, const std::string& v, const std::vector<std::string>& choices)
{
    for (const auto& c : choices)
        if (c == v)
            return;
    std::string list;
    for (const auto& c : choices)
        list += (list.empty() ? "" : ", ") + c;
    p.push_back({path, "unknown value \"" + v + "\"; one of " + list});
}

bool isToySource(const std::string& s)
{
    return s == "spiral" || s == "moons" || s == "circles" || s == "xor" || s == "blobs";
}

void validateData(const DataSpec& d, Problems& p)
{
    checkChoice(p, "data.source", d.source, {"spiral", "moons", "circles", "xor", "blobs", "fashion-mnist", "idx", "cifar10", "csv"});
    checkRange(p, "data.train_limit", static_cast<double>(d.trainLimit), 0, 1e12);
    checkRange(p, "data.validation_fraction", d.validationFraction, 0, 0.9);
    checkChoice(p, "data.normalize", d.normalize, {"auto", "none", "standardize", "scale"});
    if (isToySource(d.source)) {
        checkRange(p, "data.samples", static_cast<double>(d.samples), 10, 1e7);
        checkRange(p, "data.classes", static_cast<double>(d.classes), 2, 10);
        checkRange(p, "data.noise", d.noise, 0, 2);
    }
    if ((d.source == "csv" || d.source == "idx" || d.source == "cifar10") && d.path.empty())
        p.push_back({"data.path", "required for source \"" + d.source + "\""});
    if (d.source == "csv") {
        checkChoice(p, "data.header", d.header, {"auto", "yes", "no"});
        if (d.delimiter.size() != 1 && d.delimiter != "tab" && d.delimiter != "\\t")
            p.push_back({"data.delimiter", "must be one character or \"tab\", got \"" + d.delimiter + "\""});
        checkRange(p, "data.skip_rows", static_cast<double>(d.skipRows), 0, 1e9);
        if (d.comment.find_first_of("\r\n") != std::string::npos)
            p.push_back({"data.comment", "must be a prefix on one line, like \"#\", got a line break"});
    }
}

void validateOptimizer(const OptimizerSpec& o, Problems& p)
{
    checkChoice(p, "optimizer.type", o.type, {"sgd", "adam", "adamw", "rmsprop"});
    checkRange(p, "optimizer.lr", o.lr, 0, 10, true);
    checkRange(p, "optimizer.momentum", o.momentum, 0, 1);
    checkRange(p, "optimizer.weight_decay", o.weightDecay, 0, 10);
    checkRange(p, "optimizer.betas[0]", o.beta1, 0, 0.999999);
    checkRange(p, "optimizer.betas[1]", o.beta2, 0, 0.999999);
    checkRange(p, "optimizer.eps", o.eps, 0, 1, true);
    checkRange(p, "optimizer.alpha", o.alpha, 0, 1);
    if (o.type == "sgd" && o.nesterov && o.momentum <= 0)
        p.push_back({"optimizer.nesterov", "needs momentum > 0"});
}

void validateSchedule(const ScheduleSpec& s, Problems& p)
{
    checkChoice(p, "schedule.type", s.type, {"constant", "step", "exponential", "cosine", "warmup_cosine", "onecycle"});
    checkRange(p, "schedule.warmup_steps", static_cast<double>(s.warmupSteps), 0, 1e9);
    checkRange(p, "schedule.step_size", static_cast<double>(s.stepSize), 1, 1e9);
    checkRange(p, "schedule.gamma", s.gamma, 0, 1, true);
    checkRange(p, "schedule.min_lr", s.minLr, 0, 10);
    checkRange(p, "schedule.pct_start", s.pctStart, 0, 0.999, true);
    checkRange(p, "schedule.div_factor", s.divFactor, 1, 1e9);
    checkRange(p, "schedule.final_div_factor", s.finalDivFactor, 1, 1e12);
}

// "auto", "cpu", "cuda" or "cuda:N" (N a device index).
bool validDevice(const std::string& device)
{
    if (device == "auto" || device == "cpu" || device == "cuda")
        return true;
    if (device.rfind("cuda:", 0) != 0 || device.size() == 5 || device.size() > 8)
        return false;
    return device.find_first_not_of("0123456789", 5) == std::string::npos;
}

void validateTraining(const TrainingSpec& t, Problems& p)
{
    checkRange(p, "training.epochs", static_cast<double>(t.epochs), 1, 100000);
    checkRange(p, "training.batch_size", static_cast<double>(t.batchSize), 1, 1 << 20);
    checkRange(p, "training.eval_batch_size", static_cast<double>(t.evalBatchSize), 0, 1 << 20);
    checkRange(p, "training.grad_clip_norm", t.gradClipNorm, 0, 1e9);
    checkRange(p, "training.grad_clip_value", t.gradClipValue, 0, 1e9);
    checkRange(p, "training.threads", static_cast<double>(t.threads), 0, 1024);
    checkRange(p, "training.workers", static_cast<double>(t.workers), 1, 256);
    if (t.workers > t.batchSize)
        p.push_back({"training.workers", std::to_string(t.workers) + " workers cannot share a batch of "
                                             + std::to_string(t.batchSize) + " (training.batch_size)"});
    if (!validDevice(t.device))
        p.push_back({"training.device", "must be auto, cpu, cuda or cuda:N, got \"" + t.device + "\""});
    checkRange(p, "training.log_every_steps", static_cast<double>(t.logEverySteps), 1, 1e6);
    checkRange(p, "training.checkpoint_every_steps", static_cast<double>(t.checkpointEverySteps), 0, 1e12);
    checkRange(p, "training.checkpoint_every_seconds", t.checkpointEverySeconds, 0, 1e9);
    if (t.bestMetric != "auto" && t.bestMetric != "none"
        && t.bestMetric.rfind("val/", 0) != 0 && t.bestMetric.rfind("train/", 0) != 0)
        p.push_back({"training.best_metric", "must be auto, none or a metric tag such as val/accuracy or val/loss, got \""
                                                 + t.bestMetric + "\""});
}

} // namespace

ModelInfo inspectModel(const ModelSpec& model, Problems& problems)
{
    ModelInfo info;
    for (size_t i = 0; i < model.input.size(); ++i)
        if (model.input[i] < 1) {
            problems.push_back({"model.input[" + std::to_string(i) + "]", "must be >= 1, got " + std::to_string(model.input[i])});
            info.ok = false;
        }
    if (model.input.size() > 3) {   // empty: taken from the data
        problems.push_back({"model.input", "must have 1 to 3 sizes like [1, 28, 28], got " + shapeText(model.input)});
        info.ok = false;
    }
    if (model.layers.empty()) {
        problems.push_back({"model.layers", "the model has no layers"});
        info.ok = false;
    }
    if (!info.ok)
        return info;
    const int output = outputLayerIndex(model);
    Inspector inspector(info, problems, output < 0 ? "" : "model.layers[" + std::to_string(output) + "]");
    if (model.input.empty())
        info.shapesKnown = false;
    info.outputShape = inspector.layers(model.layers, model.input, "model.layers", "", 0);
    info.ok = info.ok && (!info.outputShape.empty() || !info.shapesKnown);
    for (const auto& row : info.layers) {
        info.parameters += row.parameters;
        info.macs += row.macs;
    }
    return info;
}

bool dependsOnData(const ModelSpec& model)
{
    const int output = outputLayerIndex(model);
    return model.input.empty()
           || (output >= 0 && model.layers[static_cast<size_t>(output)].intOption("out_features") == 0);
}

ExperimentSpec completeFromData(const ExperimentSpec& spec, const Shape& sampleShape, int64_t numClasses,
                                int64_t targetDim)
{
    ExperimentSpec out = spec;
    if (out.model.input.empty())
        out.model.input = sampleShape;
    const int output = outputLayerIndex(out.model);
    const int64_t outputs = spec.isClassification() ? numClasses : targetDim;
    if (output >= 0 && outputs > 0) {
        LayerSpec& layer = out.model.layers[static_cast<size_t>(output)];
        if (layer.intOption("out_features") == 0)
            layer.options["out_features"] = static_cast<double>(outputs);
    }
    return out;
}

int64_t knownClassCount(const DataSpec& data)
{
    if (data.source == "fashion-mnist" || data.source == "cifar10")
        return 10;
    if (data.source == "spiral" || data.source == "blobs")
        return data.classes;
    if (data.source == "moons" || data.source == "circles" || data.source == "xor")
        return 2;
    return 0;
}

Problems validateExperiment(const ExperimentSpec& spec, ModelInfo* model)
{
    Problems p;
    if (spec.name.empty())
        p.push_back({"name", "must not be empty"});
    validateData(spec.data, p);
    checkChoice(p, "loss", spec.loss, {"cross_entropy", "mse"});
    validateOptimizer(spec.optimizer, p);
    validateSchedule(spec.schedule, p);
    validateTraining(spec.training, p);
    detail::validateMonitors(spec, p);
    detail::validateSweep(spec, p);
    detail::validateInspect(spec.inspect, p);
    // Every worker would have to reload the checkpoint in step; the rank that rolls back alone
    // would train another model than the others.
    for (size_t i = 0; i < spec.monitors.size() && spec.training.workers > 1; ++i)
        for (const MonitorAction a : spec.monitors[i].actions)
            if (a == MonitorAction::Rollback)
                p.push_back({"monitors[" + std::to_string(i) + "].actions",
                             "rollback is not available with training.workers > 1; use stop, stop_keep_best or multiply_lr"});

    Shape expectedInput;
    if (isToySource(spec.data.source))
        expectedInput = {2};
    else if (spec.data.source == "fashion-mnist")
        expectedInput = {1, 28, 28};
    else if (spec.data.source == "cifar10")
        expectedInput = {3, 32, 32};
    const int64_t classes = knownClassCount(spec.data);
    // A built-in source fixes what the model leaves to the data; for files it waits for them.
    const ExperimentSpec completed
        = expectedInput.empty() ? spec : completeFromData(spec, expectedInput, classes, classes);

    ModelInfo local;
    ModelInfo& info = model ? *model : local;
    info = inspectModel(completed.model, p);
    if (!info.ok)
        return p;
    if (!expectedInput.empty() && completed.model.input != expectedInput)
        p.push_back({"model.input", "must be " + shapeText(expectedInput) + " for source \"" + spec.data.source
                                        + "\", got " + shapeText(completed.model.input)});
    if (spec.loss == "mse" && classes > 0)
        p.push_back({"loss", "mse needs regression targets (a csv source); \"" + spec.data.source
                                 + "\" is a classification data set, use cross_entropy"});
    if (spec.loss == "cross_entropy" && info.shapesKnown) {
        if (info.outputShape.size() != 1)
            p.push_back({"model.layers", "cross_entropy needs a flat output of class scores, the model gives "
                                             + shapeText(info.outputShape) + "; end with flatten and linear"});
        else if (classes > 0 && info.outputShape[0] != classes)
            p.push_back({"model.layers[" + std::to_string(spec.model.layers.size() - 1) + "]",
                         "the model outputs " + std::to_string(info.outputShape[0]) + " scores but source \""
                             + spec.data.source + "\" has " + std::to_string(classes) + " classes"});
    }
    return p;
}

} // namespace nnlab
