#include "layer_path.h"

#include "nnlab/layer_types.h"

std::vector<nnlab::LayerSpec>* containerOf(nnlab::ModelSpec& model, const LayerPath& path)
{
    if (path.isEmpty())
        return nullptr;
    std::vector<nnlab::LayerSpec>* list = &model.layers;
    for (int i = 0; i + 1 < path.size(); ++i) {
        if (path[i] < 0 || path[i] >= static_cast<int>(list->size()))
            return nullptr;
        list = &(*list)[static_cast<size_t>(path[i])].layers;
    }
    return list;
}

nnlab::LayerSpec* layerAt(nnlab::ModelSpec& model, const LayerPath& path)
{
    auto* list = containerOf(model, path);
    if (!list || path.last() < 0 || path.last() >= static_cast<int>(list->size()))
        return nullptr;
    return &(*list)[static_cast<size_t>(path.last())];
}

const nnlab::LayerSpec* layerAt(const nnlab::ModelSpec& model, const LayerPath& path)
{
    return layerAt(const_cast<nnlab::ModelSpec&>(model), path);
}

std::string jsonPath(const LayerPath& path)
{
    std::string text = "model";
    for (int index : path)
        text += ".layers[" + std::to_string(index) + "]";
    return text;
}

nnlab::LayerSpec makeLayer(const std::string& type)
{
    nnlab::LayerSpec layer;
    layer.type = type;
    if (const auto* info = nnlab::findLayerType(type)) {
        for (const auto& opt : info->options) {
            double v = opt.defaultValue;
            if (opt.required)   // a starting size the user will usually change
                v = opt.key == "kernel_size" ? (type == "conv2d" ? 3 : 2) : opt.key == "output_size" ? 1 : 16;
            layer.options[opt.key] = v;
        }
    }
    return layer;
}
