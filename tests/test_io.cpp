// Tests for the data readers (data/): synthetic IDX and CIFAR-10 files written to a
// temporary directory, read back, and broken in the ways real downloads break.
#include <zlib.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "data/cifar10.hpp"
#include "data/dataset.hpp"
#include "data/idx.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

// A fresh directory, removed with everything in it when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    static int serial = 0;
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() /
           ("kbnn_test_io_" + std::to_string(stamp) + "_" + std::to_string(serial++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_plain(const std::string& path, const Bytes& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  // An empty vector may have no buffer at all: fwrite must not see a null pointer.
  if (!bytes.empty()) REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  REQUIRE(std::fclose(f) == 0);
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

void put_u32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(std::uint8_t(v >> shift));
}

Bytes idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, const Bytes& px) {
  Bytes b;
  put_u32(b, 0x00000803);
  put_u32(b, n);
  put_u32(b, rows);
  put_u32(b, cols);
  b.insert(b.end(), px.begin(), px.end());
  return b;
}

Bytes idx_labels(std::uint32_t n, const Bytes& labels) {
  Bytes b;
  put_u32(b, 0x00000801);
  put_u32(b, n);
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// Three 2x3 images whose pixel i holds 10 * i + 7 (wrapping), so every byte differs.
const Bytes kPixels = [] {
  Bytes px(3 * 2 * 3);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = std::uint8_t(10 * i + 7);
  return px;
}();
const Bytes kLabels = {4, 0, 9};

void check_small_idx(const kbnn::Dataset& d) {
  CHECK(d.count == 3);
  CHECK(d.height == 2);
  CHECK(d.width == 3);
  CHECK(d.channels == 1);
  CHECK(d.num_classes == 10);
  CHECK(d.features() == 6);
  CHECK(d.pixels == kPixels);
  CHECK(d.labels == std::vector<std::int32_t>{4, 0, 9});
}

// One CIFAR-10 record whose byte for (c, y, x) is (label + 3 * c + 5 * y + 7 * x) % 256.
Bytes cifar_record(std::uint8_t label) {
  Bytes b{label};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) b.push_back(std::uint8_t(label + 3 * c + 5 * y + 7 * x));
  return b;
}

}  // namespace

TEST_CASE("read_idx reads a gzipped IDX pair", "[io]") {
  TempDir tmp;
  write_gz(tmp.file("img.gz"), idx_images(3, 2, 3, kPixels));
  write_gz(tmp.file("lab.gz"), idx_labels(3, kLabels));
  const auto d = kbnn::read_idx(tmp.file("img.gz"), tmp.file("lab.gz"));
  check_small_idx(d);
  CHECK(d.source == tmp.file("img.gz"));
}

TEST_CASE("read_idx reads a plain IDX pair", "[io]") {
  TempDir tmp;
  write_plain(tmp.file("img"), idx_images(3, 2, 3, kPixels));
  write_plain(tmp.file("lab"), idx_labels(3, kLabels));
  check_small_idx(kbnn::read_idx(tmp.file("img"), tmp.file("lab")));
}

TEST_CASE("load_dataset idx prefers .gz and picks the split by name", "[io]") {
  TempDir tmp;
  write_gz(tmp.file("t10k-images-idx3-ubyte.gz"), idx_images(3, 2, 3, kPixels));
  write_gz(tmp.file("t10k-labels-idx1-ubyte.gz"), idx_labels(3, kLabels));
  // Plain files with other content: must be ignored while the .gz ones exist.
  write_plain(tmp.file("t10k-images-idx3-ubyte"), idx_images(1, 1, 1, {1}));
  write_plain(tmp.file("t10k-labels-idx1-ubyte"), idx_labels(1, {1}));

  auto d = kbnn::load_dataset(kbnn::DataFormat::idx, tmp.path.string(), kbnn::SplitPart::test);
  check_small_idx(d);
  CHECK(d.source == tmp.path.string());
  REQUIRE_THROWS_WITH(
      kbnn::load_dataset(kbnn::DataFormat::idx, tmp.path.string(), kbnn::SplitPart::train),
      kbnn::test::contains("train-images-idx3-ubyte.gz nor"));

  kbnn::truncate(d, 2);
  CHECK(d.count == 2);
  CHECK(d.pixels == Bytes(kPixels.begin(), kPixels.begin() + 12));
  CHECK(d.labels == std::vector<std::int32_t>{4, 0});
  kbnn::truncate(d, 0);  // no-op
  CHECK(d.count == 2);
}

