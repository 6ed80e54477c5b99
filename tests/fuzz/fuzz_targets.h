// The fuzz targets' entry points, shared by the libFuzzer executables (fuzz_main.cpp) and the
// regression test (test_fuzz_regressions.cpp), so a crash found by fuzzing is replayed through
// exactly the code that found it.
//
// Contract of every entry point: it returns "" when the input was accepted, or the message of
// the clean refusal (the documented exception, or the store's StoreError) when it was not.
// Anything else is a finding: an exception of another type escapes, a broken invariant calls
// fuzzFail (abort with a message), and the sanitizers catch memory errors and undefined
// behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nnlab::fuzz {

using Entry = std::string (*)(const uint8_t* data, size_t size);

std::string experiment(const uint8_t* data, size_t size);      // parseExperiment + prepare + round trip
std::string idx(const uint8_t* data, size_t size);             // readIdx (images, labels, gzip)
std::string cifar(const uint8_t* data, size_t size);           // readCifarBatches (raw, gzip)
std::string csv(const uint8_t* data, size_t size);             // readCsv with fuzzed options (raw, gzip)
std::string safetensors(const uint8_t* data, size_t size);     // parseSafetensors + write/read round trip
std::string modelInterface(const uint8_t* data, size_t size);  // interfaceFromJson + drift on it
std::string predictInput(const uint8_t* data, size_t size);    // readPredictInput: JSON lines, CSV
std::string image(const uint8_t* data, size_t size);           // decodeImage (predict) and serve's decodeImage
std::string serveRequest(const uint8_t* data, size_t size);    // serve::parseJsonInputs, mediaType
std::string storeOpen(const uint8_t* data, size_t size);       // RunStore::open + every read
std::string storeImport(const uint8_t* data, size_t size);     // RunStore::importFrom a fuzzed store
std::string lab(const uint8_t* data, size_t size);             // parseLab + variants and claims of an accepted lab

struct Target {
    const char* name;   // the executable is fuzz_<name>, its inputs tests/fuzz/regressions/<name>/
    Entry entry;
};

inline constexpr Target kTargets[] = {
    {"experiment", experiment},   {"idx", idx},
    {"cifar", cifar},             {"csv", csv},
    {"safetensors", safetensors}, {"model_interface", modelInterface},
    {"predict_input", predictInput}, {"image", image},
    {"serve_request", serveRequest}, {"store_open", storeOpen},
    {"store_import", storeImport}, {"lab", lab},
};

} // namespace nnlab::fuzz
