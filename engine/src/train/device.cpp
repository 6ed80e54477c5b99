#include "device.h"

#include <stdexcept>

namespace nnlab::detail {

torch::Device selectDevice(const std::string& preference)
{
    const bool cuda = torch::cuda::is_available();
    if (preference.rfind("cuda", 0) == 0) {
        const int64_t index = preference.size() > 5 ? std::stoll(preference.substr(5)) : 0;
        if (!cuda)
            throw std::runtime_error("training.device: \"" + preference + "\" asked for, but this LibTorch has no CUDA "
                                     "support or no GPU is visible; use \"auto\" or \"cpu\"");
        const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
        if (index >= count)
            throw std::runtime_error("training.device: \"" + preference + "\" asked for, but only " + std::to_string(count)
                                     + " CUDA device(s) are visible (cuda:0 to cuda:" + std::to_string(count - 1) + ")");
        return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    if (preference == "auto" && cuda)
        return torch::Device(torch::kCUDA, 0);
    return torch::Device(torch::kCPU);
}

} // namespace nnlab::detail