TEST_CASE("read_idx rejects broken files", "[io]") {
  TempDir tmp;
  const auto img = tmp.file("img.gz"), lab = tmp.file("lab.gz");
  write_gz(lab, idx_labels(3, kLabels));

  SECTION("wrong magic") {
    // A labels file passed as images: the commonest mix-up.
    REQUIRE_THROWS_WITH(
        kbnn::read_idx(lab, lab),
        kbnn::test::contains(lab + ": bad magic number 0x00000801, expected 0x00000803 "
                                   "(IDX unsigned-byte images, 3 dimensions)"));
  }
  SECTION("truncated pixel data") {
    Bytes cut = idx_images(3, 2, 3, kPixels);
    cut.resize(cut.size() - 5);
    write_gz(img, cut);
    REQUIRE_THROWS_WITH(kbnn::read_idx(img, lab),
                        kbnn::test::contains(img + ": truncated: header says 3 images of "
                                                   "2x3 (18 bytes) but the file has only 13 "
                                                   "bytes of pixel data"));
  }
  SECTION("truncated header") {
    write_plain(img, {0, 0, 8, 3, 0, 0});
    REQUIRE_THROWS_WITH(kbnn::read_idx(img, lab),
                        kbnn::test::contains(img + ": truncated header: 6 bytes, expected 16"));
  }
  SECTION("trailing bytes") {
    Bytes extra = idx_images(3, 2, 3, kPixels);
    extra.push_back(0);
    write_gz(img, extra);
    REQUIRE_THROWS_WITH(kbnn::read_idx(img, lab),
                        kbnn::test::contains(img + ": trailing bytes after the 3 images"));
  }
  SECTION("label out of range") {
    write_gz(img, idx_images(3, 2, 3, kPixels));
    // 10 is the first value out of range: catches an off-by-one in the bound.
    write_gz(lab, idx_labels(3, {4, 10, 0}));
    REQUIRE_THROWS_WITH(kbnn::read_idx(img, lab),
                        kbnn::test::contains(lab + ": label 10 at index 1 is out of range "
                                                   "[0, 10)"));
    // The same file is fine with one more class.
    CHECK(kbnn::read_idx(img, lab, 11).labels[1] == 10);
  }
  SECTION("image and label counts differ") {
    write_gz(img, idx_images(3, 2, 3, kPixels));
    write_gz(lab, idx_labels(2, {4, 0}));
    REQUIRE_THROWS_WITH(kbnn::read_idx(img, lab),
                        kbnn::test::contains("image count 3 (" + img +
                                             ") does not match label count 2 (" + lab + ")"));
  }
  SECTION("missing file") {
    const auto missing = tmp.file("nope.gz");
    REQUIRE_THROWS_WITH(kbnn::read_idx(missing, lab),
                        kbnn::test::contains(missing + ": cannot open: No such file"));
  }
}

