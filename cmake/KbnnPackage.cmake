# The installable CMake package: `cmake --install` puts kbnnTargets.cmake (kbnn::lib,
# kbnn::kbnn), kbnnConfig.cmake, its version file and the two modules that re-create
# kbnn::kokkos and kbnn::hdf5 in <prefix>/lib/cmake/kbnn, so that
#   find_package(kbnn CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE kbnn::lib)
# works from any CMake project. The targets and headers are installed by src/.
include(CMakePackageConfigHelpers)

set(KBNN_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/kbnn)
install(EXPORT kbnnTargets NAMESPACE kbnn:: DESTINATION ${KBNN_INSTALL_CMAKEDIR})

# Recorded in kbnnConfig.cmake: which Kokkos kbnn was built against (a consumer must
# use the same one), whether the cuRAND bridge is in the library, and where Kokkos 4
# was found, as a hint for consumers that do not set CMAKE_PREFIX_PATH.
set(KBNN_CONFIG_KOKKOS_DIR "")
set(KBNN_CONFIG_KOKKOSKERNELS_DIR "")
if(KBNN_KOKKOS_KIND STREQUAL "Kokkos4")
  set(KBNN_CONFIG_KOKKOS_DIR "${Kokkos_DIR}")
  set(KBNN_CONFIG_KOKKOSKERNELS_DIR "${KokkosKernels_DIR}")
endif()
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/kbnnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/kbnnConfig.cmake
  INSTALL_DESTINATION ${KBNN_INSTALL_CMAKEDIR})
# 0.x: a minor release may change the interface, so only the same 0.MINOR matches.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/kbnnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kbnnConfig.cmake ${PROJECT_BINARY_DIR}/kbnnConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/KbnnKokkos.cmake ${PROJECT_SOURCE_DIR}/cmake/KbnnHdf5.cmake
        DESTINATION ${KBNN_INSTALL_CMAKEDIR})
