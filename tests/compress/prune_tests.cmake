# Pruning (unstructured, AGP hook, structured, sparse files) and the typed raw safetensors it stores in.
nnlab_add_test(test_prune_raw_safetensors SOURCES test_prune_raw_safetensors.cpp LIBS nnlab_engine LABELS unit)
foreach(test test_prune_unstructured test_prune_structured)
  nnlab_add_test(${test} SOURCES ${test}.cpp LIBS nnlab_compress nnlab_engine LABELS unit)
  target_include_directories(${test} PRIVATE ${PROJECT_SOURCE_DIR}/engine/src/compress
                                             ${PROJECT_SOURCE_DIR}/engine/src/train
                                             ${PROJECT_SOURCE_DIR}/engine/src/export
                                             ${PROJECT_SOURCE_DIR}/tests/engine)
  target_include_directories(${test} SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(${test} PRIVATE ${TORCH_LIBRARIES})
  target_compile_options(${test} PRIVATE ${TORCH_CXX_FLAGS})
  target_compile_definitions(${test} PRIVATE QT_NO_KEYWORDS)
endforeach()
