// The libFuzzer entry point of one target; NNLAB_FUZZ_ENTRY names its function in
// fuzz_targets.h. A clean refusal returns normally; anything else crashes and is kept.
// NNLAB_FUZZ_VERBOSE=1 prints each input's outcome (to check that seeds are accepted).
#include "fuzz_targets.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const bool verbose = std::getenv("NNLAB_FUZZ_VERBOSE") != nullptr;
    const std::string outcome = nnlab::fuzz::NNLAB_FUZZ_ENTRY(data, size);
    if (verbose)
        std::fprintf(stderr, "[%zu bytes] %s\n", size, outcome.empty() ? "accepted" : outcome.c_str());
    return 0;
}
