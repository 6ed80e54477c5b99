# Int8 quantization (engine/src/compress/quantize.h): outputs against float, BatchNorm folding,
# per-channel, dynamic, fallbacks, forced int8, save/load and file size. Reaches into the
# library's private headers and LibTorch, as the engine tests do.
nnlab_add_test(test_quantize SOURCES test_quantize.cpp LIBS nnlab_compress nnlab_engine LABELS unit)
target_include_directories(test_quantize PRIVATE ${PROJECT_SOURCE_DIR}/engine/src/compress
                                                 ${PROJECT_SOURCE_DIR}/engine/src/train)
target_include_directories(test_quantize SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
target_link_libraries(test_quantize PRIVATE ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
target_compile_options(test_quantize PRIVATE ${TORCH_CXX_FLAGS})
target_compile_definitions(test_quantize PRIVATE QT_NO_KEYWORDS)

# Not a test: int8 against float on a stored run, a table (README figures).
add_executable(test_quantize_bench test_quantize_bench.cpp)
target_link_libraries(test_quantize_bench PRIVATE nnlab_compress nnlab_engine nnlab_store ${TORCH_LIBRARIES})
target_include_directories(test_quantize_bench PRIVATE ${PROJECT_SOURCE_DIR}/engine/src/compress
                                                       ${PROJECT_SOURCE_DIR}/engine/src/train)
target_include_directories(test_quantize_bench SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
target_compile_options(test_quantize_bench PRIVATE ${TORCH_CXX_FLAGS})
