#include "nnlab/safetensors.h"

#include "nnlab/atomic_file.h"
#include "sparse_weights.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>


namespace nnlab {

namespace {

struct DtypeName {
    TensorDtype dtype;
    const char* name;
    int64_t bytes;
};

constexpr DtypeName kDtypes[] = {
    {TensorDtype::F32, "F32", 4}, {TensorDtype::F64, "F64", 8},  {TensorDtype::F16, "F16", 2},
    {TensorDtype::BF16, "BF16", 2}, {TensorDtype::I64, "I64", 8}, {TensorDtype::I32, "I32", 4},
    {TensorDtype::I16, "I16", 2}, {TensorDtype::I8, "I8", 1},     {TensorDtype::U8, "U8", 1},
    {TensorDtype::Bool, "BOOL", 1},
};

const DtypeName* findDtype(const std::string& name)
{
    for (const DtypeName& d : kDtypes)
        if (name == d.name)
            return &d;
    return nullptr;
}

float halfToFloat(uint16_t h)
{
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1f;
    const uint32_t mantissa = h & 0x3ff;
    float value;
    if (exponent == 0)
        value = std::ldexp(float(mantissa), -24);
    else if (exponent == 31)
        value = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    else
        value = std::ldexp(float(mantissa | 0x400), int(exponent) - 25);
    return sign ? -value : value;
}

template <typename T>
T load(const uint8_t* p)
{
    T value;
    std::memcpy(&value, p, sizeof(T));   // little-endian file, little-endian hosts only (x86, arm64)
    return value;
}

float elementAt(TensorDtype dtype, const uint8_t* p)
{
    switch (dtype) {
    case TensorDtype::F32: return load<float>(p);
    case TensorDtype::F64: return float(load<double>(p));
    case TensorDtype::F16: return halfToFloat(load<uint16_t>(p));
    case TensorDtype::BF16: {
        const uint32_t bits = uint32_t(load<uint16_t>(p)) << 16;
        return load<float>(reinterpret_cast<const uint8_t*>(&bits));
    }
    case TensorDtype::I64: return float(load<int64_t>(p));
    case TensorDtype::I32: return float(load<int32_t>(p));
    case TensorDtype::I16: return float(load<int16_t>(p));
    case TensorDtype::I8: return float(load<int8_t>(p));
    case TensorDtype::U8: return float(*p);
    case TensorDtype::Bool: return *p ? 1.0f : 0.0f;
    }
    return 0.0f;
}

[[noreturn]] void fail(const std::string& source, const std::string& what)
{
    throw SafetensorsError(source + ": " + what);
}

// Reads an unsigned JSON integer, refusing negatives, fractions and other types.
uint64_t unsignedAt(const nlohmann::json& value, const std::string& source, const std::string& field)
{
    if (!value.is_number_unsigned())
        fail(source, field + ": expected a non-negative integer");
    return value.get<uint64_t>();
}

} // namespace

const char* toString(TensorDtype dtype)
{
    for (const DtypeName& d : kDtypes)
        if (d.dtype == dtype)
            return d.name;
    return "?";
}

int64_t byteSize(TensorDtype dtype)
{
    for (const DtypeName& d : kDtypes)
        if (d.dtype == dtype)
            return d.bytes;
    return 0;
}

int64_t NamedTensor::elementCount() const
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

namespace {

struct Entry {
    std::string name;
    const DtypeName* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
};

// The checked layout of a file image: metadata and the tensors' places in the data, which
// tile it exactly. Both parsers (float and raw) go through here, so both refuse the same files.
struct Layout {
    std::map<std::string, std::string> metadata;
    std::vector<Entry> entries;              // in offset order
    const uint8_t* body = nullptr;
};

Layout parseLayout(const uint8_t* data, size_t size, const std::string& source)
{
    if (size < 8)
        fail(source, "too short for a safetensors file (" + std::to_string(size) + " bytes, the header length alone is 8)");
    const uint64_t headerSize = load<uint64_t>(data);
    if (headerSize > kMaxSafetensorsHeader)
        fail(source, "header length " + std::to_string(headerSize) + " is over the limit of "
                         + std::to_string(kMaxSafetensorsHeader) + " bytes");
    if (headerSize > size - 8)
        fail(source, "header length " + std::to_string(headerSize) + " runs past the end of the file ("
                         + std::to_string(size) + " bytes)");
    const nlohmann::json header = nlohmann::json::parse(data + 8, data + 8 + headerSize, nullptr, false);
    if (header.is_discarded() || !header.is_object())
        fail(source, "the header is not a JSON object");
    const uint8_t* body = data + 8 + headerSize;
    const uint64_t bodySize = size - 8 - headerSize;

    std::vector<Entry> entries;
    Layout layout;
    for (const auto& [name, value] : header.items()) {
        const std::string field = "tensor '" + name + "'";
        if (name == "__metadata__") {
            if (!value.is_object())
                fail(source, "__metadata__: expected an object of strings");
            for (const auto& [key, text] : value.items()) {
                if (!text.is_string())
                    fail(source, "__metadata__." + key + ": expected a string");
                layout.metadata[key] = text.get<std::string>();
            }
            continue;
        }
        if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
            fail(source, field + ": expected an object with dtype, shape and data_offsets");
        if (!value["dtype"].is_string())
            fail(source, field + ".dtype: expected a string");
        const DtypeName* dtype = findDtype(value["dtype"].get<std::string>());
        if (!dtype)
            fail(source, field + ".dtype: unknown dtype '" + value["dtype"].get<std::string>()
                             + "' (expected F32, F64, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
        const nlohmann::json& shapeJson = value["shape"];
        if (!shapeJson.is_array() || shapeJson.size() > 8)
            fail(source, field + ".shape: expected an array of at most 8 sizes");
        std::vector<int64_t> shape;
        uint64_t elements = 1;
        for (size_t i = 0; i < shapeJson.size(); ++i) {
            const uint64_t d = unsignedAt(shapeJson[i], source, field + ".shape[" + std::to_string(i) + "]");
            if (d != 0 && elements > bodySize / d)
                fail(source, field + ".shape: " + shapeJson.dump() + " has more elements than the file has bytes");
            elements *= d;
            shape.push_back(int64_t(d));
        }
        const nlohmann::json& offsets = value["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2)
            fail(source, field + ".data_offsets: expected [begin, end]");
        const uint64_t begin = unsignedAt(offsets[0], source, field + ".data_offsets[0]");
        const uint64_t end = unsignedAt(offsets[1], source, field + ".data_offsets[1]");
        if (begin > end || end > bodySize)
            fail(source, field + ".data_offsets: [" + std::to_string(begin) + ", " + std::to_string(end)
                             + "] is outside the " + std::to_string(bodySize) + " bytes of tensor data");
        if (end - begin != elements * uint64_t(dtype->bytes))
            fail(source, field + ": shape " + shapeJson.dump() + " of " + dtype->name + " needs "
                             + std::to_string(elements * uint64_t(dtype->bytes)) + " bytes, data_offsets give "
                             + std::to_string(end - begin));
        entries.push_back({name, dtype, std::move(shape), begin, end});
    }
    // The tensors must tile the data exactly: no overlap, no gap, nothing after the last.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t expected = 0;
    for (const Entry& e : entries) {
        if (e.begin < expected)
            fail(source, "tensor '" + e.name + "' overlaps the tensor before it (data_offsets begin at "
                             + std::to_string(e.begin) + ", the previous one ends at " + std::to_string(expected) + ")");
        if (e.begin > expected)
            fail(source, "bytes " + std::to_string(expected) + ".." + std::to_string(e.begin)
                             + " of tensor data belong to no tensor (before '" + e.name + "')");
        expected = e.end;
    }
    if (expected != bodySize)
        fail(source, std::to_string(bodySize - expected) + " bytes after the last tensor belong to no tensor");
    layout.entries = std::move(entries);
    layout.body = body;
    return layout;
}

// A tensor to write: its header fields and where its bytes are.
struct WriteItem {
    const std::string* name;
    const char* dtype;
    const std::vector<int64_t>* shape;
    const uint8_t* bytes;
    uint64_t size;
};

void writeItems(const std::string& path, std::vector<WriteItem> items,
                const std::map<std::string, std::string>& metadata)
{
    std::sort(items.begin(), items.end(), [](const WriteItem& a, const WriteItem& b) { return *a.name < *b.name; });
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const WriteItem& t : items) {
        header[*t.name] = {{"dtype", t.dtype}, {"shape", *t.shape}, {"data_offsets", {offset, offset + t.size}}};
        offset += t.size;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');   // the data starts 8-byte aligned, as the format's writer does
    try {
        writeFileAtomically(path, [&](std::ostream& out) {
            const uint64_t length = text.size();
            out.write(reinterpret_cast<const char*>(&length), 8);
            out.write(text.data(), std::streamsize(text.size()));
            for (const WriteItem& t : items)
                out.write(reinterpret_cast<const char*>(t.bytes), std::streamsize(t.size));
        });
    } catch (const std::runtime_error& e) {
        throw SafetensorsError(e.what());
    }
}

std::vector<uint8_t> readWholeFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw SafetensorsError(path + ": cannot open");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0)
        throw SafetensorsError(path + ": cannot read");
    in.seekg(0);
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        throw SafetensorsError(path + ": cannot read");
    return bytes;
}

} // namespace

SafetensorsContents parseSafetensors(const uint8_t* data, size_t size, const std::string& source)
{
    Layout layout = parseLayout(data, size, source);
    // nnlab's sparse files (pruned weights) come back dense, checked by the sparse reader.
    if (layout.metadata.count(detail::kSparseMetadataKey))
        return detail::parseSparseWeights(data, size, source);
    SafetensorsContents contents;
    contents.metadata = std::move(layout.metadata);
    const uint8_t* body = layout.body;
    for (const Entry& e : layout.entries) {
        NamedTensor tensor{e.name, e.shape, {}};
        const uint64_t count = (e.end - e.begin) / uint64_t(e.dtype->bytes);
        tensor.values.resize(count);
        const uint8_t* p = body + e.begin;
        for (uint64_t i = 0; i < count; ++i, p += e.dtype->bytes)
            tensor.values[i] = elementAt(e.dtype->dtype, p);
        contents.tensors.push_back(std::move(tensor));
    }
    return contents;
}

SafetensorsContents readSafetensors(const std::string& path)
{
    const std::vector<uint8_t> bytes = readWholeFile(path);
    return parseSafetensors(bytes.data(), bytes.size(), path);
}

void writeSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    if (metadata.count(detail::kSparseMetadataKey))
        throw SafetensorsError(path + ": the metadata key '" + detail::kSparseMetadataKey
                               + "' marks a sparse file (detail::writeSparseWeights writes those)");
    std::vector<WriteItem> items;
    std::set<std::string> names;
    for (const NamedTensor& t : tensors) {
        if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second)
            throw SafetensorsError(path + ": tensor name '" + t.name + "' is empty, reserved or repeated");
        if (t.elementCount() != int64_t(t.values.size()))
            throw SafetensorsError(path + ": tensor '" + t.name + "' has " + std::to_string(t.values.size())
                                   + " values for its shape");
        items.push_back({&t.name, "F32", &t.shape, reinterpret_cast<const uint8_t*>(t.values.data()),
                         t.values.size() * sizeof(float)});
    }
    writeItems(path, std::move(items), metadata);
}

