// The HDF5 reader for scientists' data (data/hdf5_dataset.hpp, data/data_split.hpp):
// features of every integer and float type, examples of any rank, HWC and CHW images,
// real targets, NaN and Inf refused with their count and first place, and one file
// split into training and test rows. Rank 0 writes each file with the plain HDF5 API;
// every rank reads it (ctest runs the [mpi] cases on 1, 2 and 3 ranks).
#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "core/error.hpp"
#include "data/data_split.hpp"
#include "data/hdf5_dataset.hpp"
#include "mpi_files.hpp"

using kbnn::test::contains;
using kbnn::test::SharedTempDir;
using kbnn::test::world;
using kbnn::test::world_rank;

namespace {

// Writes `values` (row-major, of shape dims) as dataset `name` of file type `type`
// into `path` (created if needed); HDF5 converts from double.
void write_array(const std::string& path, const std::string& name, hid_t type,
                 const std::vector<hsize_t>& dims, const std::vector<double>& values,
                 const std::string& layout = "") {
  const hid_t file = std::filesystem::exists(path)
                         ? H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                         : H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  const hid_t d = H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(d >= 0);
  REQUIRE(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  if (!layout.empty()) {
    const hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, layout.size());
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(d, "layout", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, str, layout.c_str());
    H5Aclose(a);
    H5Sclose(scalar);
    H5Tclose(str);
  }
  H5Dclose(d);
  H5Sclose(space);
  H5Fclose(file);
}

std::vector<double> iota(std::size_t n, double offset = 0) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = double(i) + offset;
  return v;
}

// Labels 0, 1, 2, 0, ... for n examples, as int32.
void write_labels(const std::string& path, std::size_t n) {
  std::vector<double> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = double(i % 3);
  write_array(path, "labels", H5T_STD_I32LE, {hsize_t(n)}, labels);
}

kbnn::Hdf5Fields fields(const std::string& features, const std::string& targets,
                        kbnn::DataLayout layout = kbnn::DataLayout::file, bool real = false) {
  return kbnn::Hdf5Fields{features, targets, layout, real};
}

}  // namespace

