# Unit tests of the lab format and the observation evaluator, and one test per shipped lab:
# `nnlab-cli lab run` exits 0 only when every observation holds (label "labs").
nnlab_add_test(test_lab_parse SOURCES test_lab_parse.cpp LIBS nnlab_labs LABELS unit)
nnlab_add_test(test_lab_observations SOURCES test_lab_observations.cpp LIBS nnlab_labs nnlab_store LABELS unit)

file(GLOB NNLAB_SHIPPED_LABS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/resources/labs/*.json)
foreach(lab ${NNLAB_SHIPPED_LABS})
  get_filename_component(stem ${lab} NAME_WE)
  add_test(NAME lab_${stem} COMMAND $<TARGET_FILE:nnlab-cli> lab run ${lab} --quiet)
  set_tests_properties(lab_${stem} PROPERTIES LABELS "labs" TIMEOUT 180)
endforeach()
