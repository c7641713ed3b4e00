// HDF5 training sets: validated like the other readers (every message names the file
// and the dataset), then only the requested rows are read.
#include "data/hdf5_dataset.hpp"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <vector>

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "h5/rows.hpp"
#include "parallel/agree.hpp"

namespace kbnn {
namespace {

std::string dims_text(const std::vector<hsize_t>& dims) {
  std::string text = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + ")";
}

// Dataset /name of the file, or an InputError naming it when it is missing.
h5::DataSet open_required(hid_t file, const std::string& name, const std::string& path) {
  if (!h5::exists(file, name)) throw InputError(concat(path, ": dataset /", name, " missing"));
  return h5::open_dataset(file, name, concat(path, ": /", name));
}

// The shape of /labels: (N).
std::int64_t label_count(hid_t file, const std::string& path) {
  open_required(file, "labels", path);  // an InputError if it is missing
  const auto dims = h5::dataset_shape(file, "labels", path + ": /labels");
  if (dims.size() != 1)
    throw InputError(concat(path, ": /labels: expected shape (N), got ", dims_text(dims)));
  return std::int64_t(dims[0]);
}

// num_classes from a root attribute or a scalar (or one-element) dataset; 0 if neither.
std::int64_t stored_num_classes(hid_t file, const std::string& path) {
  std::int64_t k = 0;
  if (h5::has_attribute(file, "num_classes")) {
    k = h5::read_attribute<std::int64_t>(file, "num_classes");
  } else if (h5::exists(file, "num_classes")) {
    const std::string what = path + ": /num_classes";
    const h5::DataSet d = h5::open_dataset(file, "num_classes", what);
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

// The examples' shape, from /images (N, H, W) or (N, H, W, C), uint8, checked against
// /labels (N), integers.
struct ImageLayout {
  std::int64_t n = 0;
  hsize_t height = 0, width = 0, channels = 0;
};

ImageLayout check_layout(hid_t file, const std::string& path) {
  const std::string images_at = path + ": /images", labels_at = path + ": /labels";
  const h5::DataSet images = open_required(file, "images", path);
  const h5::DataSet labels = open_required(file, "labels", path);
  {
    const h5::Type t(KBNN_H5_CHECK_AT(H5Dget_type(images), images_at));
    if (H5Tget_class(t) != H5T_INTEGER || H5Tget_size(t) != 1 || H5Tget_sign(t) != H5T_SGN_NONE)
      throw InputError(concat(images_at, ": expected uint8 pixels"));
  }
  {
    const h5::Type t(KBNN_H5_CHECK_AT(H5Dget_type(labels), labels_at));
    if (H5Tget_class(t) != H5T_INTEGER) throw InputError(concat(labels_at, ": expected integers"));
  }
  const auto dims = h5::dataset_shape(file, "images", images_at);
  if (dims.size() != 3 && dims.size() != 4)
    throw InputError(concat(images_at, ": expected shape (N, H, W) or (N, H, W, C), got ",
                            dims_text(dims)));
  const std::int64_t n = std::int64_t(dims[0]), labelled = label_count(file, path);
  if (labelled != n)
    throw InputError(concat(path, ": /images holds ", n, " examples, /labels ", labelled));
  const ImageLayout layout{n, dims[1], dims[2], dims.size() == 4 ? dims[3] : 1};
  for (const hsize_t extent : {layout.height, layout.width, layout.channels})
    if (extent == 0 || extent > INT_MAX)
      throw InputError(concat(images_at, ": bad image shape ", dims_text(dims)));
  return layout;
}

// d.labels (rows [first, first + d.count)) and d.num_classes. Labels are read as int64
// whatever their stored type, then range-checked into int32. Without a stored
// num_classes all labels are read: the maximum must not depend on the slice.
void read_labels(hid_t file, const std::string& path, std::int64_t n, std::int64_t first,
                 Dataset& d) {
  const std::string labels_at = path + ": /labels";
  std::int64_t classes = stored_num_classes(file, path);
  const bool all_labels = classes == 0;
  const std::int64_t from = all_labels ? 0 : first;  // file row of wide[0]
  std::vector<std::int64_t> wide(std::size_t(all_labels ? n : d.count));
  h5::read_rows(open_required(file, "labels", path), hsize_t(from), hsize_t(wide.size()),
                wide.data(), labels_at);
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
  d.labels.assign(slice, slice + d.count);
}

Dataset read_on_this_rank(const std::string& path, std::int64_t first, std::int64_t count) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(concat(path, ": no such data file"));
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(concat(path, ": not an HDF5 file"));
  const h5::SerialFile file(
      KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  const ImageLayout layout = check_layout(file, path);
  const std::int64_t n = layout.n;
  if (count == -1) count = n - first;
  if (first < 0 || count < 0 || first > n || count > n - first)
    throw InputError(concat(path, ": rows [", first, ", ", first + count,
                            ") out of range: the file holds ", n, " examples"));

  Dataset d;
  d.source = path;
  d.count = count;
  d.height = int(layout.height);
  d.width = int(layout.width);
  d.channels = int(layout.channels);
  d.pixels.resize(std::size_t(count) * layout.height * layout.width * layout.channels);
  h5::read_rows(open_required(file, "images", path), hsize_t(first), hsize_t(count),
                d.pixels.data(), path + ": /images");
  read_labels(file, path, n, first, d);
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
    n = label_count(file, path);
  });
  return n;
}

}  // namespace kbnn
