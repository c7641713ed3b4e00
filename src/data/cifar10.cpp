// CIFAR-10 binary reader. The files store each image as three colour planes (CHW);
// the rest of kbnn wants NHWC, so the planes are interleaved here, once, on load.
#include "data/cifar10.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.hpp"

namespace kbnn {
namespace {

constexpr int kSide = 32;
constexpr int kChannels = 3;
constexpr int kPlane = kSide * kSide;                   // 1024 bytes per colour
constexpr std::int64_t kRecord = 1 + kChannels * kPlane;  // label + R + G + B = 3073
constexpr int kClasses = 10;

struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::vector<std::uint8_t> read_file(const std::string& path) {
  errno = 0;
  std::unique_ptr<std::FILE, FileClose> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw InputError(concat(path, ": cannot open: ", std::strerror(errno)));
  std::vector<std::uint8_t> out;
  std::uint8_t buf[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    out.insert(out.end(), buf, buf + got);
  }
  if (std::ferror(f.get())) {
    throw InputError(concat(path, ": read error: ", std::strerror(errno)));
  }
  return out;
}

}  // namespace

Dataset read_cifar10(const std::vector<std::string>& files) {
  if (files.empty()) throw InputError("read_cifar10: no files given");
  Dataset d;
  d.source = files.front();
  d.height = kSide;
  d.width = kSide;
  d.channels = kChannels;
  d.num_classes = kClasses;
  // batches.meta.txt's names, in label order: the format's own classes.
  d.class_names = {"airplane", "automobile", "bird", "cat",  "deer",
                   "dog",      "frog",       "horse", "ship", "truck"};

  for (const auto& path : files) {
    const auto raw = read_file(path);
    const std::int64_t size = std::int64_t(raw.size());
    if (size == 0 || size % kRecord != 0) {
      throw InputError(concat(path, ": size ", size,
                              " bytes is not a non-zero multiple of the CIFAR-10 record "
                              "size ", kRecord, " (1 label byte + 3x32x32 pixels)"));
    }
    const std::int64_t n = size / kRecord;
    for (std::int64_t r = 0; r < n; ++r) {
      const std::uint8_t* rec = raw.data() + r * kRecord;
      if (rec[0] >= kClasses) {
        throw InputError(concat(path, ": label ", int(rec[0]), " at index ", r,
                                " is out of range [0, ", kClasses, ")"));
      }
      d.labels.push_back(rec[0]);
      const std::uint8_t* planes = rec + 1;  // (channel, y, x)
      for (int p = 0; p < kPlane; ++p) {      // p = y * 32 + x
        for (int c = 0; c < kChannels; ++c) d.pixels.push_back(planes[c * kPlane + p]);
      }
    }
    d.count += n;
  }
  return d;
}

}  // namespace kbnn
