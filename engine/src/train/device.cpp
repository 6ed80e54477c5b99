#include "device.h"

#include <stdexcept>

namespace nnlab::detail {

torch::Device selectDevice(const std::string& preference)
{
    const bool cuda = torch::cuda::is_available();
    if (preference == "cuda") {
        if (!cuda)
            throw std::runtime_error("training.device: \"cuda\" asked for, but this LibTorch has no CUDA "
                                     "support or no GPU is visible; use \"auto\" or \"cpu\"");
        return torch::Device(torch::kCUDA, 0);
    }
    if (preference == "auto" && cuda)
        return torch::Device(torch::kCUDA, 0);
    return torch::Device(torch::kCPU);
}

} // namespace nnlab::detail
