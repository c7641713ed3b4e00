// HDF5 data sets: validated like the other readers (every message names the file
// and the dataset, and a shape mismatch both shapes), then only the requested rows are
// read.
#include "data/hdf5_dataset.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <filesystem>
#include <functional>
#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "core/path_note.hpp"
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

// Dataset /name of the file, or an InputError naming it, what the file holds and the
// options that name datasets when it is missing (the deck's default names are images and
// labels; scripts/csv_to_h5.py writes features and targets).
h5::DataSet open_required(hid_t file, const std::string& name, const std::string& path) {
  if (!h5::exists(file, name)) {
    std::string held;
    for (const std::string& member : h5::member_names(file, path))
      held += concat(held.empty() ? " /" : ", /", member);
    throw InputError(concat(path, ": dataset /", name, " missing (the file holds",
                            held.empty() ? " nothing" : held,
                            "; data.features and data.targets name the datasets)"));
  }
  return h5::open_dataset(file, name, concat(path, ": /", name));
}

// The shape of the targets: (N) or a column (N, 1) for labels, (N, ...) for real targets.
std::vector<hsize_t> target_dims(hid_t file, const std::string& path, const Hdf5Fields& fields) {
  const std::string at = concat(path, ": /", fields.targets);
  open_required(file, fields.targets, path);  // an InputError if it is missing
  const auto dims = h5::dataset_shape(file, fields.targets, at);
  if (dims.empty()) throw InputError(concat(at, ": expected shape (N, ...), got a scalar"));
  const bool one_label_each = dims.size() == 1 || (dims.size() == 2 && dims[1] == 1);
  if (!fields.real_targets && !one_label_each)
    throw InputError(concat(at, ": expected class labels of shape (N) or (N, 1), got ",
                            dims_text(dims), ": one integer class per example (one-hot rows: "
                            "store their argmax; real targets: model.likelihood = gaussian)"));
  return dims;
}

