#include "data/shift.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace kbnn {

namespace {

// Pixels: rounded and clamped to 0..255; float features as drawn.
std::uint8_t noise_value(double v, std::uint8_t) {
  return std::uint8_t(std::clamp(std::round(v), 0.0, 255.0));
}
float noise_value(double v, float) { return float(v); }

// Noise with the example's own mean and spread (per channel mixed: the example's
// numbers as one sample).
template <class T>
void noise_image(T* image, std::int64_t features, std::uint64_t seed, std::int64_t row) {
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
  for (std::int64_t f = 0; f < features; ++f) image[f] = noise_value(normal(generator), T{});
}

// Noise holds nothing a target measured (a pulse's position, a line's width): a
// regression's noise set is scored by its uncertainty alone, as a set read without targets,
// not against the targets of the examples it replaced. Labels stay (no metric reads an OOD
// set's labels; docs/design.md, "Out-of-distribution scores").
void forget_targets(Dataset& d) {
  d.labeled = false;
  d.targets.assign(d.targets.size(), std::numeric_limits<float>::quiet_NaN());
}

// Counter-clockwise: out(y, x) = in(x, n - 1 - y), NHWC.
template <class T>
void rotate_images(const std::vector<T>& from, std::vector<T>& to, const Dataset& d) {
  const std::int64_t features = d.features();
  const int n = d.height, c = d.channels;
  for (std::int64_t i = 0; i < d.count; ++i) {
    const T* in = from.data() + i * features;
    T* out = to.data() + i * features;
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        for (int ch = 0; ch < c; ++ch) out[(y * n + x) * c + ch] = in[(x * n + (n - 1 - y)) * c + ch];
  }
}

}  // namespace

Dataset shifted(const Dataset& d, DataShift shift, std::uint64_t seed, std::int64_t first_row) {
  Dataset out = d;
  out.source = concat(d.source, " (", word_of(shift), ")");
  const std::int64_t features = d.features();
  if (shift == DataShift::invert) {
    if (d.float_features)
      throw InputError(concat(d.source, ": shift invert needs uint8 images (255 - v); the "
                              "features are floats"));
    for (auto& v : out.pixels) v = std::uint8_t(255 - v);
  } else if (shift == DataShift::noise) {
    for (std::int64_t i = 0; i < d.count; ++i) {
      if (d.float_features)
        noise_image(out.values.data() + i * features, features, seed, first_row + i);
      else
        noise_image(out.pixels.data() + i * features, features, seed, first_row + i);
    }
    if (d.target_dim > 0) forget_targets(out);
  } else if (shift == DataShift::rot90) {
    if (d.height != d.width)
      throw InputError(concat(d.source, ": shift rot90 needs square images, got ", d.height,
                              "x", d.width));
    if (d.float_features)
      rotate_images(d.values, out.values, d);
    else
      rotate_images(d.pixels, out.pixels, d);
  }
  return out;
}

}  // namespace kbnn
