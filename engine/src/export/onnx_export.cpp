// Placeholder until the ONNX writer lands (owned by the ONNX export work).
#include "nnlab/model_export.h"

#include <stdexcept>

namespace nnlab {

void exportOnnx(const TrainedWeights&, const std::string& path)
{
    throw std::runtime_error(path + ": ONNX export is not built yet");
}

} // namespace nnlab
