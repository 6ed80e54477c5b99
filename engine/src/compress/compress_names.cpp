// The compression methods' names (nnlab/compress.h), as runs record them. No LibTorch: the
// window reads them from stored runs without the engine module (engine/src/lazy).
#include "nnlab/compress.h"

namespace nnlab {

const char* compressMethodName(CompressMethod method)
{
    switch (method) {
    case CompressMethod::None: return "";
    case CompressMethod::PruneUnstructured: return "prune";
    case CompressMethod::PruneStructured: return "prune-structured";
    case CompressMethod::QuantizeStatic: return "int8-static";
    case CompressMethod::QuantizeDynamic: return "int8-dynamic";
    case CompressMethod::Distill: return "distill";
    }
    return "";
}

std::optional<CompressMethod> compressMethodFromName(const std::string& name)
{
    for (CompressMethod m : {CompressMethod::None, CompressMethod::PruneUnstructured, CompressMethod::PruneStructured,
                             CompressMethod::QuantizeStatic, CompressMethod::QuantizeDynamic, CompressMethod::Distill})
        if (name == compressMethodName(m))
            return m;
    return std::nullopt;
}

} // namespace nnlab
