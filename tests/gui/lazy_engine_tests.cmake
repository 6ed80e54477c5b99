# The nnlab program loads LibTorch in the background (engine/src/lazy): it links none, its
# module exports one table, it trains right after start, and a missing or broken module is
# reported by name instead of crashing.
if(TARGET nnlab AND TARGET nnlab_torch_engine)
  nnlab_add_test(test_lazy_engine SOURCES test_lazy_engine.cpp LABELS gui TIMEOUT 300)
  target_compile_definitions(test_lazy_engine PRIVATE
    NNLAB_GUI="$<TARGET_FILE:nnlab>" NNLAB_TORCH_ENGINE_MODULE="$<TARGET_FILE:nnlab_torch_engine>")
  add_dependencies(test_lazy_engine nnlab nnlab_torch_engine)
endif()