int64_t RawTensor::elementCount() const
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

SafetensorsRawContents parseSafetensorsRaw(const uint8_t* data, size_t size, const std::string& source)
{
    Layout layout = parseLayout(data, size, source);
    SafetensorsRawContents contents;
    contents.metadata = std::move(layout.metadata);
    for (Entry& e : layout.entries)
        contents.tensors.push_back({e.name, e.dtype->dtype, std::move(e.shape),
                                    std::vector<uint8_t>(layout.body + e.begin, layout.body + e.end)});
    return contents;
}

SafetensorsRawContents readSafetensorsRaw(const std::string& path)
{
    const std::vector<uint8_t> bytes = readWholeFile(path);
    return parseSafetensorsRaw(bytes.data(), bytes.size(), path);
}

void writeSafetensorsRaw(const std::string& path, const std::vector<RawTensor>& tensors,
                         const std::map<std::string, std::string>& metadata)
{
    std::vector<WriteItem> items;
    std::set<std::string> names;
    for (const RawTensor& t : tensors) {
        if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second)
            throw SafetensorsError(path + ": tensor name '" + t.name + "' is empty, reserved or repeated");
        const int64_t width = byteSize(t.dtype);
        if (width == 0)
            throw SafetensorsError(path + ": tensor '" + t.name + "' has an unknown dtype");
        for (int64_t d : t.shape)
            if (d < 0)
                throw SafetensorsError(path + ": tensor '" + t.name + "' has a negative size in its shape");
        if (uint64_t(t.elementCount()) * uint64_t(width) != t.bytes.size())
            throw SafetensorsError(path + ": tensor '" + t.name + "' has " + std::to_string(t.bytes.size())
                                   + " bytes, its shape of " + toString(t.dtype) + " needs "
                                   + std::to_string(t.elementCount() * width));
        items.push_back({&t.name, toString(t.dtype), &t.shape, t.bytes.data(), t.bytes.size()});
    }
    writeItems(path, std::move(items), metadata);
}

RawTensor toRawTensor(const NamedTensor& tensor)
{
    const auto* begin = reinterpret_cast<const uint8_t*>(tensor.values.data());
    return {tensor.name, TensorDtype::F32, tensor.shape,
            std::vector<uint8_t>(begin, begin + tensor.values.size() * sizeof(float))};
}

NamedTensor toNamedTensor(const RawTensor& tensor)
{
    NamedTensor out{tensor.name, tensor.shape, {}};
    const int64_t width = byteSize(tensor.dtype);
    if (width == 0 || tensor.bytes.size() % uint64_t(width) != 0)
        throw SafetensorsError("tensor '" + tensor.name + "': " + std::to_string(tensor.bytes.size())
                               + " bytes are not whole " + toString(tensor.dtype) + " elements");
    out.values.resize(tensor.bytes.size() / uint64_t(width));
    const uint8_t* p = tensor.bytes.data();
    for (size_t i = 0; i < out.values.size(); ++i, p += width)
        out.values[i] = elementAt(tensor.dtype, p);
    return out;
}

} // namespace nnlab
