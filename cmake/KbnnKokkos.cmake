# Finds Kokkos + Kokkos Kernels and exposes them as one target, kbnn::kokkos.
#
# Two installations are supported:
#  * a proper Kokkos 4 (Spack, or built by hand): Kokkos::kokkos and
#    Kokkos::kokkoskernels, whose backend (Serial, OpenMP, CUDA, HIP) decides ours;
#  * Debian 12's Trilinos packaging (Kokkos 3.4, Serial). Its exported targets
#    point at /usr/lib/include, so we build the target from the real libraries
#    (trilinos_kokkoscore, trilinos_kokkoskernels) and /usr/include/trilinos.
#
# kbnn::kokkos is an imported target, not an alias, so that the exported kbnn::lib
# can name it: the installed kbnnConfig.cmake includes this module again, with
# KBNN_KOKKOS_KIND set to the kind kbnn was built against ("Kokkos4" or "Trilinos"),
# and the consumer gets the same target from its own search. Unset, the first found wins.
if(TARGET kbnn::kokkos)
  return()
endif()
add_library(kbnn::kokkos INTERFACE IMPORTED)

if(KBNN_KOKKOS_KIND STREQUAL "Kokkos4")
  find_package(Kokkos 4 CONFIG REQUIRED)
elseif(NOT KBNN_KOKKOS_KIND STREQUAL "Trilinos")
  find_package(Kokkos 4 CONFIG QUIET)
endif()
if(Kokkos_FOUND AND NOT KBNN_KOKKOS_KIND STREQUAL "Trilinos")
  find_package(KokkosKernels CONFIG REQUIRED)
  target_link_libraries(kbnn::kokkos INTERFACE Kokkos::kokkos Kokkos::kokkoskernels)
  set(KBNN_KOKKOS_KIND Kokkos4)
  set(KBNN_KOKKOS_SOURCE "Kokkos ${Kokkos_VERSION} (${Kokkos_DEVICES})")
else()
  find_path(KBNN_TRILINOS_INCLUDE_DIR Kokkos_Core.hpp
            PATHS /usr/include/trilinos PATH_SUFFIXES trilinos)
  find_library(KBNN_KOKKOSCORE_LIB trilinos_kokkoscore)
  find_library(KBNN_KOKKOSKERNELS_LIB trilinos_kokkoskernels)
  find_package(BLAS REQUIRED)
  if(NOT KBNN_TRILINOS_INCLUDE_DIR OR NOT KBNN_KOKKOSCORE_LIB OR NOT KBNN_KOKKOSKERNELS_LIB)
    message(FATAL_ERROR
      "kbnn: no Kokkos found. Either point CMAKE_PREFIX_PATH at a Kokkos 4 + Kokkos Kernels "
      "install (spack install kokkos kokkos-kernels), or on Debian 12: "
      "apt-get install libtrilinos-kokkos-dev libtrilinos-kokkos-kernels-dev libopenblas-dev")
  endif()
  # Imported include directories are SYSTEM: -Wall stays about our code, not Trilinos'.
  target_include_directories(kbnn::kokkos INTERFACE ${KBNN_TRILINOS_INCLUDE_DIR})
  target_link_libraries(kbnn::kokkos INTERFACE
    ${KBNN_KOKKOSKERNELS_LIB} ${KBNN_KOKKOSCORE_LIB} ${BLAS_LIBRARIES} ${CMAKE_DL_LIBS})
  set(KBNN_KOKKOS_KIND Trilinos)
  set(KBNN_KOKKOS_SOURCE "Debian Trilinos Kokkos 3.4 (Serial) at ${KBNN_TRILINOS_INCLUDE_DIR}")
endif()
message(STATUS "kbnn: using ${KBNN_KOKKOS_SOURCE}")
