// A QuantizedModel as a safetensors file ("nnlab.int8/1"): int8 layers as I8 weights with F32
// biases, their scales as F32 tensors per channel ("<layer>.weight_scale", and I32
// "<layer>.weight_zero_point" when one is not 0) or in the metadata per tensor; float layers'
// F32 tensors (BatchNorms already folded); the experiment, each layer's mode and every
// activation range in the metadata. Loading rebuilds the same steps and prepacks the int8 weights for this machine.
#include "quantize_impl.h"

#include "nnlab/spec_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>

namespace nnlab::detail {

namespace {

constexpr const char* kFormat = "nnlab.int8/1";
using Json = nlohmann::json;

RawTensor raw(const std::string& name, TensorDtype dtype, const torch::Tensor& value)
{
    const torch::Tensor t = value.contiguous();
    RawTensor out{name, dtype, t.sizes().vec(), {}};
    const size_t bytes = size_t(t.numel()) * size_t(byteSize(dtype));
    out.bytes.resize(bytes);
    if (bytes)
        std::memcpy(out.bytes.data(), t.data_ptr(), bytes);
    return out;
}

RawTensor f32(const std::string& name, const torch::Tensor& value)
{
    return raw(name, TensorDtype::F32, value.to(torch::kFloat32));
}

void collect(const std::vector<QStep>& steps, std::vector<RawTensor>& tensors, Json& layers, Json& ranges)
{
    for (const QStep& s : steps) {
        ranges[s.name] = {s.out.scale, s.out.zeroPoint};
        if (s.quantizable()) {
            Json layer{{"name", s.name}, {"mode", s.int8 ? "int8" : "float"}};
            if (s.int8) {
                // Written only when not the default (false, 1): the model is a few kB, every byte shows.
                if (s.dynamic)
                    layer["dynamic"] = true;
                if (s.int8FromBatch != 1)
                    layer["int8_from_batch"] = s.int8FromBatch == std::numeric_limits<int64_t>::max() ? -1 : s.int8FromBatch;
                const torch::Tensor& q = s.qweight;
                tensors.push_back(raw(s.name + ".weight", TensorDtype::I8, q.int_repr()));
                // Per tensor: scale (and a zero point, when not 0) in the metadata, which costs
                // less than two more tensor entries; per channel: F32 scales, I32 zero points
                // only when one is not 0 (symmetric weights have none).
                if (q.qscheme() == torch::kPerChannelAffine) {
                    tensors.push_back(f32(s.name + ".weight_scale", q.q_per_channel_scales()));
                    const torch::Tensor zeros = q.q_per_channel_zero_points();
                    if (zeros.ne(0).any().item<bool>())
                        tensors.push_back(raw(s.name + ".weight_zero_point", TensorDtype::I32, zeros.to(torch::kInt32)));
                } else {
                    layer["scale"] = q.q_scale();
                    if (q.q_zero_point() != 0)
                        layer["zero_point"] = q.q_zero_point();
                }
            } else {
                tensors.push_back(f32(s.name + ".weight", s.weight));
            }
            tensors.push_back(f32(s.name + ".bias", s.bias));
            layers.push_back(layer);
        } else if (s.kind == QStep::Kind::BatchNorm) {
            tensors.push_back(f32(s.name + ".weight", s.weight));
            tensors.push_back(f32(s.name + ".bias", s.bias));
            tensors.push_back(f32(s.name + ".running_mean", s.mean));
            tensors.push_back(f32(s.name + ".running_var", s.var));
        } else if (s.kind == QStep::Kind::LayerNorm && s.weight.defined()) {
            tensors.push_back(f32(s.name + ".weight", s.weight));
            tensors.push_back(f32(s.name + ".bias", s.bias));
        }
        collect(s.body, tensors, layers, ranges);
        collect(s.shortcut, tensors, layers, ranges);
    }
}

const char* modeName(QuantizeMode mode) { return mode == QuantizeMode::Static ? "static" : "dynamic"; }

// Drops what equals the default experiment's value (parsing fills it back in): the experiment
// is ~1 kB of a ~12 kB int8 model, most of it defaults.
void dropDefaults(Json& value, const Json& defaults)
{
    for (auto it = value.begin(); it != value.end();) {
        const auto d = defaults.find(it.key());
        // The model stays whole: an omitted model.input means "from the data", not the default.
        if (it.key() == "format" || it.key() == "model" || d == defaults.end()) {
            ++it;
            continue;
        }
        if (it->is_object() && d->is_object()) {
            dropDefaults(*it, *d);
            it = it->empty() ? value.erase(it) : std::next(it);
        } else {
            it = *it == *d ? value.erase(it) : std::next(it);
        }
    }
}

// Numbers that were float32 (class priors, normalization statistics) written with the fewest
// digits that give the same float32, not the 17 of their double.
void shortenFloats(Json& value)
{
    if (value.is_structured()) {
        for (Json& child : value)
            shortenFloats(child);
    } else if (value.is_number_float()) {
        const double d = value.get<double>();
        const float f = float(d);
        if (double(f) != d || !std::isfinite(f))
            return;
        char text[32];
        for (int digits = 6; digits <= 9; ++digits) {
            std::snprintf(text, sizeof text, "%.*g", digits, double(f));
            if (std::strtof(text, nullptr) == f)
                break;
        }
        value = std::strtod(text, nullptr);
    }
}

std::string compactJson(const std::string& text)
{
    try {
        Json j = Json::parse(text);
        shortenFloats(j);
        return j.dump();
    } catch (const Json::exception&) {
        return text;   // not JSON: kept as given
    }
}

} // namespace

void QuantizedModel::save(const std::string& path, const std::map<std::string, std::string>& extraMetadata) const
{
    std::vector<RawTensor> tensors;
    Json layers = Json::array(), ranges = Json::object();
    collect(m_impl->steps, tensors, layers, ranges);
    const QuantizeReport& r = m_impl->report;
    const Json quantization{{"engine", quantEngineName(m_impl->engine)},
                            {"mode", modeName(r.mode)},
                            {"per_channel", r.perChannel},
                            {"calibration_samples", r.calibrationSamples},
                            {"input", {m_impl->input.scale, m_impl->input.zeroPoint}},
                            {"layers", layers},
                            {"ranges", ranges}};
    // Compact: the metadata counts against the file's size, and the model is a few kB.
    std::map<std::string, std::string> metadata;
    for (const auto& [key, text] : extraMetadata)
        metadata[key] = compactJson(text);
    metadata["format"] = kFormat;
    Json experiment = Json::parse(experimentToJson(m_impl->spec));
    dropDefaults(experiment, Json::parse(experimentToJson(ExperimentSpec{})));
    metadata["experiment"] = experiment.dump();
    metadata["quantization"] = quantization.dump();
    writeSafetensorsRaw(path, tensors, metadata);
}

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what)
{
    throw std::runtime_error(path + ": not an nnlab int8 model: " + what);
}

