# Inside the network (helper F): the "inspect" spec section, snapshots in the store, the
# inspect hook in training runs, and the on-demand functions of nnlab/inspect.h.
nnlab_add_test(test_inspect_spec SOURCES test_inspect_spec.cpp LIBS nnlab_spec LABELS unit)
nnlab_add_test(test_inspect_store SOURCES test_inspect_store.cpp
  LIBS nnlab_store SQLite::SQLite3 nlohmann_json::nlohmann_json LABELS unit)

# Engine-private headers and LibTorch, set up as tests/engine's test_monitors.
foreach(test test_inspect_train test_inspect_ondemand)
  nnlab_add_test(${test} SOURCES ${test}.cpp LIBS nnlab_engine nlohmann_json::nlohmann_json LABELS unit)
  target_include_directories(${test} PRIVATE ${PROJECT_SOURCE_DIR}/engine/src/train)
  target_include_directories(${test} SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(${test} PRIVATE ${TORCH_LIBRARIES})
  target_compile_options(${test} PRIVATE ${TORCH_CXX_FLAGS})
  target_compile_definitions(${test} PRIVATE QT_NO_KEYWORDS)
endforeach()
