// The table of layer types: each type's options with defaults, ranges and a one-line doc.
// The JSON parser, the validator, the builder and the editor's property form all read it.
#pragma once

#include <string>
#include <vector>

namespace nnlab {

struct OptionInfo {
    enum class Kind { Int, Float, Bool };
    std::string key;          // JSON key, torch.nn name: "out_channels"
    Kind kind = Kind::Int;
    double defaultValue = 0;  // used when the key is absent (ignored when required)
    double min = 0;           // valid range, inclusive
    double max = 0;
    bool required = false;    // must be given (sizes the user chooses)
    std::string doc;          // one line for tooltips and --help
    // A required size that the model's output layer may leave to the data: 0 there (the key
    // omitted in JSON) means "the number of classes, or of regression targets". Only linear's
    // out_features; see ModelSpec::layers.
    bool fromData = false;
};

struct LayerTypeInfo {
    std::string type;         // "conv2d"
    std::string category;     // "Linear", "Convolution", "Normalization", "Activation", "Pooling", "Shape", "Block"
    std::string doc;          // one line
    std::vector<OptionInfo> options;
    bool isBlock = false;     // holds child layers (residual)
};

const std::vector<LayerTypeInfo>& layerTypes();
const LayerTypeInfo* findLayerType(const std::string& type);      // nullptr when unknown
const OptionInfo* findOption(const LayerTypeInfo& info, const std::string& key);
std::string layerTypeList();                                      // "linear, conv2d, ..."

} // namespace nnlab
