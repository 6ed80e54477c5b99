# Lab mode (ui/labs): locks grey the right editor widgets, the question gates Train, and
# observations render ticks from a hand-made store; one tiny step trained for real.
nnlab_add_test(test_lab_panel SOURCES test_lab_panel.cpp LIBS nnlab_ui_labs nnlab_ui_editor nnlab_labs nnlab_store LABELS gui)
# The README's lab-mode screenshot: the workbench with a shipped lab after a run. Skipped
# unless NNLAB_SCREENSHOT_DIR names a folder (run it under Xvfb).
nnlab_add_test(test_lab_screenshot SOURCES test_lab_screenshot.cpp LIBS nnlab_app_gui LABELS gui TIMEOUT 300)
