# Everything but Kokkos: MPI, parallel HDF5, Boost.ProgramOptions, zlib, and the
# optional CUDA toolkit for cuRAND. Each is a normal find_package on Debian and Spack.
# kbnnConfig.cmake (cmake/kbnnConfig.cmake.in) finds the library's share of these
# again for consumers of the installed package: all but Boost, which only app/ uses.
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(Boost 1.66 REQUIRED COMPONENTS program_options)

set(HDF5_PREFER_PARALLEL ON)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(WARNING "kbnn: HDF5 at ${HDF5_INCLUDE_DIRS} is not a parallel build; "
                  "collective output will not work (Debian: libhdf5-openmpi-dev)")
endif()
include(KbnnHdf5)

set(KBNN_HAVE_CURAND OFF)
# cuRAND serves CUDA builds and, through its host generator, CPU builds (tests compare
# our kernel with it). A HIP or SYCL build leaves it out even where a CUDA toolkit is
# installed: CUDA's headers clash with HIP's vector types.
if(KBNN_ENABLE_CURAND AND Kokkos_DEVICES MATCHES "HIP|SYCL")
  message(STATUS "kbnn: Kokkos backend ${Kokkos_DEVICES}: cuRAND bridge disabled")
elseif(KBNN_ENABLE_CURAND)
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND TARGET CUDA::curand)
    set(KBNN_HAVE_CURAND ON)
    message(STATUS "kbnn: cuRAND found (CUDA ${CUDAToolkit_VERSION})")
  else()
    message(STATUS "kbnn: CUDA toolkit not found, cuRAND bridge disabled")
  endif()
endif()
