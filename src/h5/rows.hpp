// Datasets of a collective file: creation (fixed or growing), and writes of rows or
// of a slab along any dimension (collective); and reads by one rank (rows, a whole
// dataset, its shape, a group's members). Every dataset kbnn writes is created here.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "h5/error.hpp"
#include "h5/file.hpp"
#include "h5/handle.hpp"
#include "h5/types.hpp"

namespace kbnn::h5 {

// A fixed-size dataset of file type `type` every element of which will be written: no
// fill pass. Collective in a collective file.
DataSet create_dataset(hid_t parent, const std::string& name, hid_t type,
                       const std::vector<hsize_t>& dims, const std::string& what);
template <class T>
DataSet create_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                       const std::string& what) {
  return create_dataset(parent, name, TypeOf<T>::file(), dims, what);
}

// An empty 1-D dataset of file type `type` that append_rows grows: no size limit,
// stored in chunks of `chunk_rows` (> 0) rows, no fill pass. Collective in a
// collective file.
DataSet create_growing_rows(hid_t parent, const std::string& name, hid_t type,
                            hsize_t chunk_rows, const std::string& what);

// The file and memory spaces of a write of [first, first + count) along dimension
// `axis` of `dataset` (all of every other dimension); with count == 0 both select
// nothing. `empty`: the dataset holds no elements, so there is nothing to write (every
// rank sees that alike).
struct Slab {
  Space file, memory;
  bool empty = false;
};
Slab select_slab(hid_t dataset, int axis, hsize_t first, hsize_t count, const std::string& what);

// Writes [first, first + count) along dimension `axis` of `dataset` (all of every
// other dimension) from `data`, a row-major block of that shape, collectively: every
// rank calls it, and a rank with count == 0 takes part with an empty selection.
template <class T>
void write_slab(hid_t dataset, const T* data, int axis, hsize_t first, hsize_t count,
                const std::string& what) {
  const Slab slab = select_slab(dataset, axis, first, count, what);
  if (slab.empty) return;
  // A rank with nothing to write may hold an empty vector (data() == nullptr).
  static const T no_data{};
  const PropList dxpl = collective_transfer(what);
  KBNN_H5_CHECK_AT(H5Dwrite(dataset, TypeOf<T>::memory(), slab.memory, slab.file, dxpl,
                            count == 0 ? &no_data : data),
                   what);
}

// Writes rows [first, first + rows) of `dataset` (dimension 0, all of the others)
// from `data`, collectively (write_slab along axis 0). Data that is the same on every
// rank is written by rank 0 alone (the others pass rows = 0) rather than as the same
// bytes from every rank.
template <class T>
void write_rows(hid_t dataset, const T* data, hsize_t first, hsize_t rows,
                const std::string& what) {
  write_slab(dataset, data, 0, first, rows, what);
}

// Grows the 1-D `dataset` by `added` rows (the same on every rank: collective);
// returns the old length, where the new rows start.
hsize_t extend_rows(hid_t dataset, hsize_t added, const std::string& what);

// Appends `added` rows, the same on every rank, to a dataset of create_growing_rows:
// every rank extends it, the `writer` rank alone writes `data`.
template <class T>
void append_rows(hid_t dataset, const T* data, hsize_t added, bool writer,
                 const std::string& what) {
  const hsize_t old = extend_rows(dataset, added, what);
  write_rows(dataset, data, old, writer ? added : 0, what);
}

// A 1-D dataset `name` of `parent` holding `values` (a vector or array; the same on
// every rank, so the `writer` rank alone writes them), with its units (none if empty)
// and description. Collective in a collective file.
template <class Values>
void write_column(hid_t parent, const std::string& name, const Values& values, bool writer,
                  const std::string& units, const std::string& description,
                  const std::string& what) {
  using T = typename Values::value_type;
  const hsize_t n = values.size();
  const DataSet d = create_dataset<T>(parent, name, {n}, what);
  describe(d, units, description);
  write_rows(d, values.data(), 0, writer ? n : 0, what);
}

// Rows [first, first + rows) of `dataset` (dimension 0, all of the others) into `out`,
// converted by HDF5 to T. Not collective: independent I/O, for a file open on one rank.
template <class T>
void read_rows(hid_t dataset, hsize_t first, hsize_t rows, T* out, const std::string& what) {
  if (rows == 0) return;
  const Slab slab = select_slab(dataset, 0, first, rows, what);
  KBNN_H5_CHECK_AT(
      H5Dread(dataset, TypeOf<T>::memory(), slab.memory, slab.file, H5P_DEFAULT, out), what);
}

// Dataset `name` of `parent`, opened. Not collective.
DataSet open_dataset(hid_t parent, const std::string& name, const std::string& what);

// The whole dataset `name` of `parent`, flattened, as T (HDF5 converts from the stored
// type). Not collective: any rank reads alone.
template <class T>
std::vector<T> read_column(hid_t parent, const std::string& name, const std::string& what) {
  const DataSet d = open_dataset(parent, name, what);
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
  const DataSet d = open_dataset(parent, name, what);
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
