// Placeholder until the PyTorch code generator lands (owned by the PyTorch export work).
#include "nnlab/model_export.h"

#include <stdexcept>

namespace nnlab {

void exportPytorch(const TrainedWeights&, const std::string& path, const std::string&)
{
    throw std::runtime_error(path + ": PyTorch export is not built yet");
}

} // namespace nnlab
