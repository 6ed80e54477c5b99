#include "nnlab/snapshot.h"

namespace nnlab {

namespace {
struct KindName {
    SnapshotKind kind;
    const char* name;
};
// The store's `kind` column holds these names: never rename one.
constexpr KindName kKindNames[] = {
    {SnapshotKind::DecisionBoundary, "decision_boundary"},
    {SnapshotKind::NeuronBoundary, "neuron_boundary"},
    {SnapshotKind::WeightHistogram, "weight_histogram"},
    {SnapshotKind::GradientHistogram, "gradient_histogram"},
    {SnapshotKind::ConfusionMatrix, "confusion_matrix"},
};
} // namespace

const char* toString(SnapshotKind kind)
{
    for (const auto& k : kKindNames)
        if (k.kind == kind)
            return k.name;
    return "unknown";
}

std::optional<SnapshotKind> snapshotKindFromString(const std::string& text)
{
    for (const auto& k : kKindNames)
        if (text == k.name)
            return k.kind;
    return std::nullopt;
}

int64_t Snapshot::elementCount() const
{
    int64_t n = 1;
    for (const int64_t d : shape)
        n *= d;
    return n;
}

} // namespace nnlab
