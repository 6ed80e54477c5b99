// What a trained model's files hold: safetensors weights (in memory) and the model interface
// JSON recorded with every run (read back by predict, serve and the exports).
#include "fuzz_targets.h"
#include "fuzz_util.h"

#include "nnlab/model_interface.h"
#include "nnlab/safetensors.h"
#include "sparse_weights.h"   // engine/src/export: nnlab's sparse files of pruned weights

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace nnlab::fuzz {

namespace {

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// As written sparsely: zeros (either sign) come back as +0, everything else bit for bit.
bool sameAfterSparse(const std::vector<float>& dense, const std::vector<float>& back)
{
    if (dense.size() != back.size())
        return false;
    for (size_t i = 0; i < dense.size(); ++i) {
        if (dense[i] == 0.0f ? back[i] != 0.0f || std::signbit(back[i])
                             : std::memcmp(&dense[i], &back[i], sizeof(float)) != 0)
            return false;
    }
    return true;
}

} // namespace

// The whole input is the file; parseSafetensors expands nnlab's sparse files (metadata key
// nnlab.sparse, engine/src/export/sparse_weights.h), so the sparse reader is fuzzed here too.
// An accepted file is written back as F32 and must read back with the same names, shapes,
// values and metadata; and written sparsely, it must read back dense with the same values.
std::string safetensors(const uint8_t* data, size_t size)
{
    SafetensorsContents contents;
    try {
        contents = parseSafetensors(data, size, "fuzz.safetensors");
    } catch (const SafetensorsError& e) {
        fuzzCheck(std::strlen(e.what()) > 0, "SafetensorsError without a message");
        return e.what();
    }
    for (const NamedTensor& t : contents.tensors)
        fuzzCheck(t.elementCount() == int64_t(t.values.size()), "tensor '" + t.name + "': values and shape differ");

    const std::string path = scratchDir() + "/weights.safetensors";
    try {
        writeSafetensors(path, contents.tensors, contents.metadata);
    } catch (const SafetensorsError& e) {
        return std::string("read, but not written back: ") + e.what();
    }
    const SafetensorsContents back = readSafetensors(path);
    fuzzCheck(back.metadata == contents.metadata, "metadata changed in the write/read round trip");
    fuzzCheck(back.tensors.size() == contents.tensors.size(), "tensor count changed in the round trip");
    for (const NamedTensor& t : contents.tensors) {
        bool found = false;
        for (const NamedTensor& b : back.tensors)
            if (b.name == t.name) {
                found = true;
                fuzzCheck(b.shape == t.shape && sameBits(b.values, t.values),
                          "tensor '" + t.name + "' changed in the round trip");
            }
        fuzzCheck(found, "tensor '" + t.name + "' lost in the round trip");
    }

    // The sparse writer and reader: the raw reader agrees on the file, and a sparse round trip
    // keeps every tensor (names the sparse parts own are refused by the writer, by name).
    const SafetensorsRawContents raw = parseSafetensorsRaw(data, size, "fuzz.safetensors");
    fuzzCheck(raw.tensors.size() >= contents.tensors.size() || raw.metadata.count(detail::kSparseMetadataKey),
              "the raw reader found fewer tensors than the float reader");
    const std::string sparsePath = scratchDir() + "/weights.sparse.safetensors";
    try {
        detail::writeSparseWeights(sparsePath, contents.tensors, contents.metadata);
    } catch (const SafetensorsError& e) {
        return std::string("read, but not written sparsely: ") + e.what();
    }
    const SafetensorsContents dense = readSafetensors(sparsePath);
    fuzzCheck(dense.metadata == contents.metadata, "metadata changed in the sparse round trip");
    fuzzCheck(dense.tensors.size() == contents.tensors.size(), "tensor count changed in the sparse round trip");
    for (const NamedTensor& t : contents.tensors) {
        bool found = false;
        for (const NamedTensor& b : dense.tensors)
            if (b.name == t.name) {
                found = true;
                fuzzCheck(b.shape == t.shape && sameAfterSparse(t.values, b.values),
                          "tensor '" + t.name + "' changed in the sparse round trip");
            }
        fuzzCheck(found, "tensor '" + t.name + "' lost in the sparse round trip");
    }
    return "";
}

// The whole input is the JSON text. An accepted interface is used as serve uses it (drift of
// a sample) and must survive interfaceToJson.
std::string modelInterface(const uint8_t* data, size_t size)
{
    ModelInterface m;
    try {
        m = interfaceFromJson(std::string(reinterpret_cast<const char*>(data), size));
    } catch (const std::runtime_error& e) {
        fuzzCheck(std::strlen(e.what()) > 0, "interface error without a message");
        return e.what();
    }
    const int64_t sampleSize = m.sampleSize();
    fuzzCheck(sampleSize > 0, "accepted an interface with sample size " + std::to_string(sampleSize));
    fuzzCheck(m.units() > 0 && m.units() <= sampleSize, "units() out of range");
    if (sampleSize <= (1 << 16)) {
        std::vector<float> sample(static_cast<size_t>(sampleSize));
        for (size_t i = 0; i < sample.size(); ++i)
            sample[i] = float(i % 256);
        for (int64_t i = 0; i < sampleSize; i += std::max<int64_t>(1, sampleSize / 64))
            fuzzCheck(m.unitOf(i) >= 0 && m.unitOf(i) < m.units(), "unitOf out of range");
        inputDrift(m, sample.data(), 1);
    }
    const ModelInterface back = interfaceFromJson(interfaceToJson(m));
    fuzzCheck(back.sampleShape == m.sampleShape && back.classNames == m.classNames && back.outputs == m.outputs,
              "interface changed in the JSON round trip");
    return "";
}

} // namespace nnlab::fuzz
