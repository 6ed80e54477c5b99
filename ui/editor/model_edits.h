// The layer-list edits of the model editor as plain functions on a ModelSpec, so each is one
// ExperimentDocument::apply and each can be tested without widgets. They return what the
// editor should select afterwards.
#pragma once

#include "core/layer_path.h"

#include "nnlab/spec.h"

namespace modeledits {

// Consecutive siblings: the layers first..last of the list at `parent` ({} = the model's list).
struct SiblingRange {
    LayerPath parent;
    int first = -1;
    int last = -1;
    bool isValid() const { return first >= 0 && last >= first; }
    LayerPath at(int index) const { LayerPath p = parent; p << index; return p; }
    QList<LayerPath> paths() const;
};

// The range the selection covers, or an invalid range when the paths are not consecutive
// siblings (or are empty).
SiblingRange siblingRange(QList<LayerPath> paths);

// The list the paths of `parent` index into: the model's layers or a residual's body.
std::vector<nnlab::LayerSpec>* childList(nnlab::ModelSpec& model, const LayerPath& parent);

// Inserts after `after`; into an empty residual when `after` is one (the only way into a new
// block); at the end of the model when `after` is empty or gone. Returns the new layer's path.
LayerPath insertLayer(nnlab::ModelSpec& model, const LayerPath& after, nnlab::LayerSpec layer);

// Removes every path (a block and its children may both be listed). Returns the layer to
// select next: the one now at the first removed place, else the one before it, else the parent.
LayerPath removeLayers(nnlab::ModelSpec& model, QList<LayerPath> paths);

// Inserts copies of the range right after it; returns the copies' range. Named layers get a
// "_copy" suffix so checkpoint parameter names stay unique.
SiblingRange duplicateRange(nnlab::ModelSpec& model, const SiblingRange& range);

bool canMove(const nnlab::ModelSpec& model, const SiblingRange& range, int delta);
// Moves the range one place up (delta -1) or down (+1) among its siblings; returns its new range.
SiblingRange moveRange(nnlab::ModelSpec& model, const SiblingRange& range, int delta);

// Replaces the range by one residual block holding it; returns the block's path.
LayerPath wrapInResidual(nnlab::ModelSpec& model, const SiblingRange& range);

} // namespace modeledits
