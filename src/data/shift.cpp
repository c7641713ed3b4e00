#include "data/shift.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace kbnn {

namespace {

// Pixel noise with the image's own mean and spread (per channel mixed: the image's
// pixels as one sample).
void noise_image(std::uint8_t* image, std::int64_t features, std::uint64_t seed,
                 std::int64_t row) {
  double sum = 0, square = 0;
  for (std::int64_t f = 0; f < features; ++f) {
    sum += image[f];
    square += double(image[f]) * image[f];
  }
  const double mean = sum / features;
  const double stddev = std::sqrt(std::max(0.0, square / features - mean * mean));
  // One generator per image, seeded by (seed, row): independent of how rows are split.
  std::seed_seq key{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(row),
                    std::uint32_t(std::uint64_t(row) >> 32)};
  std::mt19937_64 generator(key);
  std::normal_distribution<double> normal(mean, stddev);
  for (std::int64_t f = 0; f < features; ++f)
    image[f] = std::uint8_t(std::clamp(std::round(normal(generator)), 0.0, 255.0));
}

}  // namespace

Dataset shifted(const Dataset& d, DataShift shift, std::uint64_t seed, std::int64_t first_row) {
  Dataset out = d;
  out.source = concat(d.source, " (", word_of(shift), ")");
  const std::int64_t features = d.features();
  if (shift == DataShift::invert) {
    for (auto& v : out.pixels) v = std::uint8_t(255 - v);
  } else if (shift == DataShift::noise) {
    for (std::int64_t i = 0; i < d.count; ++i)
      noise_image(out.pixels.data() + i * features, features, seed, first_row + i);
  } else if (shift == DataShift::rot90) {
    if (d.height != d.width)
      throw InputError(concat(d.source, ": shift rot90 needs square images, got ", d.height,
                              "x", d.width));
    // Counter-clockwise: out(y, x) = in(x, n - 1 - y), NHWC.
    const int n = d.height, c = d.channels;
    for (std::int64_t i = 0; i < d.count; ++i) {
      const std::uint8_t* in = d.pixels.data() + i * features;
      std::uint8_t* to = out.pixels.data() + i * features;
      for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
          for (int ch = 0; ch < c; ++ch) to[(y * n + x) * c + ch] = in[(x * n + (n - 1 - y)) * c + ch];
    }
  }
  return out;
}

}  // namespace kbnn
