// Precompiled header: the LibTorch front end, parsed once for every engine .cpp.
#pragma once
#include <torch/torch.h>
