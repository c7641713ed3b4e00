# Turns FindHDF5's results (call find_package(HDF5 COMPONENTS C) first) into one
# target, kbnn::hdf5: include directories, libraries, definitions, and H5_USE_110_API
# (kbnn calls the 1.10 API on HDF5 1.10 to 1.14). FindHDF5 has imported targets only
# from CMake 3.19 on; this works from 3.16. kbnnConfig.cmake includes this module too,
# so a consumer of the installed kbnn rebuilds the same target from its own HDF5.
if(NOT TARGET kbnn::hdf5)
  add_library(kbnn::hdf5 INTERFACE IMPORTED)
  # Imported include directories are SYSTEM: HDF5's headers do not trip our -Wall.
  target_include_directories(kbnn::hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
  target_compile_definitions(kbnn::hdf5 INTERFACE H5_USE_110_API ${HDF5_DEFINITIONS})
  target_link_libraries(kbnn::hdf5 INTERFACE ${HDF5_LIBRARIES})
endif()
