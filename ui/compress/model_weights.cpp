#include "compress/model_weights.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstring>

namespace compresslab {

namespace {

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string layerOf(const std::string& weightName)
{
    return weightName.substr(0, weightName.size() - std::strlen(".weight"));
}

const nnlab::RawTensor* find(const nnlab::SafetensorsRawContents& c, const std::string& name)
{
    for (const nnlab::RawTensor& t : c.tensors)
        if (t.name == name)
            return &t;
    return nullptr;
}

std::vector<float> floats(const nnlab::RawTensor& t)
{
    return nnlab::toNamedTensor(t).values;
}

} // namespace

LayerWeights layerWeights(const std::vector<nnlab::NamedTensor>& tensors)
{
    LayerWeights out;
    for (const nnlab::NamedTensor& t : tensors)
        if (endsWith(t.name, ".weight") && t.shape.size() >= 2)
            out[layerOf(t.name)] = t.values;
    return out;
}

LayerWeights layerWeightsFromRaw(const nnlab::SafetensorsRawContents& c)
{
    LayerWeights out;
    for (const nnlab::RawTensor& t : c.tensors) {
        // Sparse: the mask's set bits say where the values go; the rest are zeros.
        if (endsWith(t.name, ".weight::mask")) {
            const std::string name = t.name.substr(0, t.name.size() - std::strlen("::mask"));
            const nnlab::RawTensor* values = find(c, name + "::values");
            if (!values)
                continue;
            const std::vector<float> nonzero = floats(*values);
            std::vector<float> dense;
            dense.reserve(t.bytes.size() * 8);
            size_t next = 0;
            for (size_t i = 0; i < t.bytes.size() * 8; ++i) {
                const bool set = (t.bytes[i / 8] >> (i % 8)) & 1u;
                if (set && next >= nonzero.size())
                    break;
                dense.push_back(set ? nonzero[next++] : 0.0f);
            }
            // The mask is padded to whole bytes: the listed shape says where the tensor ends.
            if (const auto meta = c.metadata.find("nnlab.sparse"); meta != c.metadata.end()) {
                const QJsonObject shapes = QJsonDocument::fromJson(QByteArray::fromStdString(meta->second)).object();
                const QJsonArray shape = shapes.value(QString::fromStdString(name)).toArray();
                size_t count = shape.isEmpty() ? dense.size() : 1;
                for (const QJsonValue& d : shape)
                    count *= static_cast<size_t>(std::max(0.0, d.toDouble()));
                if (count < dense.size())
                    dense.resize(count);
            }
            out[layerOf(name)] = std::move(dense);
            continue;
        }
        if (!endsWith(t.name, ".weight") || t.shape.size() < 2)
            continue;
        std::vector<float> values = floats(t);
        if (t.dtype == nnlab::TensorDtype::I8) {
            const std::string layer = layerOf(t.name);
            const nnlab::RawTensor* scale = find(c, layer + ".weight_scale");
            const nnlab::RawTensor* zero = find(c, layer + ".weight_zero_point");
            const std::vector<float> scales = scale ? floats(*scale) : std::vector<float>{1.0f};
            const std::vector<float> zeros = zero ? floats(*zero) : std::vector<float>{0.0f};
            const size_t channels = static_cast<size_t>(t.shape[0]);
            const size_t perChannel = channels ? values.size() / channels : values.size();
            for (size_t i = 0; i < values.size(); ++i) {
                const size_t ch = perChannel ? i / perChannel : 0;
                const float s = scales.size() == channels ? scales[ch] : scales.front();
                const float z = zeros.size() == channels ? zeros[ch] : zeros.front();
                values[i] = (values[i] - z) * s;
            }
        }
        out[layerOf(t.name)] = std::move(values);
    }
    return out;
}

LayerWeights layerWeightsFromFile(const std::string& path)
{
    return layerWeightsFromRaw(nnlab::readSafetensorsRaw(path));
}

} // namespace compresslab
