# Tests of the compression lab's views (ui/compress); offscreen. Rows, results and weights are
# given directly, except test_compress_gui_engine, which compresses a tiny trained run.
nnlab_add_test(test_compress_pareto SOURCES test_compress_pareto.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_dialog SOURCES test_compress_dialog.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_sensitivity SOURCES test_compress_sensitivity.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_layers SOURCES test_compress_layers.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_gui_engine SOURCES test_compress_gui_engine.cpp LIBS nnlab_ui_compress LABELS gui slow
  TIMEOUT 900)
# Screenshots for the README (skipped unless its environment names a store; see the file).
nnlab_add_test(test_compress_screenshots SOURCES test_compress_screenshots.cpp LIBS nnlab_ui_compress LABELS gui)
nnlab_add_test(test_compress_runs_actions SOURCES test_compress_runs_actions.cpp test_runs_fixture.h
  LIBS nnlab_ui_runs LABELS gui)
nnlab_add_test(test_compress_window SOURCES test_compress_window.cpp LIBS nnlab_app_gui LABELS gui)
