# The compression lab's core (helper A): measurement, recording and compareRuns, the Pareto
# frontier, and the `compress` / `compare` commands end to end.
nnlab_add_test(test_compress_core SOURCES test_compress_core.cpp LIBS nnlab_compress nnlab_engine nnlab_store LABELS unit)
target_include_directories(test_compress_core PRIVATE ${PROJECT_SOURCE_DIR}/engine/src/compress
                                                      ${PROJECT_SOURCE_DIR}/engine/src/train)
target_include_directories(test_compress_core SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
target_link_libraries(test_compress_core PRIVATE ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
target_compile_options(test_compress_core PRIVATE ${TORCH_CXX_FLAGS})
target_compile_definitions(test_compress_core PRIVATE QT_NO_KEYWORDS)

nnlab_add_test(test_compress_cli SOURCES test_compress_cli.cpp LIBS nnlab_store nnlab_spec LABELS unit TIMEOUT 300)
target_compile_definitions(test_compress_cli PRIVATE NNLAB_CLI="$<TARGET_FILE:nnlab-cli>")
add_dependencies(test_compress_cli nnlab-cli)
