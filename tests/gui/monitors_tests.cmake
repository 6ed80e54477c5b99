# Monitor rules in the GUI: the rule editor (ui/editor) and the alerts on the charts, in the
# Alerts dock and as notifications (ui/charts); offscreen.
nnlab_add_test(test_editor_monitors SOURCES test_editor_monitors.cpp LIBS nnlab_ui_editor LABELS gui)
nnlab_add_test(test_charts_alerts SOURCES test_charts_alerts.cpp test_runs_fixture.h
  LIBS nnlab_ui_charts LABELS gui)
nnlab_add_test(test_workbench_alerts SOURCES test_workbench_alerts.cpp LIBS nnlab_app_gui LABELS gui)
