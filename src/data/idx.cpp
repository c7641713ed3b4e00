// IDX reader. zlib's gz* functions read gzip and plain files alike, so one code path
// serves both MNIST's .gz downloads and unpacked copies.
#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.hpp"

namespace kbnn {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzClose>;

GzFile open_gz(const std::string& path) {
  errno = 0;
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) {
    throw InputError(concat(path, ": cannot open: ",
                            errno ? std::strerror(errno) : "out of memory in zlib"));
  }
  return f;
}

// Reads up to `limit` bytes; fewer only at the end of the file. Reads in chunks and
// grows the buffer as data arrives, so a corrupt header that claims terabytes fails
// as "truncated" instead of as a huge allocation.
std::vector<std::uint8_t> read_up_to(gzFile f, const std::string& path, std::int64_t limit) {
  constexpr std::int64_t kChunk = std::int64_t(1) << 20;
  std::vector<std::uint8_t> out;
  while (std::int64_t(out.size()) < limit) {
    const std::int64_t old = std::int64_t(out.size());
    const std::int64_t want = std::min(kChunk, limit - old);
    out.resize(std::size_t(old + want));
    const int got = gzread(f, out.data() + old, unsigned(want));
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      throw InputError(concat(path, ": read error: ",
                              code == Z_ERRNO ? std::strerror(errno) : msg));
    }
    out.resize(std::size_t(old + got));
    if (got < want) break;
  }
  return out;
}

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 |
         std::uint32_t(p[3]);
}

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", unsigned(v));
  return buf;
}

// Reads the magic number and `ndims` dimension sizes. The magic is checked before
// the rest of the header, so a short file of the wrong kind reports the wrong kind.
std::vector<std::uint32_t> read_header(gzFile f, const std::string& path,
                                       std::uint32_t magic, int ndims,
                                       const char* description) {
  const std::int64_t size = 4 * (1 + ndims);
  const auto head = read_up_to(f, path, 4);
  if (head.size() == 4 && big_endian_u32(head.data()) != magic) {
    throw InputError(concat(path, ": bad magic number ", hex32(big_endian_u32(head.data())),
                            ", expected ", hex32(magic), " (", description, ")"));
  }
  const auto rest = read_up_to(f, path, size - 4);
  const std::int64_t got = std::int64_t(head.size() + rest.size());
  if (got < size) {
    throw InputError(concat(path, ": truncated header: ", got, " bytes, expected ", size,
                            " (", description, ")"));
  }
  std::vector<std::uint32_t> dims(ndims);
  for (int i = 0; i < ndims; ++i) dims[i] = big_endian_u32(rest.data() + 4 * i);
  return dims;
}

// Reads exactly `expected` bytes of payload. Trailing bytes are an error: a file
// longer than its header says is not the file we think it is.
std::vector<std::uint8_t> read_payload(gzFile f, const std::string& path,
                                       std::int64_t expected, const std::string& says,
                                       const char* kind) {
  auto data = read_up_to(f, path, expected + 1);
  if (std::int64_t(data.size()) < expected) {
    throw InputError(concat(path, ": truncated: header says ", says, " (", expected,
                            " bytes) but the file has only ", data.size(), " bytes of ",
                            kind, " data"));
  }
  if (std::int64_t(data.size()) > expected) {
    throw InputError(concat(path, ": trailing bytes after the ", says,
                            " that the header declares (", expected, " bytes of ", kind,
                            " data expected)"));
  }
  return data;
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int num_classes) {
  if (num_classes <= 0) {
    throw InputError(concat(labels_path, ": num_classes must be > 0, got ", num_classes));
  }
  Dataset d;
  d.source = images_path;
  d.num_classes = num_classes;
  d.channels = 1;

  {
    GzFile f = open_gz(images_path);
    const auto dims = read_header(f.get(), images_path, kImagesMagic, 3,
                                  "IDX unsigned-byte images, 3 dimensions");
    const std::uint32_t n = dims[0], rows = dims[1], cols = dims[2];
    // Bounding rows*cols keeps n*rows*cols (n < 2^32) inside int64.
    if (rows == 0 || cols == 0 || std::uint64_t(rows) * cols > (std::uint64_t(1) << 24)) {
      throw InputError(concat(images_path, ": image size ", rows, "x", cols,
                              " is invalid, expected 1 to 2^24 pixels per image"));
    }
    const std::int64_t bytes = std::int64_t(n) * rows * cols;
    d.pixels = read_payload(f.get(), images_path, bytes,
                            concat(n, " images of ", rows, "x", cols), "pixel");
    d.count = n;
    d.height = int(rows);
    d.width = int(cols);
  }

  std::vector<std::uint8_t> raw_labels;
  {
    GzFile f = open_gz(labels_path);
    const auto dims = read_header(f.get(), labels_path, kLabelsMagic, 1,
                                  "IDX unsigned-byte labels, 1 dimension");
    if (std::int64_t(dims[0]) != d.count) {
      throw InputError(concat("image count ", d.count, " (", images_path,
                              ") does not match label count ", dims[0], " (",
                              labels_path, ")"));
    }
    raw_labels = read_payload(f.get(), labels_path, dims[0],
                              concat(dims[0], " labels"), "label");
  }

  d.labels.resize(raw_labels.size());
  for (std::size_t i = 0; i < raw_labels.size(); ++i) {
    if (raw_labels[i] >= num_classes) {
      throw InputError(concat(labels_path, ": label ", int(raw_labels[i]), " at index ", i,
                              " is out of range [0, ", num_classes, ")"));
    }
    d.labels[i] = raw_labels[i];
  }
  return d;
}

}  // namespace kbnn
