// Datasets of a collective file: creation and row writes (collective); and reads
// (a dataset's values, its shape, a group's members).
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "h5/error.hpp"
#include "h5/file.hpp"
#include "h5/handle.hpp"
#include "h5/types.hpp"

namespace kbnn::h5 {

// A fixed-size dataset every element of which will be written: no fill pass.
// Collective in a collective file.
template <class T>
DataSet create_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                       const std::string& what) {
  const Space space(KBNN_H5_CHECK_AT(H5Screate_simple(int(dims.size()), dims.data(), nullptr), what));
  const PropList dcpl(KBNN_H5_CHECK_AT(H5Pcreate(H5P_DATASET_CREATE), what));
  KBNN_H5_CHECK_AT(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), what);
  return DataSet(KBNN_H5_CHECK_AT(
      H5Dcreate2(parent, name.c_str(), TypeOf<T>::file(), space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
      what));
}

// Writes rows [first, first + rows) of `dataset` (dimension 0, all of the others)
// from `data`, collectively: every rank calls it, and a rank with rows == 0 takes part
// with an empty selection. Data that is the same on every rank is written by rank 0
// alone (the others pass rows = 0) rather than as the same bytes from every rank.
template <class T>
void write_rows(hid_t dataset, const T* data, hsize_t first, hsize_t rows,
                const std::string& what) {
  const Space file_space(KBNN_H5_CHECK_AT(H5Dget_space(dataset), what));
  const int rank = KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(file_space), what);
  if (rank < 1) throw RuntimeError(concat("HDF5: ", what, ": write_rows needs rows"));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(file_space, dims.data(), nullptr), what);
  // An empty dataset has no storage to write to (and every rank sees it empty alike).
  if (dims[0] == 0) return;
  dims[0] = rows;  // the memory block: `rows` rows of the dataset's row shape
  const Space memory_space(KBNN_H5_CHECK_AT(H5Screate_simple(rank, dims.data(), nullptr), what));
  if (rows == 0) {
    KBNN_H5_CHECK_AT(H5Sselect_none(file_space), what);
    KBNN_H5_CHECK_AT(H5Sselect_none(memory_space), what);
  } else {
    std::vector<hsize_t> start(dims.size(), 0);
    start[0] = first;
    KBNN_H5_CHECK_AT(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr,
                                         dims.data(), nullptr),
                     what);
  }
  // A rank with nothing to write may hold an empty vector (data() == nullptr).
  static const T no_data{};
  const PropList dxpl = collective_transfer(what);
  KBNN_H5_CHECK_AT(H5Dwrite(dataset, TypeOf<T>::memory(), memory_space, file_space, dxpl,
                            rows == 0 ? &no_data : data),
                   what);
}

// The whole dataset `name` of `parent`, flattened, as T (HDF5 converts from the stored
// type). Not collective: any rank reads alone.
template <class T>
std::vector<T> read_column(hid_t parent, const std::string& name, const std::string& what) {
  const DataSet d(KBNN_H5_CHECK_AT(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), what));
  const Space space(KBNN_H5_CHECK_AT(H5Dget_space(d), what));
  std::vector<T> values(std::size_t(KBNN_H5_CHECK_AT(H5Sget_simple_extent_npoints(space), what)));
  if (!values.empty())
    KBNN_H5_CHECK_AT(
        H5Dread(d, TypeOf<T>::memory(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), what);
  return values;
}

// The extents of dataset `name` of `parent`. Not collective.
inline std::vector<hsize_t> dataset_shape(hid_t parent, const std::string& name,
                                          const std::string& what) {
  const DataSet d(KBNN_H5_CHECK_AT(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), what));
  const Space space(KBNN_H5_CHECK_AT(H5Dget_space(d), what));
  std::vector<hsize_t> dims(std::size_t(KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(space), what)));
  if (!dims.empty()) KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(space, dims.data(), nullptr), what);
  return dims;
}

// The names of the members (groups, datasets) of `group`, in HDF5's (name) order.
inline std::vector<std::string> member_names(hid_t group, const std::string& what) {
  H5G_info_t info;
  KBNN_H5_CHECK_AT(H5Gget_info(group, &info), what);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size = KBNN_H5_CHECK_AT(
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT), what);
    std::string name(std::size_t(size) + 1, '\0');
    KBNN_H5_CHECK_AT(H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(),
                                        name.size(), H5P_DEFAULT),
                     what);
    name.resize(std::size_t(size));
    names.push_back(name);
  }
  return names;
}

}  // namespace kbnn::h5
