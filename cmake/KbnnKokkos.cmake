# Finds Kokkos + Kokkos Kernels and exposes them as one target, kbnn::kokkos.
#
# Two installations are supported:
#  * a proper Kokkos 4 (Spack, or built by hand): Kokkos::kokkos and
#    Kokkos::kokkoskernels, whose backend (Serial, OpenMP, CUDA, HIP) decides ours;
#  * Debian 12's Trilinos packaging (Kokkos 3.4, Serial). Its exported targets
#    point at /usr/lib/include, so we build the target from the real libraries
#    (trilinos_kokkoscore, trilinos_kokkoskernels) and /usr/include/trilinos.
add_library(kbnn_kokkos INTERFACE)
add_library(kbnn::kokkos ALIAS kbnn_kokkos)

find_package(Kokkos 4 CONFIG QUIET)
if(Kokkos_FOUND)
  find_package(KokkosKernels CONFIG REQUIRED)
  target_link_libraries(kbnn_kokkos INTERFACE Kokkos::kokkos Kokkos::kokkoskernels)
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
  # Trilinos' headers are third-party: include them as SYSTEM so -Wall stays about our code.
  target_include_directories(kbnn_kokkos SYSTEM INTERFACE ${KBNN_TRILINOS_INCLUDE_DIR})
  target_link_libraries(kbnn_kokkos INTERFACE
    ${KBNN_KOKKOSKERNELS_LIB} ${KBNN_KOKKOSCORE_LIB} ${BLAS_LIBRARIES} ${CMAKE_DL_LIBS})
  set(KBNN_KOKKOS_SOURCE "Debian Trilinos Kokkos 3.4 (Serial) at ${KBNN_TRILINOS_INCLUDE_DIR}")
endif()
message(STATUS "kbnn: using ${KBNN_KOKKOS_SOURCE}")
