// safetensors (https://github.com/huggingface/safetensors): 8 bytes little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}, then the tensors' bytes. The reader trusts nothing in the file: every
// offset, length, shape and dtype is checked against the file before a byte is read, and a
// malformed or hostile header is refused with a message that names the file and the field.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnlab {

class SafetensorsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class TensorDtype { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };
const char* toString(TensorDtype dtype);     // "F32", ... as the format spells them
int64_t byteSize(TensorDtype dtype);

// A tensor as plain values: name, shape and float32 data (row-major).
struct NamedTensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
    int64_t elementCount() const;
};

struct SafetensorsContents {
    std::map<std::string, std::string> metadata;
    std::vector<NamedTensor> tensors;        // in file offset order, converted to float32
};

// Largest header accepted (the format's own reader also caps it, at 100 MB).
constexpr uint64_t kMaxSafetensorsHeader = 100ull * 1024 * 1024;

// Parses a whole file image; `source` names it in messages. Accepts F32, F64, F16, BF16 and
// the integer dtypes (converted to float); rejects overlapping, out-of-range or unordered
// data_offsets, lengths that disagree with the shape, bytes not covered by any tensor,
// duplicate names and headers over kMaxSafetensorsHeader. Throws SafetensorsError.
// A sparse file of pruned weights (metadata key "nnlab.sparse": "<name>::mask" bits and
// "<name>::values", see engine/src/export/sparse_weights.h) comes back dense, in name order,
// without that key, after the sparse reader's own checks (each naming the file and tensor).
SafetensorsContents parseSafetensors(const uint8_t* data, size_t size, const std::string& source);
SafetensorsContents readSafetensors(const std::string& path);

// Writes F32 tensors, names sorted as the format's own writer sorts them, atomically
// (temporary file, fsync, rename). Throws SafetensorsError naming the path; refuses the
// metadata key "nnlab.sparse" (it would make the file unreadable as dense).
void writeSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata);

// Typed tensors as the file holds them (for int8 models, sparse bitmasks and the like): the
// dtype is kept and `bytes` are the little-endian elements, row-major, exactly
// elementCount() * byteSize(dtype) of them.
struct RawTensor {
    std::string name;
    TensorDtype dtype = TensorDtype::F32;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
    int64_t elementCount() const;
};

struct SafetensorsRawContents {
    std::map<std::string, std::string> metadata;
    std::vector<RawTensor> tensors;          // in file offset order, dtypes as stored
};

// As parseSafetensors / readSafetensors, with every same check, but the tensors keep their
// dtypes and bytes. Throws SafetensorsError.
SafetensorsRawContents parseSafetensorsRaw(const uint8_t* data, size_t size, const std::string& source);
SafetensorsRawContents readSafetensorsRaw(const std::string& path);

// Writes tensors of any dtype, names sorted, atomically, as writeSafetensors. Refuses (naming
// the tensor) an empty, reserved or repeated name and a byte count that disagrees with the
// shape and dtype. Throws SafetensorsError naming the path.
void writeSafetensorsRaw(const std::string& path, const std::vector<RawTensor>& tensors,
                         const std::map<std::string, std::string>& metadata);

// Conversions: an F32 raw tensor from float values, and float values from any raw tensor
// (integers and halves converted as parseSafetensors converts them).
RawTensor toRawTensor(const NamedTensor& tensor);
NamedTensor toNamedTensor(const RawTensor& tensor);

} // namespace nnlab
