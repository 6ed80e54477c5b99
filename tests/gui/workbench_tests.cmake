nnlab_add_test(test_workbench SOURCES test_workbench.cpp LIBS nnlab_app_gui LABELS gui TIMEOUT 600)
