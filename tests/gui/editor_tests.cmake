# Model editor, network diagram, data and hyperparameter panels (ui/editor), headless.
nnlab_add_test(test_editor_model SOURCES test_editor_model.cpp LIBS nnlab_ui_editor LABELS gui)
nnlab_add_test(test_editor_diagram SOURCES test_editor_diagram.cpp LIBS nnlab_ui_editor LABELS gui)
nnlab_add_test(test_editor_data SOURCES test_editor_data.cpp LIBS nnlab_ui_editor LABELS gui)
nnlab_add_test(test_editor_hyperparameters SOURCES test_editor_hyperparameters.cpp LIBS nnlab_ui_editor LABELS gui)
# Train > Find learning rate…: the dialog's "Use" buttons, its curve and its worker thread.
nnlab_add_test(test_lr_finder_dialog SOURCES test_lr_finder_dialog.cpp LIBS nnlab_ui_editor LABELS gui)
# Train > Check: the pre-flight dialog, its worker thread and its report views.
nnlab_add_test(test_preflight_dialog SOURCES test_preflight_dialog.cpp LIBS nnlab_ui_editor LABELS gui)