TEST_CASE("HDF5 features of every integer and float type; uint8 stays bytes", "[data][mpi]") {
  const SharedTempDir dir("kbnn_test_features");
  struct Type {
    const char* name;
    hid_t type;
    bool is_signed;
  };
  const Type types[] = {{"int8", H5T_STD_I8LE, true},     {"uint8", H5T_STD_U8LE, false},
                        {"int16", H5T_STD_I16BE, true},   {"uint16", H5T_STD_U16LE, false},
                        {"int32", H5T_STD_I32LE, true},   {"uint32", H5T_STD_U32BE, false},
                        {"int64", H5T_STD_I64LE, true},   {"uint64", H5T_STD_U64LE, false},
                        {"float32", H5T_IEEE_F32LE, true}, {"float64", H5T_IEEE_F64BE, true}};
  for (const Type& t : types) {
    // 6 examples of 2 features, n * 2 + f, less 4 where the type has signs.
    const std::vector<double> values = iota(12, t.is_signed ? -4.0 : 0.0);
    const std::string path = dir.file(std::string(t.name) + ".h5");
    if (world_rank() == 0) {
      write_array(path, "x", t.type, {6, 2}, values);
      write_labels(path, 6);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    const kbnn::Dataset d = kbnn::read_hdf5_dataset(path, world(), 1, 4, fields("x", "labels"));
    INFO(t.name);
    CHECK(d.count == 4);
    CHECK((d.height == 1 && d.width == 1 && d.channels == 2));
    CHECK(d.num_classes == 3);
    CHECK(d.labels == std::vector<std::int32_t>{1, 2, 0, 1});
    const std::vector<double> expected(values.begin() + 2, values.begin() + 10);
    if (std::string(t.name) == "uint8") {
      CHECK_FALSE(d.float_features);
      CHECK(d.values.empty());
      CHECK(std::vector<double>(d.pixels.begin(), d.pixels.end()) == expected);
    } else {
      CHECK(d.float_features);
      CHECK(d.pixels.empty());
      CHECK(std::vector<double>(d.values.begin(), d.values.end()) == expected);
    }
  }
}

TEST_CASE("HDF5 examples of any rank: vectors, images HWC, and CHW turned into HWC",
          "[data][mpi]") {
  const SharedTempDir dir("kbnn_test_layout");
  const std::string attr_chw = dir.file("chw_attr.h5"), plain = dir.file("plain.h5"),
                    shapes = dir.file("shapes.h5");
  // 3 examples of C = 2, H = 3, W = 5 stored CHW: (n, c, h, w) = 1000 n + 100 c + 10 h + w.
  std::vector<double> chw;
  for (int n = 0; n < 3; ++n)
    for (int c = 0; c < 2; ++c)
      for (int h = 0; h < 3; ++h)
        for (int w = 0; w < 5; ++w) chw.push_back(1000 * n + 100 * c + 10 * h + w);
  if (world_rank() == 0) {
    write_array(attr_chw, "x", H5T_IEEE_F32LE, {3, 2, 3, 5}, chw, "CHW");
    write_labels(attr_chw, 3);
    write_array(plain, "x", H5T_IEEE_F32LE, {3, 2, 3, 5}, chw);
    write_labels(plain, 3);
    write_array(shapes, "scalar", H5T_IEEE_F64LE, {3}, iota(3));
    write_array(shapes, "vector", H5T_IEEE_F64LE, {3, 7}, iota(21));
    write_array(shapes, "gray", H5T_STD_U8LE, {3, 4, 6}, iota(72));
    write_array(shapes, "volume", H5T_IEEE_F32LE, {3, 2, 3, 4, 5}, iota(360));
    write_labels(shapes, 3);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  const auto check_hwc = [&](const kbnn::Dataset& d) {
    REQUIRE((d.height == 3 && d.width == 5 && d.channels == 2));
    for (int n = 0; n < 3; ++n)
      for (int h = 0; h < 3; ++h)
        for (int w = 0; w < 5; ++w)
          for (int c = 0; c < 2; ++c)
            REQUIRE(d.values[((n * 3 + h) * 5 + w) * 2 + c] == 1000 * n + 100 * c + 10 * h + w);
  };
  SECTION("the layout attribute, or data.layout = chw, reads CHW") {
    check_hwc(kbnn::read_hdf5_dataset(attr_chw, world(), 0, -1, fields("x", "labels")));
    check_hwc(kbnn::read_hdf5_dataset(attr_chw, world(), 0, -1,
                                      fields("x", "labels", kbnn::DataLayout::chw)));
    check_hwc(kbnn::read_hdf5_dataset(plain, world(), 0, -1,
                                      fields("x", "labels", kbnn::DataLayout::chw)));
  }
  SECTION("a deck that contradicts the attribute, or no word at all, is an error naming both") {
    REQUIRE_THROWS_WITH(
        kbnn::read_hdf5_dataset(attr_chw, world(), 0, -1,
                                fields("x", "labels", kbnn::DataLayout::hwc)),
        contains(attr_chw + ": /x: the deck's data.layout is hwc, the dataset's layout "
                            "attribute chw"));
    REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(plain, world(), 0, -1, fields("x", "labels")),
                        contains(plain + ": /x: examples of shape (2, 3, 5) look like CHW"));
    const kbnn::Dataset hwc = kbnn::read_hdf5_dataset(
        plain, world(), 0, -1, fields("x", "labels", kbnn::DataLayout::hwc));
    CHECK((hwc.height == 2 && hwc.width == 3 && hwc.channels == 5));
    CHECK(std::vector<double>(hwc.values.begin(), hwc.values.end()) == chw);
    REQUIRE_THROWS_WITH(
        kbnn::read_hdf5_dataset(shapes, world(), 0, -1,
                                fields("vector", "labels", kbnn::DataLayout::chw)),
        contains("data.layout = chw needs examples of shape (C, H, W), got (7)"));
  }
  SECTION("vectors of any rank, and single-channel images") {
    const auto shape = [&](const std::string& name) {
      const kbnn::Dataset d = kbnn::read_hdf5_dataset(shapes, world(), 0, -1, fields(name, "labels"));
      return std::vector<int>{d.height, d.width, d.channels};
    };
    CHECK(shape("scalar") == std::vector<int>{1, 1, 1});
    CHECK(shape("vector") == std::vector<int>{1, 1, 7});
    CHECK(shape("gray") == std::vector<int>{4, 6, 1});
    CHECK(shape("volume") == std::vector<int>{1, 1, 120});
    const kbnn::Dataset v = kbnn::read_hdf5_dataset(shapes, world(), 2, 1, fields("vector", "labels"));
    CHECK(std::vector<double>(v.values.begin(), v.values.end()) == iota(7, 14));
  }
}

TEST_CASE("data.layout = signal reads examples (L) and (L, C) as signals 1 x L x C", "[data][mpi]") {
  const SharedTempDir dir("kbnn_test_signal");
  const std::string path = dir.file("signals.h5");
  if (world_rank() == 0) {
    write_array(path, "mono", H5T_IEEE_F32LE, {3, 7}, iota(21));
    write_array(path, "stereo", H5T_IEEE_F64LE, {3, 5, 2}, iota(30));
    write_array(path, "scalar", H5T_IEEE_F32LE, {3}, iota(3));
    write_array(path, "images", H5T_IEEE_F32LE, {3, 2, 3, 4}, iota(72), "HWC");
    write_labels(path, 3);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const auto read = [&](const std::string& name, std::int64_t first = 0, std::int64_t count = -1) {
    return kbnn::read_hdf5_dataset(path, world(), first, count,
                                   fields(name, "labels", kbnn::DataLayout::signal));
  };
  const kbnn::Dataset mono = read("mono");
  CHECK(std::vector<int>{mono.height, mono.width, mono.channels} == std::vector<int>{1, 7, 1});
  // Channels last, as stored: (L, C) rows need no reordering.
  const kbnn::Dataset stereo = read("stereo", 1, 2);
  CHECK(std::vector<int>{stereo.height, stereo.width, stereo.channels} ==
        std::vector<int>{1, 5, 2});
  CHECK(std::vector<double>(stereo.values.begin(), stereo.values.end()) == iota(20, 10));
  // Without the option the same datasets are a vector and a one-channel image.
  const kbnn::Dataset image = kbnn::read_hdf5_dataset(path, world(), 0, -1, fields("stereo", "labels"));
  CHECK(std::vector<int>{image.height, image.width, image.channels} == std::vector<int>{5, 2, 1});
  const std::string refused = ": data.layout = signal needs examples of shape (L) or (L, C) "
                              "(channels last), got ";
  REQUIRE_THROWS_WITH(read("scalar"), contains(path + ": /scalar" + refused + "()"));
  REQUIRE_THROWS_WITH(read("images"), contains(path + ": /images" + refused + "(2, 3, 4)"));
}

TEST_CASE("HDF5 real targets of any numeric type and shape; counts that differ name both shapes",
          "[data][mpi]") {
  const SharedTempDir dir("kbnn_test_targets");
  const std::string path = dir.file("regression.h5");
  if (world_rank() == 0) {
    write_array(path, "x", H5T_IEEE_F64LE, {5, 3}, iota(15));
    write_array(path, "y", H5T_IEEE_F64LE, {5}, iota(5, 0.5));
    write_array(path, "y2", H5T_STD_I16LE, {5, 2}, iota(10, -3));
    write_array(path, "short", H5T_IEEE_F32LE, {4, 2}, iota(8));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const kbnn::Dataset one =
      kbnn::read_hdf5_dataset(path, world(), 1, 3, fields("x", "y", kbnn::DataLayout::file, true));
  CHECK(one.target_dim == 1);
  CHECK(one.labels.empty());
  CHECK(one.targets == std::vector<float>{1.5f, 2.5f, 3.5f});
  const kbnn::Dataset two =
      kbnn::read_hdf5_dataset(path, world(), 3, 2, fields("x", "y2", kbnn::DataLayout::file, true));
  CHECK(two.target_dim == 2);
  CHECK(two.targets == std::vector<float>{3, 4, 5, 6});
  CHECK(kbnn::hdf5_dataset_size(path, world(), fields("x", "y", kbnn::DataLayout::file, true)) == 5);
  REQUIRE_THROWS_WITH(
      kbnn::read_hdf5_dataset(path, world(), 0, -1, fields("x", "short", kbnn::DataLayout::file, true)),
      contains(path + ": /x (5, 3) holds 5 examples, /short (4, 2) holds 4"));
  // Classification needs integer labels of shape (N) or (N, 1).
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(path, world(), 0, -1, fields("x", "y2")),
                      contains(path + ": /y2: expected class labels of shape (N) or (N, 1), got "
                                      "(5, 2): one integer class per example (one-hot rows: "
                                      "store their argmax"));
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(path, world(), 0, -1, fields("x", "y")),
                      contains(path + ": /y: expected integer class labels 0..K-1, got "
                                      "floating-point numbers (store them as integers"));
}

TEST_CASE("HDF5 class labels as a column (N, 1) read as (N); text labels named", "[data][mpi]") {
  const SharedTempDir dir("kbnn_test_label_column");
  const std::string path = dir.file("labels.h5");
  if (world_rank() == 0) {
    write_array(path, "x", H5T_IEEE_F32LE, {5, 2}, iota(10));
    write_array(path, "column", H5T_STD_I64LE, {5, 1}, {2, 0, 1, 2, 1});
    write_array(path, "flat", H5T_STD_I32LE, {5}, {2, 0, 1, 2, 1});
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t text = H5Tcopy(H5T_C_S1);
    H5Tset_size(text, 4);
    const hsize_t n = 5;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t d = H5Dcreate2(file, "text", text, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(H5Dwrite(d, text, H5S_ALL, H5S_ALL, H5P_DEFAULT, "cat dog cat fox bee ") >= 0);
    H5Dclose(d);
    H5Sclose(space);
    H5Tclose(text);
    H5Fclose(file);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const kbnn::Dataset column = kbnn::read_hdf5_dataset(path, world(), 1, 3, fields("x", "column"));
  const kbnn::Dataset flat = kbnn::read_hdf5_dataset(path, world(), 1, 3, fields("x", "flat"));
  CHECK(column.labels == std::vector<std::int32_t>{0, 1, 2});
  CHECK(column.labels == flat.labels);
  CHECK(column.num_classes == 3);
  CHECK(kbnn::hdf5_dataset_size(path, world(), fields("x", "column")) == 5);
  // The deck's default names on a file of other names: what the file holds is named.
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(path, world(), 0, -1, fields("images", "flat")),
                      contains(path + ": dataset /images missing (the file holds /column, "
                                      "/flat, /text, /x; data.features and data.targets name "
                                      "the datasets)"));
  REQUIRE_THROWS_WITH(kbnn::read_hdf5_dataset(path, world(), 0, -1, fields("x", "text")),
                      contains(path + ": /text: expected integer class labels 0..K-1, got "
                                      "strings (scripts/csv_to_h5.py --labels numbers text "
                                      "classes 0..K-1)"));
}

namespace {
// A regression deck's data section over one file with features `x` and targets `y`.
kbnn::DataConfig regression_data(const std::string& file) {
  kbnn::DataConfig d;
  d.format = kbnn::DataFormat::hdf5;
  d.train_file = file;
  d.test_file = file;
  d.features = "x";
  d.targets = "y";
  d.real_targets = true;
  return d;
}
}  // namespace

TEST_CASE("NaN or Inf in the features or targets stops the run with the count and the first",
          "[data][mpi]") {
  const SharedTempDir dir("kbnn_test_nan");
  const std::string features = dir.file("features.h5"), targets = dir.file("targets.h5");
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (world_rank() == 0) {
    std::vector<double> x = iota(30);  // 10 examples of 3
    x[4 * 3 + 1] = nan;                // row 4, feature 1
    x[7 * 3 + 2] = -inf;
    x[8 * 3 + 0] = nan;
    write_array(features, "x", H5T_IEEE_F64LE, {10, 3}, x);
    write_array(features, "y", H5T_IEEE_F32LE, {10}, iota(10));
    write_array(targets, "x", H5T_IEEE_F32LE, {10, 3}, iota(30));
    std::vector<double> y = iota(10);
    y[9] = inf;
    write_array(targets, "y", H5T_IEEE_F64LE, {10}, y);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (const kbnn::RankRows rows : {kbnn::RankRows::shard, kbnn::RankRows::all}) {
    REQUIRE_THROWS_WITH(
        kbnn::load_split(regression_data(features), kbnn::SplitPart::train, world(), rows),
        contains(features + ": /x: 3 values are NaN or Inf; the first is at row 4, feature 1"));
    REQUIRE_THROWS_WITH(
        kbnn::load_split(regression_data(targets), kbnn::SplitPart::test, world(), rows),
        contains(targets + ": /y: 1 values are NaN or Inf; the first is at row 9, target 0"));
  }
  // The rows before the first NaN are fine.
  kbnn::DataConfig first_four = regression_data(features);
  first_four.train_limit = 4;
  CHECK(kbnn::load_split(first_four, kbnn::SplitPart::train, world(), kbnn::RankRows::shard).total == 4);
}

TEST_CASE("data.test_fraction: one file split into training rows and the last rows for testing",
          "[data][mpi]") {
  const SharedTempDir dir("kbnn_test_split");
  const std::string path = dir.file("all.h5");
  if (world_rank() == 0) {
    write_array(path, "x", H5T_IEEE_F32LE, {10, 2}, iota(20));
    write_array(path, "y", H5T_IEEE_F32LE, {10}, iota(10));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  kbnn::DataConfig d = regression_data(path);
  d.test_file = "";
  d.test_fraction = 0.25;  // round(2.5) = 3 test rows
  const kbnn::Split train = kbnn::load_split(d, kbnn::SplitPart::train, world(), kbnn::RankRows::shard);
  const kbnn::Split test = kbnn::load_split(d, kbnn::SplitPart::test, world(), kbnn::RankRows::shard);
  CHECK(train.total == 7);
  CHECK(test.total == 3);
  const auto [lo, hi] = world().shard(3);
  CHECK(test.first == lo);
  std::vector<float> expected;
  for (std::int64_t i = lo; i < hi; ++i) expected.push_back(float(7 + i));
  CHECK(test.rows.targets == expected);
  d.test_limit = 2;
  CHECK(kbnn::load_split(d, kbnn::SplitPart::test, world(), kbnn::RankRows::all).rows.targets ==
        std::vector<float>{7, 8});
  d.test_fraction = 0.01;
  REQUIRE_THROWS_WITH(kbnn::load_split(d, kbnn::SplitPart::test, world(), kbnn::RankRows::all),
                      contains("data.test_fraction 0.01 of 10 examples holds out 0"));
}
