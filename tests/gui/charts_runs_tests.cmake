# Tests of the charts (ui/charts) and the runs table (ui/runs); offscreen.
nnlab_add_test(test_charts_series SOURCES test_charts_series.cpp LIBS nnlab_ui_charts LABELS gui)
nnlab_add_test(test_charts_panel SOURCES test_charts_panel.cpp test_runs_fixture.h
  LIBS nnlab_ui_charts LABELS gui)
nnlab_add_test(test_runs_panel SOURCES test_runs_panel.cpp test_runs_fixture.h LIBS nnlab_ui_runs LABELS gui)
nnlab_add_test(test_runs_compare SOURCES test_runs_compare.cpp test_runs_fixture.h LIBS nnlab_ui_runs LABELS gui)
nnlab_add_test(test_sweep_view SOURCES test_sweep_view.cpp test_runs_fixture.h LIBS nnlab_ui_runs LABELS gui)
# Runs recorded by another process (nnlab-cli) appear in the Runs dock and stream into the charts.
nnlab_add_test(test_live_watch SOURCES test_live_watch.cpp test_runs_fixture.h
  LIBS nnlab_ui_runs nnlab_ui_charts LABELS gui)
target_compile_definitions(test_live_watch PRIVATE NNLAB_CLI="$<TARGET_FILE:nnlab-cli>")
add_dependencies(test_live_watch nnlab-cli)
