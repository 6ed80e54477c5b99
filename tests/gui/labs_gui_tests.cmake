# Lab mode (ui/labs): locks grey the right editor widgets, the question gates Train, and
# observations render ticks from a hand-made store; one tiny step trained for real.
nnlab_add_test(test_lab_panel SOURCES test_lab_panel.cpp LIBS nnlab_ui_labs nnlab_ui_editor nnlab_labs nnlab_store LABELS gui)
