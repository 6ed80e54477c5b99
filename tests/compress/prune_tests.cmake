# Pruning (unstructured, AGP hook, structured, sparse files) and the typed raw safetensors it stores in.
nnlab_add_test(test_prune_raw_safetensors SOURCES test_prune_raw_safetensors.cpp LIBS nnlab_engine LABELS unit)
