# Compressed results through the generic tools (helper I): a pruned run without a checkpoint
# loads from its model file (sparse files expanded) for evaluate, predict, serve and export;
# ONNX of a structured-pruned run checked in ONNX Runtime; int8 results refused with what
# works instead; damaged sparse files refused naming the file and the tensor.
nnlab_add_test(test_compressed_export SOURCES test_compressed_export.cpp
               LIBS nnlab_compress nnlab_engine nnlab_store nnlab_export LABELS unit TIMEOUT 600)
target_compile_definitions(test_compressed_export PRIVATE NNLAB_CLI="$<TARGET_FILE:nnlab-cli>")
target_include_directories(test_compressed_export PRIVATE ${PROJECT_SOURCE_DIR}/engine/src/export)
add_dependencies(test_compressed_export nnlab-cli nnlab-engine)
