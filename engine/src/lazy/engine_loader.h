// The window's training engine, loaded in the background. The nnlab window links no LibTorch:
// loading it (about 300 shared libraries and their static initialisation) took longer than
// showing the window. LibTorch and the engine code that uses it are in a module,
// libnnlab_torch_engine.so, that a thread started first thing in main() loads with dlopen;
// the engine functions the window calls (forward_*.cpp) wait for it, then call through its
// table (engine_table.h). Everything the engine does without LibTorch (specs, the store,
// preparing an experiment, parsing labs) is linked directly and never waits.
#pragma once

#include <string>

namespace nnlab::lazy {

struct LoadStatus {
    bool finished = false;   // loaded, or failed
    bool ok = false;
    std::string path;        // the module file (tried), empty when none was found
    std::string error;       // why it failed, naming the file
    double seconds = 0.0;    // dlopen and LibTorch's start-up, on the loading thread
};

// First thing in main(), before any other thread starts: tunes the allocator for training,
// and holds the load back until startLoading(). dlopen holds glibc's loader lock for the
// whole load (0.5 s), so the window's own plugin loads (the platform plugin in QApplication's
// constructor, the icons of the first paint) would wait behind it. Engine calls made
// meanwhile on other threads wait for the load; on this thread they start it.
void deferLoading();

// Starts the loading thread (once the window shows); returns at once; a second call does
// nothing. The module is looked for beside the program, then in NNLAB_TORCH_ENGINE_FROM_BINDIR
// (the install layout); $NNLAB_TORCH_ENGINE names another file.
void startLoading();

// Where loading stands, without waiting.
LoadStatus loadStatus();

// Waits until the module has loaded or failed (starting the load if nobody did). main()
// calls it before returning: the process must not exit while dlopen runs.
LoadStatus waitForLoad();

} // namespace nnlab::lazy
