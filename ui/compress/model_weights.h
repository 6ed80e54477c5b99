// The weights of a run for the per-layer view's histograms, as floats by layer: a float
// checkpoint (loadTrainedWeights), or the model file a compression recorded. The files are
// read with the public safetensors reader; the two layouts the compression lab writes are
// undone here: a pruned tensor stored sparsely ("<name>::mask" bits + "<name>::values") and an
// int8 weight ("<name>.weight" I8 with "<name>.weight_scale" and "<name>.weight_zero_point",
// per tensor or per output channel), dequantized to what the int8 model computes with.
#pragma once

#include "nnlab/safetensors.h"

#include <map>
#include <string>
#include <vector>

namespace compresslab {

// Layer name ("3.body.0") -> its weight values, for the tensors named "<layer>.weight" with at
// least two dimensions (convolutions and linear layers).
using LayerWeights = std::map<std::string, std::vector<float>>;

// From tensors as a checkpoint holds them.
LayerWeights layerWeights(const std::vector<nnlab::NamedTensor>& tensors);
// From a model file (safetensors, possibly sparse or int8). Throws what the reader throws.
LayerWeights layerWeightsFromFile(const std::string& path);
// From raw tensors: what layerWeightsFromFile does after reading.
LayerWeights layerWeightsFromRaw(const nnlab::SafetensorsRawContents& contents);

} // namespace compresslab
