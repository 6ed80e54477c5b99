# Distillation and sensitivity analysis (nnlab/distill.h, nnlab/sensitivity.h): the loss by
# hand, alpha = 0 as plain training, refusals, recorded runs, resumes; the heat map's cells.
foreach(test test_distill test_sensitivity)
  nnlab_add_test(${test} SOURCES ${test}.cpp LIBS nnlab_compress nnlab_engine nnlab_store LABELS unit)
  target_include_directories(${test} PRIVATE ${PROJECT_SOURCE_DIR}/engine/src/train)
  target_include_directories(${test} SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(${test} PRIVATE ${TORCH_LIBRARIES})
  target_compile_options(${test} PRIVATE ${TORCH_CXX_FLAGS})
  target_compile_definitions(${test} PRIVATE QT_NO_KEYWORDS)
endforeach()