// What a dataset of this type class holds, for messages.
const char* type_words(H5T_class_t type_class) {
  switch (type_class) {
    case H5T_FLOAT: return "floating-point numbers";
    case H5T_STRING: return "strings";
    case H5T_ENUM: return "an enum";
    default: return "neither integers nor floats";
  }
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

// The root attribute class_names (scripts/csv_to_h5.py --labels writes it), one string
// per class; empty without it.
std::vector<std::string> stored_class_names(hid_t file, const std::string& path) {
  if (!h5::has_attribute(file, "class_names")) return {};
  const std::string what = path + ": attribute class_names";
  const h5::Attribute a(KBNN_H5_CHECK_AT(H5Aopen(file, "class_names", H5P_DEFAULT), what));
  const h5::Type type(KBNN_H5_CHECK_AT(H5Aget_type(a), what));
  if (H5Tget_class(type) != H5T_STRING)
    throw InputError(concat(what, ": expected strings, the classes' names in label order"));
  return h5::read_string_attribute_array(file, "class_names");
}

// What the file holds, checked: the examples' count and HWC shape, whether the features
// are bytes and whether they are stored CHW, and the targets per example.
struct FileLayout {
  std::int64_t n = 0;
  bool labeled = true;  // false: labels_optional and no targets dataset
  hsize_t height = 1, width = 1, channels = 1;
  bool bytes = false;  // uint8 features
  bool chw = false;    // 3-D examples stored (C, H, W)
  hsize_t targets = 1;
  std::int64_t features() const { return std::int64_t(height * width * channels); }
};

// The layout of 3-D examples: the dataset's attribute and the deck must agree.
bool stored_chw(hid_t features, const std::vector<hsize_t>& example, DataLayout deck,
                const std::string& at) {
  std::string attribute;
  if (h5::has_attribute(features, "layout")) {
    attribute = h5::read_string_attribute(features, "layout");
    std::transform(attribute.begin(), attribute.end(), attribute.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (attribute != "hwc" && attribute != "chw")
      throw InputError(concat(at, ": attribute layout is '", attribute, "', expected HWC or CHW"));
  }
  if (deck != DataLayout::file && !attribute.empty() && attribute != word_of(deck))
    throw InputError(concat(at, ": the deck's data.layout is ", word_of(deck),
                            ", the dataset's layout attribute ", attribute));
  if (deck != DataLayout::file) return deck == DataLayout::chw;
  if (!attribute.empty()) return attribute == "chw";
  // Channels first read as channels last fails much later, in a layer: say it now.
  if (example[0] <= 4 && example[2] > 4)
    throw InputError(concat(at, ": examples of shape ", dims_text(example),
                            " look like CHW (channels first) but would be read as HWC; set "
                            "data.layout = chw (or hwc if they are), or the dataset's layout "
                            "attribute"));
  return false;
}

// data.layout = signal: an example of shape (L) is a signal 1 x L x 1, (L, C) 1 x L x C.
void set_signal_shape(const std::vector<hsize_t>& example, const std::string& at,
                      FileLayout& layout) {
  if (example.empty() || example.size() > 2)
    throw InputError(concat(at, ": data.layout = signal needs examples of shape (L) or (L, C) "
                            "(channels last), got ", dims_text(example)));
  layout.width = example[0];
  layout.channels = example.size() == 2 ? example[1] : 1;
}

// The HWC shape of one example of dimensions `example` (dims after the first).
void set_example_shape(hid_t features, const std::vector<hsize_t>& example, DataLayout deck,
                       const std::string& at, FileLayout& layout) {
  if (deck == DataLayout::chw && example.size() != 3)
    throw InputError(concat(at, ": data.layout = chw needs examples of shape (C, H, W), got ",
                            dims_text(example)));
  if (deck == DataLayout::signal) {
    set_signal_shape(example, at, layout);
  } else if (example.size() == 2) {
    layout.height = example[0];
    layout.width = example[1];
  } else if (example.size() == 3) {
    layout.chw = stored_chw(features, example, deck, at);
    layout.height = example[layout.chw ? 1 : 0];
    layout.width = example[layout.chw ? 2 : 1];
    layout.channels = example[layout.chw ? 0 : 2];
  } else {  // a vector: its numbers, whatever the shape
    layout.channels =
        std::accumulate(example.begin(), example.end(), hsize_t(1), std::multiplies<>());
  }
  for (const hsize_t extent : {layout.height, layout.width, layout.channels})
    if (extent == 0 || extent > INT_MAX)
      throw InputError(concat(at, ": bad example shape ", dims_text(example)));
}

// Features of any integer or float type; uint8 features are bytes.
bool byte_features(hid_t features, const std::string& at) {
  const h5::Type t(KBNN_H5_CHECK_AT(H5Dget_type(features), at));
  const H5T_class_t type_class = H5Tget_class(t);
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT)
    throw InputError(concat(at, ": expected integer or float features"));
  return type_class == H5T_INTEGER && H5Tget_size(t) == 1 && H5Tget_sign(t) == H5T_SGN_NONE;
}

void check_target_type(hid_t file, const std::string& path, const Hdf5Fields& fields) {
  const std::string at = concat(path, ": /", fields.targets);
  const h5::Type t(KBNN_H5_CHECK_AT(H5Dget_type(open_required(file, fields.targets, path)), at));
  const H5T_class_t type_class = H5Tget_class(t);
  if (!fields.real_targets && type_class != H5T_INTEGER)
    throw InputError(concat(
        at, ": expected integer class labels 0..K-1, got ", type_words(type_class),
        type_class == H5T_FLOAT ? " (store them as integers, e.g. labels.astype(int); real "
                                  "targets to fit need model.likelihood = gaussian)"
                                : " (scripts/csv_to_h5.py --labels numbers text classes 0..K-1)"));
  if (fields.real_targets && type_class != H5T_INTEGER && type_class != H5T_FLOAT)
    throw InputError(concat(at, ": expected integer or float targets"));
}

// A set that may do without labels (or real targets), and does: they are never read.
bool without_labels(hid_t file, const Hdf5Fields& fields) {
  return fields.labels_optional && !h5::exists(file, fields.targets);
}

FileLayout check_layout(hid_t file, const std::string& path, const Hdf5Fields& fields) {
  const std::string at = concat(path, ": /", fields.features);
  const h5::DataSet features = open_required(file, fields.features, path);
  FileLayout layout;
  layout.bytes = byte_features(features, at);
  const auto dims = h5::dataset_shape(file, fields.features, at);
  if (dims.empty()) throw InputError(concat(at, ": expected shape (N, ...), got a scalar"));
  layout.n = std::int64_t(dims[0]);
  set_example_shape(features, std::vector<hsize_t>(dims.begin() + 1, dims.end()), fields.layout,
                    at, layout);
  layout.labeled = !without_labels(file, fields);
  if (!layout.labeled) return layout;
  const std::vector<hsize_t> targets = target_dims(file, path, fields);
  check_target_type(file, path, fields);
  if (std::int64_t(targets[0]) != layout.n)
    throw InputError(concat(path, ": /", fields.features, " ", dims_text(dims), " holds ",
                            layout.n, " examples, /", fields.targets, " ", dims_text(targets),
                            " holds ", targets[0]));
  layout.targets =
      std::accumulate(targets.begin() + 1, targets.end(), hsize_t(1), std::multiplies<>());
  if (layout.targets == 0 || layout.targets > INT_MAX)
    throw InputError(concat(path, ": /", fields.targets, ": bad target shape ", dims_text(targets)));
  return layout;
}

// d.labels (rows [first, first + d.count)), d.num_classes and d.class_names (checked
// against num_classes, or counting the classes without it). Labels are read as int64
// whatever their stored type, then range-checked into int32. Without a stored
// num_classes all labels are read: the maximum must not depend on the slice.
void read_labels(hid_t file, const std::string& path, const Hdf5Fields& fields, std::int64_t n,
                 std::int64_t first, Dataset& d) {
  const std::string labels_at = concat(path, ": /", fields.targets);
  std::int64_t classes = stored_num_classes(file, path);
  d.class_names = stored_class_names(file, path);
  const std::int64_t named = std::int64_t(d.class_names.size());
  if (named > 0 && classes > 0 && named != classes)
    throw InputError(concat(path, ": attribute class_names holds ", named, " names, but "
                            "num_classes is ", classes, ": one name per class"));
  if (classes == 0) classes = named;  // the names count the classes, as num_classes would
  const bool all_labels = classes == 0;
  const std::int64_t from = all_labels ? 0 : first;  // file row of wide[0]
  std::vector<std::int64_t> wide(std::size_t(all_labels ? n : d.count));
  h5::read_rows(open_required(file, fields.targets, path), hsize_t(from), hsize_t(wide.size()),
                wide.data(), labels_at);
  if (all_labels) {
    const std::int64_t top = wide.empty() ? -1 : *std::max_element(wide.begin(), wide.end());
    if (top >= INT_MAX) throw InputError(concat(labels_at, ": label ", top, " too large"));
    classes = top + 1;
  }
  // A negative label breaks the rule itself (classes count from 0), whatever the file's
  // class count: "outside [0, max + 1)" would blame a range made of its own labels.
  const auto negative = std::find_if(wide.begin(), wide.end(), [](std::int64_t y) { return y < 0; });
  if (negative != wide.end())
    throw InputError(concat(labels_at, ": label ", *negative, " at row ",
                            from + (negative - wide.begin()),
                            " is negative: labels number the classes 0, 1, 2, ..."));
  const auto bad = std::find_if(wide.begin(), wide.end(), [&](std::int64_t y) { return y >= classes; });
  if (bad != wide.end())
    throw InputError(concat(labels_at, ": label ", *bad, " at row ", from + (bad - wide.begin()),
                            " outside [0, ", classes, ")",
                            named > 0 ? " (the classes class_names names)" : ""));
  d.num_classes = int(classes);
  const auto slice = wide.begin() + (first - from);
  d.labels.assign(slice, slice + d.count);
}

// CHW examples, (count, C, H, W) row-major, rearranged into HWC.
template <class T>
std::vector<T> chw_to_hwc(const std::vector<T>& chw, std::int64_t count, const FileLayout& l) {
  const std::int64_t h = l.height, w = l.width, c = l.channels, f = l.features();
  std::vector<T> hwc(chw.size());
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t p = 0; p < h * w; ++p) hwc[i * f + p * c + ch] = chw[i * f + ch * h * w + p];
  return hwc;
}

