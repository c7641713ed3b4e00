#include "data/standardize.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>

namespace kbnn {

namespace {

// The largest |value| of each column over all ranks: exact (a maximum of maxima).
std::vector<double> global_max(const std::vector<double>& mine, const Communicator& comm) {
  const std::size_t width = mine.size();
  std::vector<double> all(width * std::size_t(comm.size()));
  comm.allgatherv(mine.data(), std::vector<std::int64_t>(comm.size(), std::int64_t(width)),
                  all.data());
  std::vector<double> top(width, 0.0);
  for (std::size_t i = 0; i < all.size(); ++i) top[i % width] = std::max(top[i % width], all[i]);
  return top;
}

// The sum over all ranks of value(i, c) for each column c, exactly: value(i, c) as an
// integer q * 2^-e, where 2^e keeps |q| <= 2^62 / total so that no int64 sum overflows.
// `largest` bounds |value(i, c)| on every rank; the result rounds the exact integer sum
// once, so it does not depend on how the rows are spread over ranks.
template <class Value>
std::vector<double> exact_sums(const Value& value, std::int64_t rows, std::size_t width,
                               const std::vector<double>& largest, std::int64_t total,
                               const Communicator& comm) {
  int row_bits = 0;
  std::frexp(double(std::max<std::int64_t>(total, 1)), &row_bits);  // total < 2^row_bits
  std::vector<int> exponent(width);
  std::vector<std::int64_t> sums(width, 0);
  for (std::size_t c = 0; c < width; ++c) {
    int magnitude = 0;
    std::frexp(largest[c], &magnitude);  // largest < 2^magnitude
    exponent[c] = 62 - row_bits - magnitude;
  }
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::size_t c = 0; c < width; ++c)
      sums[c] += std::llround(std::ldexp(value(i, c), exponent[c]));
  comm.allreduce_sum(sums.data(), sums.size());
  std::vector<double> out(width);
  for (std::size_t c = 0; c < width; ++c) out[c] = std::ldexp(double(sums[c]), -exponent[c]);
  return out;
}

// max over this rank's rows of |value(i, c)|, per column, then over all ranks.
template <class Value>
std::vector<double> largest_magnitudes(const Value& value, std::int64_t rows, std::size_t width,
                                       const Communicator& comm) {
  std::vector<double> mine(width, 0.0);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::size_t c = 0; c < width; ++c) mine[c] = std::max(mine[c], std::abs(value(i, c)));
  return global_max(mine, comm);
}

}  // namespace

ColumnMoments column_moments(const float* values, std::int64_t rows, std::int64_t width,
                             std::int64_t total, const Communicator& comm) {
  if (total < 1) throw RuntimeError("column_moments: no rows to standardize by");
  const std::size_t w = std::size_t(width);
  const auto value = [&](std::int64_t i, std::size_t c) { return double(values[i * w + c]); };
  ColumnMoments m;
  m.mean = exact_sums(value, rows, w, largest_magnitudes(value, rows, w, comm), total, comm);
  for (double& mean : m.mean) mean /= double(total);
  const auto square = [&](std::int64_t i, std::size_t c) {
    const double d = value(i, c) - m.mean[c];
    return d * d;
  };
  m.std = exact_sums(square, rows, w, largest_magnitudes(square, rows, w, comm), total, comm);
  for (double& s : m.std) {
    s = std::sqrt(s / double(total));
    if (!(s > 0) || !std::isfinite(s)) s = 1;  // a constant column: shifted only
  }
  return m;
}

namespace {
// Pixels as float features, pixel / 255, as a batch sees them.
std::vector<float> scaled_pixels(const std::uint8_t* pixels, std::size_t n) {
  std::vector<float> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = float(pixels[i]) * float(1.0 / 255.0);
  return values;
}
}  // namespace

Standardization fit_standardization(const Dataset& rows, std::int64_t first, std::int64_t count,
                                    std::int64_t total, bool targets, const Communicator& comm) {
  if (first < 0 || count < 0 || first + count > rows.count)
    throw RuntimeError(concat("fit_standardization: rows [", first, ", ", first + count,
                              ") of ", rows.count));
  const std::int64_t f = rows.features();
  const std::vector<float> pixels =
      rows.float_features ? std::vector<float>()
                          : scaled_pixels(rows.pixels.data() + first * f, std::size_t(count * f));
  const float* features = rows.float_features ? rows.values.data() + first * f : pixels.data();
  const ColumnMoments x = column_moments(features, count, f, total, comm);
  Standardization s;
  s.feature_mean = x.mean;
  s.feature_std = x.std;
  if (targets) {
    const ColumnMoments t = column_moments(rows.targets.data() + first * rows.target_dim, count,
                                           rows.target_dim, total, comm);
    s.target_mean = t.mean;
    s.target_std = t.std;
  }
  return s;
}

namespace {
// values (rows, width) <- (values - mean) / std, column by column.
void shift_and_scale(std::vector<float>& values, const std::vector<double>& mean,
                     const std::vector<double>& std, const std::string& what) {
  const std::size_t width = mean.size();
  if (width == 0) return;
  if (values.size() % width != 0)
    throw InputError(concat(what, ": ", values.size(), " values are no whole rows of ", width,
                            " (the standardization was fitted to other data)"));
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = float((double(values[i]) - mean[i % width]) / std[i % width]);
}
}  // namespace

void standardize(Dataset& d, const Standardization& s) {
  if (!s.feature_mean.empty()) {
    if (std::int64_t(s.feature_mean.size()) != d.features())
      throw InputError(concat(d.source, ": ", d.features(), " features per example, the "
                              "standardization has ", s.feature_mean.size()));
    if (!d.float_features) {
      d.values = scaled_pixels(d.pixels.data(), d.pixels.size());
      d.pixels = {};
      d.float_features = true;
    }
    shift_and_scale(d.values, s.feature_mean, s.feature_std, d.source);
  }
  if (!s.target_mean.empty() && d.labeled) {  // a set without targets has none to scale
    if (std::size_t(d.target_dim) != s.target_mean.size())
      throw InputError(concat(d.source, ": ", d.target_dim, " targets per example, the "
                              "standardization has ", s.target_mean.size()));
    shift_and_scale(d.targets, s.target_mean, s.target_std, d.source);
  }
}

double target_value(const Standardization& s, int t, double standardized) {
  if (s.target_mean.empty()) return standardized;
  return standardized * s.target_std[t] + s.target_mean[t];
}

double target_scale(const Standardization& s, int t) {
  return s.target_std.empty() ? 1.0 : s.target_std[t];
}

}  // namespace kbnn
