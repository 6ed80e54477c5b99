// Addresses a layer in the nested layer list: {3} is model.layers[3], {3, 1} is the second
// layer inside the residual block model.layers[3].
#pragma once

#include "nnlab/spec.h"

#include <QList>
#include <string>

using LayerPath = QList<int>;

nnlab::LayerSpec* layerAt(nnlab::ModelSpec& model, const LayerPath& path);
const nnlab::LayerSpec* layerAt(const nnlab::ModelSpec& model, const LayerPath& path);
// The list holding the layer at `path` (model.layers or a residual's layers), or nullptr.
std::vector<nnlab::LayerSpec>* containerOf(nnlab::ModelSpec& model, const LayerPath& path);
// "model.layers[3].layers[1]", the JSON path validation problems use.
std::string jsonPath(const LayerPath& path);
// A layer of `type` with every option at its default (required sizes get a sensible start).
nnlab::LayerSpec makeLayer(const std::string& type);
