# Inside the network (ui/inspect): decision boundary, layer statistics and histograms, filters,
# feature maps and the confusion matrix; offscreen, on hand-made snapshots and metric series.
nnlab_add_test(test_inspect_boundary SOURCES test_inspect_boundary.cpp LIBS nnlab_ui_inspect LABELS gui)
nnlab_add_test(test_inspect_layers SOURCES test_inspect_layers.cpp test_runs_fixture.h LIBS nnlab_ui_inspect LABELS gui)
nnlab_add_test(test_inspect_confusion SOURCES test_inspect_confusion.cpp LIBS nnlab_ui_inspect LABELS gui)
# Screenshots for the README from real runs; skipped unless NNLAB_INSPECT_DB is set.
nnlab_add_test(test_inspect_screenshots SOURCES test_inspect_screenshots.cpp LIBS nnlab_ui_inspect LABELS gui)
# A real spiral run through the TrainingController into the docks.
nnlab_add_test(test_inspect_live SOURCES test_inspect_live.cpp LIBS nnlab_ui_inspect LABELS gui)
