# The fuzz findings as a normal unit test (always built, with gcc, no fuzzer): every input
# under tests/fuzz/regressions/<target>/ goes through the same entry points the fuzzers use.
# Included from tests/CMakeLists.txt.
set(_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})
nnlab_add_test(test_fuzz_regressions
  SOURCES ${_fuzz_dir}/test_fuzz_regressions.cpp
          ${_fuzz_dir}/fuzz_util.cpp ${_fuzz_dir}/fuzz_experiment.cpp ${_fuzz_dir}/fuzz_data.cpp
          ${_fuzz_dir}/fuzz_export.cpp ${_fuzz_dir}/fuzz_predict.cpp ${_fuzz_dir}/fuzz_store.cpp
          ${_fuzz_dir}/fuzz_lab.cpp
          # plain C++ from LibTorch libraries, as in the fuzz build (tests/fuzz/CMakeLists.txt)
          ${PROJECT_SOURCE_DIR}/engine/src/train/experiment.cpp
          ${PROJECT_SOURCE_DIR}/engine/src/serve/request_parse.cpp
          ${PROJECT_SOURCE_DIR}/engine/src/labs/lab_parse.cpp
          ${PROJECT_SOURCE_DIR}/engine/src/labs/lab_observation_parse.cpp
          ${PROJECT_SOURCE_DIR}/engine/src/labs/lab_observations.cpp
          ${PROJECT_SOURCE_DIR}/engine/src/train/preflight_data.cpp
  LIBS nnlab_spec nnlab_data nnlab_store nnlab_export ZLIB::ZLIB PkgConfig::STB nlohmann_json::nlohmann_json
  LABELS unit)
target_include_directories(test_fuzz_regressions PRIVATE ${_fuzz_dir} ${PROJECT_SOURCE_DIR}/engine/src/serve
                                                    ${PROJECT_SOURCE_DIR}/engine/src/export
                                                    ${PROJECT_SOURCE_DIR}/engine/src/labs ${PROJECT_SOURCE_DIR}/engine/src/spec
                                                    ${PROJECT_SOURCE_DIR}/engine/src/train)  # sparse_weights.h