// Rows [first, first + d.count) of the features, as bytes or floats, in HWC.
template <class T>
std::vector<T> read_features(hid_t file, const std::string& path, const Hdf5Fields& fields,
                             const FileLayout& layout, std::int64_t first, std::int64_t count) {
  std::vector<T> rows(std::size_t(count * layout.features()));
  h5::read_rows(open_required(file, fields.features, path), hsize_t(first), hsize_t(count),
                rows.data(), concat(path, ": /", fields.features));
  return layout.chw ? chw_to_hwc(rows, count, layout) : rows;
}

// The data file at `path`, open for reading on this rank; an InputError that says what
// is there instead: nothing (and where a relative path was looked for), a directory, a
// file that is not HDF5 (an empty one: a conversion that died).
h5::SerialFile open_data_file(const std::string& path) {
  require_regular_file(path, "an HDF5 data file", "no such data file");
  std::error_code ec;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError(concat(path, ": not an HDF5 file",
                            std::filesystem::file_size(path, ec) == 0 ? " (it is empty)" : ""));
  return h5::SerialFile(KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
}

Dataset read_on_this_rank(const std::string& path, std::int64_t first, std::int64_t count,
                          const Hdf5Fields& fields) {
  const h5::SerialFile file = open_data_file(path);
  const FileLayout layout = check_layout(file, path, fields);
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
  d.float_features = !layout.bytes;
  if (layout.bytes)
    d.pixels = read_features<std::uint8_t>(file, path, fields, layout, first, count);
  else
    d.values = read_features<float>(file, path, fields, layout, first, count);
  if (!layout.labeled) {
    d.labeled = false;
    if (!fields.real_targets) d.labels.assign(std::size_t(count), -1);
    return d;
  }
  if (!fields.real_targets) {
    read_labels(file, path, fields, n, first, d);
    return d;
  }
  d.target_dim = int(layout.targets);
  d.targets.resize(std::size_t(count) * layout.targets);
  h5::read_rows(open_required(file, fields.targets, path), hsize_t(first), hsize_t(count),
                d.targets.data(), concat(path, ": /", fields.targets));
  return d;
}

}  // namespace

Dataset read_hdf5_dataset(const std::string& path, const Communicator& comm, std::int64_t first,
                          std::int64_t count, const Hdf5Fields& fields) {
  const h5::QuietErrors quiet;
  Dataset d;
  agree_or_throw(comm.get(), [&] { d = read_on_this_rank(path, first, count, fields); });
  return d;
}

std::int64_t hdf5_dataset_size(const std::string& path, const Communicator& comm,
                               const Hdf5Fields& fields) {
  const h5::QuietErrors quiet;
  std::int64_t n = 0;
  agree_or_throw(comm.get(), [&] {
    const h5::SerialFile file = open_data_file(path);
    const bool unlabeled = without_labels(file, fields);
    n = unlabeled ? std::int64_t(h5::dataset_shape(file, fields.features, path)[0])
                  : std::int64_t(target_dims(file, path, fields)[0]);
    // Refused here, before anything is read: an empty set would train nothing, report
    // metrics of nothing, and have no rows to standardize by.
    if (n == 0)
      throw InputError(concat(path, ": /", unlabeled ? fields.features : fields.targets,
                              " holds no examples: a set to train on or predict needs at "
                              "least one"));
  });
  return n;
}

}  // namespace kbnn
