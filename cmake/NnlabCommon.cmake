# One interface target carries warnings and strictness for our own code.
add_library(nnlab_options INTERFACE)
target_compile_options(nnlab_options INTERFACE
  -Wall -Wextra -Wpedantic -Wno-unused-parameter)
target_compile_definitions(nnlab_options INTERFACE
  NNLAB_VERSION="${PROJECT_VERSION}")

if(NNLAB_SANITIZE)
  string(REPLACE "," ";" _san "${NNLAB_SANITIZE}")
  foreach(s IN LISTS _san)
    target_compile_options(nnlab_options INTERFACE -fsanitize=${s} -fno-omit-frame-pointer)
    target_link_options(nnlab_options INTERFACE -fsanitize=${s})
  endforeach()
endif()

# Qt strictness for the ui/ and app/ targets (QCustomPlot needs the signals/slots keywords).
add_library(nnlab_qt_options INTERFACE)
target_compile_definitions(nnlab_qt_options INTERFACE
  QT_NO_CAST_FROM_BYTEARRAY QT_USE_QSTRINGBUILDER QT_NO_URL_CAST_FROM_STRING)
