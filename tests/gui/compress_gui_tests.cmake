# Tests of the compression lab's views (ui/compress); offscreen. Rows, results and weights are
# given directly, except test_compress_gui_engine, which compresses a tiny trained run.
nnlab_add_test(test_compress_pareto SOURCES test_compress_pareto.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_dialog SOURCES test_compress_dialog.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_sensitivity SOURCES test_compress_sensitivity.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_layers SOURCES test_compress_layers.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_gui_engine SOURCES test_compress_gui_engine.cpp LIBS nnlab_ui_compress LABELS gui slow
  TIMEOUT 900)
