#include "h5/rows.hpp"

namespace kbnn::h5 {

DataSet create_dataset(hid_t parent, const std::string& name, hid_t type,
                       const std::vector<hsize_t>& dims, const std::string& what) {
  const Space space(KBNN_H5_CHECK_AT(H5Screate_simple(int(dims.size()), dims.data(), nullptr), what));
  const PropList dcpl(KBNN_H5_CHECK_AT(H5Pcreate(H5P_DATASET_CREATE), what));
  KBNN_H5_CHECK_AT(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), what);
  return DataSet(KBNN_H5_CHECK_AT(
      H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), what));
}

DataSet create_growing_rows(hid_t parent, const std::string& name, hid_t type,
                            hsize_t chunk_rows, const std::string& what) {
  if (chunk_rows == 0) throw RuntimeError(concat("HDF5: ", what, ": chunks of 0 rows"));
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  const Space space(KBNN_H5_CHECK_AT(H5Screate_simple(1, &zero, &unlimited), what));
  const PropList dcpl(KBNN_H5_CHECK_AT(H5Pcreate(H5P_DATASET_CREATE), what));
  KBNN_H5_CHECK_AT(H5Pset_chunk(dcpl, 1, &chunk_rows), what);
  KBNN_H5_CHECK_AT(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), what);
  return DataSet(KBNN_H5_CHECK_AT(
      H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), what));
}

DataSet open_dataset(hid_t parent, const std::string& name, const std::string& what) {
  return DataSet(KBNN_H5_CHECK_AT(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), what));
}

Slab select_slab(hid_t dataset, int axis, hsize_t first, hsize_t count, const std::string& what) {
  Slab slab;
  slab.file = Space(KBNN_H5_CHECK_AT(H5Dget_space(dataset), what));
  const int rank = KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(slab.file), what);
  if (axis < 0 || axis >= rank)
    throw RuntimeError(concat("HDF5: ", what, ": no dimension ", axis, " in a ", rank,
                              "-dimensional dataset"));
  std::vector<hsize_t> block(static_cast<std::size_t>(rank));
  KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(slab.file, block.data(), nullptr), what);
  // An empty dataset has no storage to write to.
  slab.empty = KBNN_H5_CHECK_AT(H5Sget_simple_extent_npoints(slab.file), what) == 0;
  if (slab.empty) return slab;
  block[std::size_t(axis)] = count;  // the memory block: the slab's shape
  slab.memory = Space(KBNN_H5_CHECK_AT(H5Screate_simple(rank, block.data(), nullptr), what));
  if (count == 0) {
    KBNN_H5_CHECK_AT(H5Sselect_none(slab.file), what);
    KBNN_H5_CHECK_AT(H5Sselect_none(slab.memory), what);
    return slab;
  }
  std::vector<hsize_t> start(block.size(), 0);
  start[std::size_t(axis)] = first;
  KBNN_H5_CHECK_AT(H5Sselect_hyperslab(slab.file, H5S_SELECT_SET, start.data(), nullptr,
                                       block.data(), nullptr),
                   what);
  return slab;
}

hsize_t extend_rows(hid_t dataset, hsize_t added, const std::string& what) {
  hsize_t old = 0;
  {
    const Space space(KBNN_H5_CHECK_AT(H5Dget_space(dataset), what));
    if (KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(space), what) != 1)
      throw RuntimeError(concat("HDF5: ", what, ": extend_rows needs a 1-D dataset"));
    KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(space, &old, nullptr), what);
  }
  const hsize_t extended = old + added;
  KBNN_H5_CHECK_AT(H5Dset_extent(dataset, &extended), what);
  return old;
}

}  // namespace kbnn::h5
