// Sparse safetensors files of pruned weights (sparse_weights.h).
#include "sparse_weights.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

namespace nnlab::detail {

namespace {

const std::string kMaskSuffix = "::mask";
const std::string kValuesSuffix = "::values";

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

[[noreturn]] void fail(const std::string& source, const std::string& what)
{
    throw SafetensorsError(source + ": " + what);
}

} // namespace

void writeSparseWeights(const std::string& path, const std::vector<NamedTensor>& tensors,
                        const std::map<std::string, std::string>& metadata)
{
    if (metadata.count(kSparseMetadataKey))
        fail(path, std::string("the metadata key '") + kSparseMetadataKey + "' is the sparse list's own");
    std::vector<RawTensor> raw;
    nlohmann::json sparse = nlohmann::json::object();
    for (const NamedTensor& t : tensors) {
        if (endsWith(t.name, kMaskSuffix) || endsWith(t.name, kValuesSuffix))
            fail(path, "tensor '" + t.name + "': names ending in ::mask or ::values are the sparse parts' own");
        if (t.elementCount() != int64_t(t.values.size()))
            fail(path, "tensor '" + t.name + "' has " + std::to_string(t.values.size()) + " values for its shape");
        const int64_t n = int64_t(t.values.size());
        int64_t nonzero = 0;
        for (float v : t.values)
            nonzero += v != 0.0f;
        const int64_t maskBytes = (n + 7) / 8;
        if (n == 0 || maskBytes + 4 * nonzero >= 4 * n) {
            raw.push_back(toRawTensor(t));
            continue;
        }
        RawTensor mask{t.name + kMaskSuffix, TensorDtype::U8, {maskBytes}, std::vector<uint8_t>(size_t(maskBytes), 0)};
        std::vector<float> values;
        values.reserve(size_t(nonzero));
        for (int64_t i = 0; i < n; ++i) {
            if (t.values[size_t(i)] == 0.0f)   // -0.0f too: it loads back as +0.0f
                continue;
            mask.bytes[size_t(i / 8)] |= uint8_t(1u << (i % 8));
            values.push_back(t.values[size_t(i)]);
        }
        raw.push_back(std::move(mask));
        raw.push_back(toRawTensor({t.name + kValuesSuffix, {nonzero}, std::move(values)}));
        sparse[t.name] = t.shape;
    }
    std::map<std::string, std::string> meta = metadata;
    if (!sparse.empty())
        meta[kSparseMetadataKey] = sparse.dump();
    writeSafetensorsRaw(path, raw, meta);   // refuses repeated and empty names
}

SafetensorsContents parseSparseWeights(const uint8_t* data, size_t size, const std::string& source)
{
    SafetensorsRawContents raw = parseSafetensorsRaw(data, size, source);
    std::map<std::string, const RawTensor*> byName;
    for (const RawTensor& t : raw.tensors)
        byName[t.name] = &t;

    nlohmann::json sparse = nlohmann::json::object();
    const auto listed = raw.metadata.find(kSparseMetadataKey);
    if (listed != raw.metadata.end()) {
        sparse = nlohmann::json::parse(listed->second, nullptr, false);
        if (sparse.is_discarded() || !sparse.is_object())
            fail(source, std::string("__metadata__.") + kSparseMetadataKey + ": expected a JSON object of tensor shapes");
        raw.metadata.erase(listed);
    }

    SafetensorsContents out;
    out.metadata = std::move(raw.metadata);
    std::set<std::string> used;
    for (const auto& [name, shapeJson] : sparse.items()) {
        const std::string field = "sparse tensor '" + name + "'";
        const auto mask = byName.find(name + kMaskSuffix);
        const auto values = byName.find(name + kValuesSuffix);
        if (mask == byName.end() || values == byName.end())
            fail(source, field + ": the file lacks its " + (mask == byName.end() ? kMaskSuffix : kValuesSuffix) + " part");
        if (byName.count(name))
            fail(source, field + ": also stored dense under the same name");
        const RawTensor& m = *mask->second;
        const RawTensor& v = *values->second;
        if (m.dtype != TensorDtype::U8 || m.shape.size() != 1)
            fail(source, field + ": its mask must be a 1-D U8 tensor, is " + toString(m.dtype) + " of rank "
                             + std::to_string(m.shape.size()));
        if (v.dtype != TensorDtype::F32 || v.shape.size() != 1)
            fail(source, field + ": its values must be a 1-D F32 tensor, are " + toString(v.dtype) + " of rank "
                             + std::to_string(v.shape.size()));
        // The shape: non-negative sizes whose product the mask can hold (which bounds it by the file).
        const uint64_t capacity = uint64_t(m.bytes.size()) * 8;
        if (!shapeJson.is_array() || shapeJson.size() > 8)
            fail(source, field + ": its shape must be an array of at most 8 sizes");
        std::vector<int64_t> shape;
        uint64_t n = 1;
        for (const auto& d : shapeJson) {
            if (!d.is_number_unsigned())
                fail(source, field + ": its shape " + shapeJson.dump() + " has a size that is not a non-negative integer");
            const uint64_t size = d.get<uint64_t>();
            if (size != 0 && n > capacity / size)
                fail(source, field + ": its shape " + shapeJson.dump() + " has more elements than its mask of "
                                 + std::to_string(m.bytes.size()) + " bytes covers");
            n *= size;
            shape.push_back(int64_t(size));
        }
        if ((n + 7) / 8 != m.bytes.size())
            fail(source, field + ": shape " + shapeJson.dump() + " has " + std::to_string(n) + " elements, which need a mask of "
                             + std::to_string((n + 7) / 8) + " bytes, the file's has " + std::to_string(m.bytes.size()));
        uint64_t setBits = 0;
        for (uint64_t i = 0; i < m.bytes.size(); ++i) {
            uint8_t byte = m.bytes[i];
            if (i == m.bytes.size() - 1 && n % 8 != 0 && (byte >> (n % 8)) != 0)
                fail(source, field + ": its mask has bits set past its " + std::to_string(n) + " elements");
            for (; byte; byte &= uint8_t(byte - 1))
                ++setBits;
        }
        const uint64_t count = v.bytes.size() / 4;
        if (setBits != count)
            fail(source, field + ": its mask marks " + std::to_string(setBits) + " non-zero elements, it has "
                             + std::to_string(count) + " values");
        NamedTensor dense{name, shape, std::vector<float>(size_t(n), 0.0f)};
        const uint8_t* p = v.bytes.data();
        for (uint64_t i = 0; i < n; ++i) {
            if (!(m.bytes[i / 8] & (1u << (i % 8))))
                continue;
            std::memcpy(&dense.values[size_t(i)], p, 4);
            p += 4;
        }
        out.tensors.push_back(std::move(dense));
        used.insert(m.name);
        used.insert(v.name);
    }
    for (const RawTensor& t : raw.tensors) {
        if (used.count(t.name))
            continue;
        if (endsWith(t.name, kMaskSuffix) || endsWith(t.name, kValuesSuffix))
            fail(source, "tensor '" + t.name + "' is a sparse part of a tensor the metadata's "
                             + kSparseMetadataKey + " list does not name");
        out.tensors.push_back(toNamedTensor(t));
    }
    std::sort(out.tensors.begin(), out.tensors.end(),
              [](const NamedTensor& a, const NamedTensor& b) { return a.name < b.name; });
    return out;
}

SafetensorsContents readSparseWeights(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw SafetensorsError(path + ": cannot open");
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    if (in.bad())
        throw SafetensorsError(path + ": cannot read");
    return parseSparseWeights(bytes.data(), bytes.size(), path);
}

} // namespace nnlab::detail
