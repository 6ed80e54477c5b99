#include "nnlab/layer_types.h"

#include <limits>

namespace nnlab {

namespace {

using K = OptionInfo::Kind;
constexpr double kBig = 1 << 20;

OptionInfo req(const char* key, double min, double max, const char* doc)
{
    return {key, K::Int, 0, min, max, true, doc};
}
OptionInfo outputSize(const char* key, const char* doc)
{
    OptionInfo info = req(key, 0, kBig, doc);
    info.fromData = true;
    return info;
}
OptionInfo intOpt(const char* key, double def, double min, double max, const char* doc)
{
    return {key, K::Int, def, min, max, false, doc};
}
OptionInfo floatOpt(const char* key, double def, double min, double max, const char* doc)
{
    return {key, K::Float, def, min, max, false, doc};
}
OptionInfo boolOpt(const char* key, bool def, const char* doc)
{
    return {key, K::Bool, def ? 1.0 : 0.0, 0, 1, false, doc};
}

std::vector<LayerTypeInfo> makeTable()
{
    // Defaults follow torch.nn; a pool's stride of 0 stands for torch's None (= kernel_size).
    return {
        {"linear", "Linear", "Fully connected layer y = xW^T + b on a flat input",
         {outputSize("out_features", "Number of output features; on the model's last linear layer 0 (or "
                                     "omitted) = as many as the data has classes (or regression targets)"),
          boolOpt("bias", true, "Learn an additive bias (default true)")}},
        {"conv2d", "Convolution", "2-D convolution over a [C, H, W] input",
         {req("out_channels", 1, kBig, "Number of output channels"),
          req("kernel_size", 1, 1024, "Square kernel size"),
          intOpt("stride", 1, 1, 1024, "Step between kernel applications (default 1)"),
          intOpt("padding", 0, 0, 1024, "Zero padding on each side (default 0)"),
          intOpt("dilation", 1, 1, 1024, "Spacing between kernel taps (default 1)"),
          intOpt("groups", 1, 1, kBig, "Channel groups; in and out channels must divide by it (default 1)"),
          boolOpt("bias", true, "Learn an additive bias (default true)")}},
        {"batchnorm1d", "Normalization", "Batch normalization over features of a flat or [C, L] input",
         {floatOpt("eps", 1e-5, 0, 1, "Added to the variance for stability (default 1e-5)"),
          floatOpt("momentum", 0.1, 0, 1, "Running statistics update rate (default 0.1)"),
          boolOpt("affine", true, "Learn a scale and shift (default true)")}},
        {"batchnorm2d", "Normalization", "Batch normalization over channels of a [C, H, W] input",
         {floatOpt("eps", 1e-5, 0, 1, "Added to the variance for stability (default 1e-5)"),
          floatOpt("momentum", 0.1, 0, 1, "Running statistics update rate (default 0.1)"),
          boolOpt("affine", true, "Learn a scale and shift (default true)")}},
        {"layernorm", "Normalization", "Layer normalization over all of a sample's dimensions",
         {floatOpt("eps", 1e-5, 0, 1, "Added to the variance for stability (default 1e-5)"),
          boolOpt("elementwise_affine", true, "Learn a per-element scale and shift (default true)")}},
        {"dropout", "Regularization", "Zeroes inputs with probability p while training",
         {floatOpt("p", 0.5, 0, 1, "Probability of zeroing an element (default 0.5)")}},
        {"relu", "Activation", "max(0, x)", {}},
        {"leaky_relu", "Activation", "x if x > 0 else negative_slope * x",
         {floatOpt("negative_slope", 0.01, 0, 1, "Slope for negative inputs (default 0.01)")}},
        {"gelu", "Activation", "Gaussian error linear unit", {}},
        {"tanh", "Activation", "Hyperbolic tangent", {}},
        {"sigmoid", "Activation", "Logistic sigmoid", {}},
        {"maxpool2d", "Pooling", "Maximum over square windows of a [C, H, W] input",
         {req("kernel_size", 1, 1024, "Square window size"),
          intOpt("stride", 0, 0, 1024, "Step between windows; 0 = kernel_size (default)"),
          intOpt("padding", 0, 0, 512, "Implicit padding on each side, at most kernel_size / 2 (default 0)")}},
        {"avgpool2d", "Pooling", "Mean over square windows of a [C, H, W] input",
         {req("kernel_size", 1, 1024, "Square window size"),
          intOpt("stride", 0, 0, 1024, "Step between windows; 0 = kernel_size (default)"),
          intOpt("padding", 0, 0, 512, "Zero padding on each side, at most kernel_size / 2 (default 0)")}},
        {"adaptive_avgpool2d", "Pooling", "Mean pooling to a fixed output_size x output_size",
         {req("output_size", 1, 4096, "Output height and width")}},
        {"flatten", "Shape", "Flattens [C, H, W] into one feature vector", {}},
        {"residual", "Block",
         "Adds its input to the output of its layers; a learned 1x1 conv or linear projection when shapes differ",
         {}, true},
    };
}

} // namespace

const std::vector<LayerTypeInfo>& layerTypes()
{
    static const std::vector<LayerTypeInfo> table = makeTable();
    return table;
}

const LayerTypeInfo* findLayerType(const std::string& type)
{
    for (const auto& info : layerTypes())
        if (info.type == type)
            return &info;
    return nullptr;
}

const OptionInfo* findOption(const LayerTypeInfo& info, const std::string& key)
{
    for (const auto& option : info.options)
        if (option.key == key)
            return &option;
    return nullptr;
}

std::string layerTypeList()
{
    std::string list;
    for (const auto& info : layerTypes())
        list += (list.empty() ? "" : ", ") + info.type;
    return list;
}

} // namespace nnlab
