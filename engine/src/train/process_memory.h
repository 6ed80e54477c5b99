// The allocator settings every training process wants, before its first thread starts.
// No LibTorch: the window applies them first thing in main(), before LibTorch loads in the
// background (engine/src/lazy), and prepareProcess() (nnlab/runtime.h) applies them too.
#pragma once

namespace nnlab::detail {

void tuneAllocator();

} // namespace nnlab::detail
