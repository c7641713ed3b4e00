// HDF5 training sets: validated like the other readers (every message names the file
// and the dataset), then only the requested rows are read.
#include "data/hdf5_dataset.hpp"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <vector>

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "parallel/agree.hpp"

namespace kbnn {
namespace {

struct DatasetShape {
  int rank = 0;
  std::vector<hsize_t> dims;
};

DatasetShape shape_of(hid_t dataset, const std::string& what) {
  const h5::Space space(KBNN_H5_CHECK_AT(H5Dget_space(dataset), what));
  DatasetShape s;
  s.rank = KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(space), what);
  s.dims.resize(std::size_t(s.rank));
  if (s.rank > 0) KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(space, s.dims.data(), nullptr), what);
  return s;
}

std::string dims_text(const DatasetShape& s) {
  std::string text = "(";
  for (std::size_t i = 0; i < s.dims.size(); ++i)
    text += (i ? ", " : "") + std::to_string(s.dims[i]);
  return text + ")";
}

h5::DataSet open_dataset(hid_t file, const std::string& name, const std::string& path) {
  if (!h5::exists(file, name)) throw InputError(concat(path, ": dataset /", name, " missing"));
  return h5::DataSet(KBNN_H5_CHECK_AT(H5Dopen2(file, name.c_str(), H5P_DEFAULT),
                                      concat(path, ": /", name)));
}

// Rows [first, first + rows) of `dataset` (all of the other dimensions), converted by
// HDF5 to T. Independent I/O: the file is open on this rank alone.
template <class T>
void read_rows(hid_t dataset, hsize_t first, hsize_t rows, T* out, const std::string& what) {
  if (rows == 0) return;
  const h5::Space file_space(KBNN_H5_CHECK_AT(H5Dget_space(dataset), what));
  const int rank = KBNN_H5_CHECK_AT(H5Sget_simple_extent_ndims(file_space), what);
  std::vector<hsize_t> start(static_cast<std::size_t>(rank), 0);
  std::vector<hsize_t> block(static_cast<std::size_t>(rank));
  KBNN_H5_CHECK_AT(H5Sget_simple_extent_dims(file_space, block.data(), nullptr), what);
  start[0] = first;
  block[0] = rows;
  KBNN_H5_CHECK_AT(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr,
                                       block.data(), nullptr),
                   what);
  const h5::Space memory_space(KBNN_H5_CHECK_AT(H5Screate_simple(rank, block.data(), nullptr), what));
  KBNN_H5_CHECK_AT(
      H5Dread(dataset, h5::TypeOf<T>::memory(), memory_space, file_space, H5P_DEFAULT, out), what);
}

// num_classes from a root attribute or a scalar (or one-element) dataset; 0 if neither.
std::int64_t stored_num_classes(hid_t file, const std::string& path) {
  std::int64_t k = 0;
  if (h5::has_attribute(file, "num_classes")) {
    k = h5::read_attribute<std::int64_t>(file, "num_classes");
  } else if (h5::exists(file, "num_classes")) {
    const std::string what = path + ": /num_classes";
    const h5::DataSet d(KBNN_H5_CHECK_AT(H5Dopen2(file, "num_classes", H5P_DEFAULT), what));
    const h5::Space space(KBNN_H5_CHECK_AT(H5Dget_space(d), what));
    if (KBNN_H5_CHECK_AT(H5Sget_simple_extent_npoints(space), what) != 1)
      throw InputError(concat(what, ": expected one value"));
    KBNN_H5_CHECK_AT(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &k), what);
  } else {
    return 0;
  }
  if (k <= 0 || k > INT_MAX) throw InputError(concat(path, ": num_classes must be > 0, got ", k));
  return k;
}

