nnlab_add_test(test_workbench SOURCES test_workbench.cpp LIBS nnlab_app_gui LABELS gui TIMEOUT 600)

nnlab_add_test(test_deployments SOURCES test_deployments.cpp LIBS nnlab_app_gui Qt6::Network ZLIB::ZLIB LABELS gui TIMEOUT 300)
target_compile_definitions(test_deployments PRIVATE NNLAB_CLI="$<TARGET_FILE:nnlab-cli>")
add_dependencies(test_deployments nnlab-cli)
