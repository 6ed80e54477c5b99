#include "model_edits.h"

#include "nnlab/layer_types.h"

#include <algorithm>

namespace modeledits {

QList<LayerPath> SiblingRange::paths() const
{
    QList<LayerPath> out;
    for (int i = first; isValid() && i <= last; ++i)
        out << at(i);
    return out;
}

SiblingRange siblingRange(QList<LayerPath> paths)
{
    SiblingRange range;
    if (paths.isEmpty())
        return range;
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    const LayerPath parent = paths.first().mid(0, paths.first().size() - 1);
    for (int i = 0; i < paths.size(); ++i) {
        const LayerPath& p = paths[i];
        if (p.isEmpty() || p.mid(0, p.size() - 1) != parent || p.last() != paths.first().last() + i)
            return range;
    }
    range.parent = parent;
    range.first = paths.first().last();
    range.last = paths.last().last();
    return range;
}

std::vector<nnlab::LayerSpec>* childList(nnlab::ModelSpec& model, const LayerPath& parent)
{
    if (parent.isEmpty())
        return &model.layers;
    nnlab::LayerSpec* layer = layerAt(model, parent);
    return layer ? &layer->layers : nullptr;
}

namespace {

bool isBlock(const nnlab::LayerSpec& layer)
{
    const auto* info = nnlab::findLayerType(layer.type);
    return info && info->isBlock;
}

bool rangeExists(nnlab::ModelSpec& model, const SiblingRange& range)
{
    const auto* list = childList(model, range.parent);
    return range.isValid() && list && range.last < static_cast<int>(list->size());
}

} // namespace

LayerPath insertLayer(nnlab::ModelSpec& model, const LayerPath& after, nnlab::LayerSpec layer)
{
    nnlab::LayerSpec* anchor = after.isEmpty() ? nullptr : layerAt(model, after);
    if (!anchor) {
        model.layers.push_back(std::move(layer));
        return {static_cast<int>(model.layers.size()) - 1};
    }
    if (isBlock(*anchor) && anchor->layers.empty()) {
        anchor->layers.push_back(std::move(layer));
        return after + LayerPath{0};
    }
    auto* list = containerOf(model, after);
    list->insert(list->begin() + after.last() + 1, std::move(layer));
    LayerPath inserted = after;
    inserted.last() += 1;
    return inserted;
}

LayerPath removeLayers(nnlab::ModelSpec& model, QList<LayerPath> paths)
{
    if (paths.isEmpty())
        return {};
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    const LayerPath first = paths.first();
    // Last to first: removing a path only shifts paths that sort after it.
    for (auto it = paths.crbegin(); it != paths.crend(); ++it) {
        auto* list = containerOf(model, *it);
        if (list && it->last() >= 0 && it->last() < static_cast<int>(list->size()))
            list->erase(list->begin() + it->last());
    }
    const LayerPath parent = first.mid(0, first.size() - 1);
    const auto* list = childList(model, parent);
    if (!list)
        return {};
    const int count = static_cast<int>(list->size());
    if (count == 0)
        return parent;
    LayerPath next = parent;
    next << std::min(first.last(), count - 1);
    return next;
}

SiblingRange duplicateRange(nnlab::ModelSpec& model, const SiblingRange& range)
{
    if (!rangeExists(model, range))
        return {};
    auto* list = childList(model, range.parent);
    std::vector<nnlab::LayerSpec> copies(list->begin() + range.first, list->begin() + range.last + 1);
    for (auto& copy : copies)
        if (!copy.name.empty())
            copy.name += "_copy";
    list->insert(list->begin() + range.last + 1, copies.begin(), copies.end());
    const int n = range.last - range.first + 1;
    return {range.parent, range.first + n, range.last + n};
}

bool canMove(const nnlab::ModelSpec& model, const SiblingRange& range, int delta)
{
    auto& m = const_cast<nnlab::ModelSpec&>(model);
    if (!rangeExists(m, range))
        return false;
    const int size = static_cast<int>(childList(m, range.parent)->size());
    return range.first + delta >= 0 && range.last + delta < size;
}

SiblingRange moveRange(nnlab::ModelSpec& model, const SiblingRange& range, int delta)
{
    if (!canMove(model, range, delta) || delta == 0)
        return range;
    auto* list = childList(model, range.parent);
    const auto begin = list->begin() + range.first;
    const auto end = list->begin() + range.last + 1;
    if (delta < 0)
        std::rotate(begin + delta, begin, end);
    else
        std::rotate(begin, end, end + delta);
    return {range.parent, range.first + delta, range.last + delta};
}

LayerPath wrapInResidual(nnlab::ModelSpec& model, const SiblingRange& range)
{
    if (!rangeExists(model, range))
        return {};
    auto* list = childList(model, range.parent);
    nnlab::LayerSpec block = makeLayer("residual");
    block.layers.assign(std::make_move_iterator(list->begin() + range.first),
                        std::make_move_iterator(list->begin() + range.last + 1));
    list->erase(list->begin() + range.first + 1, list->begin() + range.last + 1);
    (*list)[static_cast<size_t>(range.first)] = std::move(block);
    return range.at(range.first);
}

} // namespace modeledits