Dataset read_on_this_rank(const std::string& path, std::int64_t first, std::int64_t count) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(concat(path, ": no such data file"));
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(concat(path, ": not an HDF5 file"));
  const h5::SerialFile file(
      KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));

  const h5::DataSet images = open_dataset(file, "images", path);
  const h5::DataSet labels = open_dataset(file, "labels", path);
  const std::string images_at = path + ": /images", labels_at = path + ": /labels";
  {
    const h5::Type t(KBNN_H5_CHECK_AT(H5Dget_type(images), images_at));
    if (H5Tget_class(t) != H5T_INTEGER || H5Tget_size(t) != 1 || H5Tget_sign(t) != H5T_SGN_NONE)
      throw InputError(concat(images_at, ": expected uint8 pixels"));
  }
  {
    const h5::Type t(KBNN_H5_CHECK_AT(H5Dget_type(labels), labels_at));
    if (H5Tget_class(t) != H5T_INTEGER) throw InputError(concat(labels_at, ": expected integers"));
  }
  const DatasetShape image_shape = shape_of(images, images_at), label_shape = shape_of(labels, labels_at);
  if (image_shape.rank != 3 && image_shape.rank != 4)
    throw InputError(concat(images_at, ": expected shape (N, H, W) or (N, H, W, C), got ",
                            dims_text(image_shape)));
  if (label_shape.rank != 1)
    throw InputError(concat(labels_at, ": expected shape (N), got ", dims_text(label_shape)));
  const std::int64_t n = std::int64_t(image_shape.dims[0]);
  if (std::int64_t(label_shape.dims[0]) != n)
    throw InputError(concat(path, ": /images holds ", n, " examples, /labels ",
                            label_shape.dims[0]));
  const hsize_t h = image_shape.dims[1], w = image_shape.dims[2],
                c = image_shape.rank == 4 ? image_shape.dims[3] : 1;
  if (h == 0 || w == 0 || c == 0 || h > INT_MAX || w > INT_MAX || c > INT_MAX)
    throw InputError(concat(images_at, ": bad image shape ", dims_text(image_shape)));
  if (count == -1) count = n - first;
  if (first < 0 || count < 0 || first > n || count > n - first)
    throw InputError(concat(path, ": rows [", first, ", ", first + count,
                            ") out of range: the file holds ", n, " examples"));

  Dataset d;
  d.source = path;
  d.count = count;
  d.height = int(h);
  d.width = int(w);
  d.channels = int(c);
  d.pixels.resize(std::size_t(count) * h * w * c);
  read_rows(images, hsize_t(first), hsize_t(count), d.pixels.data(), images_at);

  // Labels as int64 whatever their stored type, then range-checked into int32. Without
  // a stored num_classes, all labels are read: the maximum must not depend on the slice.
  std::int64_t classes = stored_num_classes(file, path);
  const bool all_labels = classes == 0;
  const std::int64_t from = all_labels ? 0 : first;  // file row of wide[0]
  std::vector<std::int64_t> wide(std::size_t(all_labels ? n : count));
  read_rows(labels, hsize_t(from), hsize_t(wide.size()), wide.data(), labels_at);
  if (all_labels) {
    const std::int64_t top = wide.empty() ? -1 : *std::max_element(wide.begin(), wide.end());
    if (top >= INT_MAX) throw InputError(concat(labels_at, ": label ", top, " too large"));
    classes = top + 1;
  }
  const auto bad = std::find_if(wide.begin(), wide.end(),
                                [&](std::int64_t y) { return y < 0 || y >= classes; });
  if (bad != wide.end())
    throw InputError(concat(labels_at, ": label ", *bad, " at row ", from + (bad - wide.begin()),
                            " outside [0, ", classes, ")"));
  d.num_classes = int(classes);
  const auto slice = wide.begin() + (first - from);
  d.labels.assign(slice, slice + count);
  return d;
}

}  // namespace

Dataset read_hdf5_dataset(const std::string& path, const Communicator& comm, std::int64_t first,
                          std::int64_t count) {
  const h5::QuietErrors quiet;
  Dataset d;
  agree_or_throw(comm.get(), [&] { d = read_on_this_rank(path, first, count); });
  return d;
}

std::int64_t hdf5_dataset_size(const std::string& path, const Communicator& comm) {
  const h5::QuietErrors quiet;
  std::int64_t n = 0;
  agree_or_throw(comm.get(), [&] {
    const h5::SerialFile file(
        KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
    const DatasetShape labels = shape_of(open_dataset(file, "labels", path), path + ": /labels");
    if (labels.rank != 1)
      throw InputError(concat(path, ": /labels: expected shape (N), got ", dims_text(labels)));
    n = std::int64_t(labels.dims[0]);
  });
  return n;
}

}  // namespace kbnn