struct FileTensors {
    std::string path;
    std::map<std::string, const RawTensor*> byName;

    const RawTensor& get(const std::string& name, TensorDtype dtype) const
    {
        const auto it = byName.find(name);
        if (it == byName.end())
            bad(path, "tensor \"" + name + "\" is missing");
        if (it->second->dtype != dtype)
            bad(path, "tensor \"" + name + "\" is " + toString(it->second->dtype) + ", expected " + toString(dtype));
        return *it->second;
    }

    torch::Tensor tensor(const std::string& name, TensorDtype dtype, torch::ScalarType type) const
    {
        const RawTensor& t = get(name, dtype);
        torch::Tensor out = torch::empty(t.shape, type);
        if (!t.bytes.empty())
            std::memcpy(out.data_ptr(), t.bytes.data(), t.bytes.size());
        return out;
    }
};

} // namespace

QuantizedModel QuantizedModel::load(const std::string& path)
{
    const SafetensorsRawContents contents = readSafetensorsRaw(path);   // SafetensorsError names the file
    const auto meta = [&](const std::string& key) {
        const auto it = contents.metadata.find(key);
        if (it == contents.metadata.end())
            bad(path, "no \"" + key + "\" in its metadata");
        return it->second;
    };
    if (meta("format") != kFormat)
        bad(path, "its format is \"" + meta("format") + "\", expected \"" + kFormat + "\"");
    const ParseResult parsed = parseExperiment(meta("experiment"));
    if (!parsed.ok())
        bad(path, "its experiment does not parse: " + parsed.errorText());
    Json q;
    try {
        q = Json::parse(meta("quantization"));
    } catch (const std::exception& e) {
        bad(path, std::string("metadata \"quantization\" is not JSON: ") + e.what());
    }

    FileTensors file{path, {}};
    for (const RawTensor& t : contents.tensors)
        file.byName[t.name] = &t;
    try {
        // Int8 layers' metadata, by name.
        std::map<std::string, Json> layers;
        for (const Json& l : q.at("layers"))
            layers[l.at("name").get<std::string>()] = l;
        // The builder reads float tensors: int8 weights enter dequantized, replaced below.
        std::vector<NamedTensor> weights;
        std::map<std::string, torch::Tensor> qweights;
        for (const RawTensor& t : contents.tensors) {
            if (t.dtype == TensorDtype::F32)
                weights.push_back(toNamedTensor(t));
        }
        for (const auto& [name, l] : layers) {
            if (l.at("mode").get<std::string>() != "int8")
                continue;
            const torch::Tensor values = file.tensor(name + ".weight", TensorDtype::I8, torch::kInt8);
            torch::Tensor qw;
            if (l.contains("scale")) {
                const double scale = l.at("scale").get<double>();
                if (!(scale > 0) || values.dim() < 2)
                    bad(path, "layer " + name + ": its weight scale is not positive or its weight has no output dimension");
                qw = at::_make_per_tensor_quantized_tensor(values, scale, l.value("zero_point", int64_t(0)));
            } else {
                const torch::Tensor scales = file.tensor(name + ".weight_scale", TensorDtype::F32, torch::kFloat32);
                const torch::Tensor zeros = file.byName.count(name + ".weight_zero_point")
                    ? file.tensor(name + ".weight_zero_point", TensorDtype::I32, torch::kInt32)
                    : torch::zeros(scales.sizes(), torch::kInt32);
                if (values.dim() < 2 || scales.dim() != 1 || scales.size(0) != values.size(0) || zeros.sizes() != scales.sizes())
                    bad(path, "layer " + name + ": weight_scale (and weight_zero_point) must have one value per output channel ("
                                  + std::to_string(values.dim() ? values.size(0) : 0) + ")");
                if (!(scales > 0).all().item<bool>())
                    bad(path, "layer " + name + ": a weight scale is not positive");
                qw = at::_make_per_channel_quantized_tensor(values, scales.to(torch::kDouble), zeros.to(torch::kLong), 0);
            }
            const torch::Tensor deq = qw.dequantize().contiguous();
            NamedTensor w{name + ".weight", deq.sizes().vec(), {}};
            w.values.assign(deq.data_ptr<float>(), deq.data_ptr<float>() + deq.numel());
            weights.push_back(std::move(w));
            qweights[name] = qw;
        }

        QuantizedModel model;
        try {
            model = buildQuantizedModel(parsed.spec, weights, true);
        } catch (const std::runtime_error& e) {
            bad(path, e.what());
        }
        Impl& impl = model.impl();
        const std::string engineName = q.at("engine").get<std::string>();
        QuantEngine engine = QuantEngine::Auto;
        for (QuantEngine e : {QuantEngine::OneDnn, QuantEngine::Qnnpack, QuantEngine::Fbgemm})
            if (engineName == quantEngineName(e))
                engine = e;
        const std::vector<QuantEngine> have = supportedQuantEngines();
        impl.engine = std::find(have.begin(), have.end(), engine) != have.end() ? engine : resolveQuantEngine(QuantEngine::Auto);
        impl.report.engine = impl.engine;
        impl.report.mode = q.at("mode").get<std::string>() == "dynamic" ? QuantizeMode::Dynamic : QuantizeMode::Static;
        impl.report.perChannel = q.at("per_channel").get<bool>();
        impl.report.calibrationSamples = q.at("calibration_samples").get<int64_t>();
        impl.input.scale = q.at("input").at(0).get<double>();
        impl.input.zeroPoint = q.at("input").at(1).get<int64_t>();
        const Json& ranges = q.at("ranges");
        std::function<void(std::vector<QStep>&)> restore = [&](std::vector<QStep>& steps) {
            for (QStep& s : steps) {
                if (!ranges.contains(s.name))
                    bad(path, "no activation range for layer " + s.name);
                s.out.scale = ranges.at(s.name).at(0).get<double>();
                s.out.zeroPoint = ranges.at(s.name).at(1).get<int64_t>();
                if (!(s.out.scale > 0) || s.out.zeroPoint < 0 || s.out.zeroPoint > 255)
                    bad(path, "layer " + s.name + ": activation range out of bounds");
                restore(s.body);
                restore(s.shortcut);
            }
        };
        restore(impl.steps);
        impl.report.layers.clear();
        std::set<std::string> seen;
        for (QStep* s : quantizableSteps(impl.steps)) {
            const auto it = layers.find(s->name);
            if (it == layers.end())
                bad(path, "layer " + s->name + " is not in the quantization metadata");
            seen.insert(s->name);
            const Json& l = it->second;
            s->why = "as saved";
            if (l.at("mode").get<std::string>() == "int8") {
                s->int8 = true;
                s->dynamic = l.value("dynamic", false);
                const int64_t from = l.value("int8_from_batch", int64_t(1));
                s->int8FromBatch = from < 0 ? std::numeric_limits<int64_t>::max() : std::max<int64_t>(1, from);
                s->qweight = qweights.at(s->name);
                s->perChannel = s->qweight.qscheme() == torch::kPerChannelAffine;
                packStep(*s, impl.engine);
            }
            impl.report.layers.push_back({s->name, s->type, s->int8, s->why, s->fused,
                                          s->int8 ? s->int8FromBatch : std::numeric_limits<int64_t>::max(), 0.0, {}});
        }
        for (const auto& [name, l] : layers)
            if (!seen.count(name))
                bad(path, "layer " + name + " in the quantization metadata is no conv2d or linear layer of its experiment");
        return model;
    } catch (const Json::exception& e) {
        bad(path, std::string("metadata \"quantization\": ") + e.what());
    } catch (const c10::Error& e) {
        bad(path, e.what_without_backtrace());
    }
}

} // namespace nnlab::detail