TEST_CASE("read_cifar10 converts CHW records to HWC", "[io]") {
  TempDir tmp;
  Bytes two = cifar_record(3);
  const Bytes second = cifar_record(9);
  two.insert(two.end(), second.begin(), second.end());
  write_plain(tmp.file("b.bin"), two);
  // A second file holding one more record: files are concatenated in order.
  write_plain(tmp.file("c.bin"), cifar_record(0));

  const auto d = kbnn::read_cifar10({tmp.file("b.bin"), tmp.file("c.bin")});
  CHECK(d.count == 3);
  CHECK(d.height == 32);
  CHECK(d.width == 32);
  CHECK(d.channels == 3);
  CHECK(d.num_classes == 10);
  CHECK(d.labels == std::vector<std::int32_t>{3, 9, 0});
  REQUIRE(d.pixels.size() == 3u * 32 * 32 * 3);
  // pixels[((n * 32 + y) * 32 + x) * 3 + c] must equal the record's byte 1 + c*1024 + y*32 + x.
  auto at = [&](int n, int y, int x, int c) { return int(d.pixels[((n * 32 + y) * 32 + x) * 3 + c]); };
  CHECK(at(0, 0, 0, 0) == 3);
  CHECK(at(0, 0, 0, 1) == 6);
  CHECK(at(0, 0, 0, 2) == 9);
  CHECK(at(0, 1, 2, 0) == 3 + 5 + 14);
  CHECK(at(0, 31, 31, 2) == (3 + 6 + 5 * 31 + 7 * 31) % 256);
  CHECK(at(1, 4, 7, 1) == 9 + 3 + 20 + 49);
  CHECK(at(2, 31, 0, 1) == 3 + 155);
  CHECK(int(d.pixels[3 * 1 + 2]) == two[1 + 2 * 1024 + 1]);  // (n=0, y=0, x=1, blue)
}

TEST_CASE("load_dataset cifar10 looks in cifar-10-batches-bin", "[io]") {
  TempDir tmp;
  fs::create_directories(tmp.path / "cifar-10-batches-bin");
  write_plain((tmp.path / "cifar-10-batches-bin" / "test_batch.bin").string(), cifar_record(5));
  const auto d =
      kbnn::load_dataset(kbnn::DataFormat::cifar10, tmp.path.string(), kbnn::SplitPart::test);
  CHECK(d.count == 1);
  CHECK(d.labels == std::vector<std::int32_t>{5});
  // The format's classes, named as its batches.meta.txt does; a slice keeps them.
  REQUIRE(d.class_names.size() == 10);
  CHECK(d.class_names[5] == "dog");
  CHECK(kbnn::slice(d, 0, 1).class_names == d.class_names);
  REQUIRE_THROWS_WITH(
      kbnn::load_dataset(kbnn::DataFormat::cifar10, tmp.path.string(), kbnn::SplitPart::train),
      kbnn::test::contains("data_batch_1.bin not found"));
}

TEST_CASE("read_cifar10 rejects broken files", "[io]") {
  TempDir tmp;
  const auto path = tmp.file("bad.bin");
  SECTION("size not a multiple of 3073") {
    Bytes b = cifar_record(1);
    b.pop_back();
    write_plain(path, b);
    REQUIRE_THROWS_WITH(kbnn::read_cifar10({path}),
                        kbnn::test::contains(path + ": size 3072 bytes is not a non-zero "
                                                    "multiple of the CIFAR-10 record size 3073"));
  }
  SECTION("empty file") {
    write_plain(path, {});
    REQUIRE_THROWS_WITH(kbnn::read_cifar10({path}),
                        kbnn::test::contains(path + ": size 0 bytes"));
  }
  SECTION("label out of range") {
    Bytes b = cifar_record(2);
    const Bytes bad = cifar_record(10);
    b.insert(b.end(), bad.begin(), bad.end());
    write_plain(path, b);
    REQUIRE_THROWS_WITH(kbnn::read_cifar10({path}),
                        kbnn::test::contains(path + ": label 10 at index 1 is out of range "
                                                    "[0, 10)"));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(kbnn::read_cifar10({path}),
                        kbnn::test::contains(path + ": cannot open"));
  }
}

TEST_CASE("load_dataset rejects hdf5, which is read by rows", "[io]") {
  REQUIRE_THROWS_WITH(kbnn::load_dataset(kbnn::DataFormat::hdf5, "/tmp", kbnn::SplitPart::train),
                      kbnn::test::contains("dataset format 'hdf5' is not read from a directory, "
                                           "expected one of: idx, cifar10"));
}
