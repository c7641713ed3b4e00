// Picks the files of a split by format and naming convention, so that callers only
// name a directory. Readers live in idx.cpp and cifar10.cpp.
#include "data/dataset.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "core/path_note.hpp"
#include "data/cifar10.hpp"
#include "data/idx.hpp"

namespace kbnn {
namespace fs = std::filesystem;

namespace {
// Rows [first, first + count) of a row-major (rows, width) vector; an empty vector
// (the data set holds no such part) stays empty.
template <class T>
std::vector<T> rows_of(const std::vector<T>& all, std::int64_t first, std::int64_t count,
                       std::int64_t width) {
  if (all.empty()) return {};
  return std::vector<T>(all.begin() + first * width, all.begin() + (first + count) * width);
}
}  // namespace

void truncate(Dataset& d, std::int64_t n) {
  if (n <= 0 || n >= d.count) return;
  d = slice(d, 0, n);
}

std::string shape_text(int height, int width, int channels) {
  if (height == 1 && width == 1) return concat(channels, " features");
  return concat(height, "x", width, "x", channels);
}

Dataset slice(const Dataset& d, std::int64_t first, std::int64_t count) {
  if (first < 0 || count < 0 || first + count > d.count)
    throw InputError(concat(d.source, ": rows [", first, ", ", first + count,
                            ") are outside the ", d.count, " examples"));
  Dataset out;
  out.source = d.source;
  out.height = d.height;
  out.width = d.width;
  out.channels = d.channels;
  out.num_classes = d.num_classes;
  out.class_names = d.class_names;
  out.labeled = d.labeled;
  out.float_features = d.float_features;
  out.target_dim = d.target_dim;
  out.count = count;
  const std::int64_t f = d.features();
  out.pixels = rows_of(d.pixels, first, count, f);
  out.values = rows_of(d.values, first, count, f);
  out.labels = rows_of(d.labels, first, count, 1);
  out.targets = rows_of(d.targets, first, count, d.target_dim);
  return out;
}

namespace {

// The .gz name if it exists (the form MNIST is distributed in), else the plain one.
std::string idx_file(const fs::path& dir, const std::string& name) {
  const fs::path gz = dir / (name + ".gz");
  const fs::path plain = dir / name;
  if (fs::exists(gz)) return gz.string();
  if (fs::exists(plain)) return plain.string();
  throw InputError(concat(dir.string(), ": neither ", name, ".gz nor ", name,
                          " found (format idx)", relative_path_note(dir.string())));
}

// CIFAR-10's tarball unpacks into cifar-10-batches-bin/, so accept that level too.
fs::path cifar_dir(const fs::path& dir, const std::string& first_file) {
  for (const fs::path& d : {dir, dir / "cifar-10-batches-bin"}) {
    if (fs::exists(d / first_file)) return d;
  }
  throw InputError(concat(dir.string(), ": ", first_file, " not found here or in ",
                          (dir / "cifar-10-batches-bin").string(), " (format cifar10)"));
}

}  // namespace

Dataset load_dataset(DataFormat format, const std::string& dir, SplitPart part) {
  const bool train = part == SplitPart::train;
  Dataset d;
  if (format == DataFormat::idx) {
    const std::string prefix = train ? "train" : "t10k";
    // Named one after the other: argument evaluation order is unspecified, and a
    // missing images file should be reported before a missing labels file.
    const std::string images = idx_file(dir, prefix + "-images-idx3-ubyte");
    const std::string labels = idx_file(dir, prefix + "-labels-idx1-ubyte");
    d = read_idx(images, labels);
  } else if (format == DataFormat::cifar10) {
    std::vector<std::string> names;
    if (train) {
      for (int i = 1; i <= 5; ++i) names.push_back(concat("data_batch_", i, ".bin"));
    } else {
      names.push_back("test_batch.bin");
    }
    const fs::path where = cifar_dir(dir, names.front());
    std::vector<std::string> files;
    for (const auto& n : names) files.push_back((where / n).string());
    d = read_cifar10(files);
  } else {
    throw InputError(concat("dataset format '", word_of(format),
                            "' is not read from a directory, expected one of: idx, cifar10"));
  }
  d.source = dir;
  return d;
}

}  // namespace kbnn
