// Pruned weights stored sparsely in a safetensors file, and read back dense. No LibTorch.
// In nnlab_export so that every reader of weights (parseSafetensors / readSafetensors, and so
// weightsFromSafetensors, evaluate, predict, serve, export) expands them; nnlab_compress writes them.
//
// A tensor stored sparsely becomes two tensors: "<name>::mask", U8 of ceil(n / 8) bytes, bit
// i (least significant first) set when element i (row-major) is non-zero, and
// "<name>::values", F32, the non-zero elements in order. The metadata key "nnlab.sparse" holds
// a JSON object {"<name>": [shape...]} of the tensors so stored. Any safetensors reader can
// open the file; nnlab's puts the dense tensors back. At density d a weight costs 1/8 + 4d
// bytes an element instead of 4: 0.93 bytes at 80% sparsity, 4.3x less.
#pragma once

#include "nnlab/safetensors.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nnlab::detail {

inline constexpr const char* kSparseMetadataKey = "nnlab.sparse";

// Writes `tensors`, each float tensor stored sparsely when that takes fewer bytes than dense
// (every tensor under ~97% density), the rest as dense F32; atomically. `metadata` must not
// use kSparseMetadataKey. Throws SafetensorsError naming the path and the tensor.
void writeSparseWeights(const std::string& path, const std::vector<NamedTensor>& tensors,
                        const std::map<std::string, std::string>& metadata);

// Reads a file of writeSparseWeights, or any safetensors file (nothing sparse in it), with
// every tensor dense, in name order; the metadata without kSparseMetadataKey. Checks, naming
// the file and the tensor: the sparse list parses, each listed tensor has both parts, the
// mask is U8 of ceil(n / 8) bytes for the listed shape with no bit set past n, the values are
// F32 and as many as the mask's set bits, no part is left over and no name is given twice.
// Throws SafetensorsError.
SafetensorsContents parseSparseWeights(const uint8_t* data, size_t size, const std::string& source);
SafetensorsContents readSparseWeights(const std::string& path);

} // namespace nnlab::detail
