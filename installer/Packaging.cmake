# Install layout and the Debian package (CPack's DEB generator).
#
#   cmake --install build --prefix /usr/local      # a plain install
#   (cd build && cpack)                             # build/nnlab_<version>_<arch>.deb, for /usr
#   installer/test_deb.sh build                     # installs that .deb in a clean Debian 12 chroot
#
# Included from the top CMakeLists.txt before the subdirectories, so that they see the
# GNUInstallDirs variables and NNLAB_DATADIR_FROM_BINDIR. The executables' install() lines
# live with their targets (app/cli, app/gui); the data files are installed here.

include(GNUInstallDirs)

# Examples, icon and the like: <prefix>/share/nnlab.
set(NNLAB_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/nnlab")
# The programs find the installed data relative to their own folder (../share/nnlab), so the
# same binary works under /usr (the .deb), /usr/local or any --prefix: CPack installs with
# its own prefix (/usr), not CMAKE_INSTALL_PREFIX, so an absolute path would be wrong there.
file(RELATIVE_PATH NNLAB_DATADIR_FROM_BINDIR
     "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_DATADIR}/nnlab")

set(_installer "${CMAKE_CURRENT_LIST_DIR}")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/resources/experiments"
        DESTINATION "${NNLAB_INSTALL_DATADIR}"
        FILES_MATCHING PATTERN "*.json")
# Teaching labs, with their figures (Lab > Open Lab… starts in share/nnlab/labs).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/resources/labs"
        DESTINATION "${NNLAB_INSTALL_DATADIR}"
        FILES_MATCHING PATTERN "*.json" PATTERN "*.png" PATTERN "*.svg")

# Debian policy wants manual pages compressed with gzip -9n (no name or time stamp, so the
# package is reproducible).
find_program(NNLAB_GZIP gzip REQUIRED)
set(_man_gz "${CMAKE_CURRENT_BINARY_DIR}/installer/nnlab-cli.1.gz")
add_custom_command(OUTPUT "${_man_gz}"
  COMMAND ${CMAKE_COMMAND} -E copy "${_installer}/nnlab-cli.1" "${CMAKE_CURRENT_BINARY_DIR}/installer/nnlab-cli.1"
  COMMAND ${NNLAB_GZIP} -9nf "${CMAKE_CURRENT_BINARY_DIR}/installer/nnlab-cli.1"
  DEPENDS "${_installer}/nnlab-cli.1"
  COMMENT "Compressing the nnlab-cli manual page"
  VERBATIM)
add_custom_target(nnlab_man ALL DEPENDS "${_man_gz}")
install(FILES "${_man_gz}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")

# Desktop integration only with the GUI: a launcher for a program that is not there would
# be an error for desktop-file-validate and AppStream alike.
if(NNLAB_BUILD_GUI)
  install(FILES "${_installer}/nnlab.desktop" DESTINATION "${CMAKE_INSTALL_DATADIR}/applications")
  install(FILES "${_installer}/nnlab.svg" DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps")
  install(FILES "${_installer}/org.nnlab.nnlab.metainfo.xml" DESTINATION "${CMAKE_INSTALL_DATADIR}/metainfo")
endif()

# The package.
set(NNLAB_PACKAGE_MAINTAINER "nnlab developers <dev@nnlab.local>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nnlab)
set(CPACK_PACKAGE_VENDOR nnlab)
set(CPACK_PACKAGE_CONTACT "${NNLAB_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "deep-learning experiment workbench (GUI and command line)")
set(CPACK_PACKAGE_DESCRIPTION
"nnlab edits a neural network and its hyperparameters, trains it on LibTorch with live
loss and accuracy curves, and records every run (metrics, events, checkpoints) in one
SQLite run store to list, compare, resume and export later.
.
The package holds the nnlab workbench (Qt 6), nnlab-cli, which trains, validates,
sweeps and manages runs headless, and example experiments in /usr/share/nnlab.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)            # nnlab_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# dpkg-shlibdeps turns the programs' libraries into Depends (libtorch1.13, Qt 6, SQLite...).
# LibTorch only asks for some libblas.so.3; the reference BLAS that satisfies it makes
# matrix products about 10x slower than OpenBLAS, so OpenBLAS is required by name.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread")
# The default experiment (and fashion-cnn.json) trains on Fashion-MNIST from
# /usr/share/datasets/fashion-mnist; the other examples need no download.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dataset-fashion-mnist")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

include(CPack)
