// data.standardize (data/standardize.hpp): the moments are exact sums, so every rank
// count and every split of the rows gives the same bits; they agree with a long-double
// two-pass reference; standardizing and undoing it returns the data; the numbers
// travel through a checkpoint unchanged. The [mpi] cases run on 1, 2 and 3 ranks.
#include <mpi.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "catch.hpp"
#include "data/standardize.hpp"
#include "mpi_files.hpp"
#include "output/checkpoint_file.hpp"

using kbnn::test::SharedTempDir;
using kbnn::test::world;
using kbnn::test::world_rank;

namespace {

// 101 rows of 4 features that stress a naive sum: a large offset with small spread, tiny
// values, a constant column, and signs mixed; and 2 targets.
kbnn::Dataset awkward_rows() {
  kbnn::Dataset d;
  d.source = "awkward";
  d.count = 101;
  d.height = d.width = 1;
  d.channels = 4;
  d.float_features = true;
  d.target_dim = 2;
  for (int i = 0; i < 101; ++i) {
    const double u = std::sin(0.7 * i + 0.3);
    d.values.insert(d.values.end(), {float(1e6 + 3 * u), float(1e-4 * u * u), 7.0f,
                                     float((i % 7) - 3.2 + u)});
    d.targets.insert(d.targets.end(), {float(150 + 77 * u), float(-2e-3 * i)});
  }
  return d;
}

// The two-pass mean and population deviation in long double, column by column.
std::vector<long double> reference(const std::vector<float>& v, std::size_t width, bool deviation) {
  const std::size_t rows = v.size() / width;
  std::vector<long double> mean(width, 0), out(width, 0);
  for (std::size_t i = 0; i < v.size(); ++i) mean[i % width] += v[i];
  for (auto& m : mean) m /= rows;
  if (!deviation) return mean;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const long double d = v[i] - mean[i % width];
    out[i % width] += d * d;
  }
  for (auto& s : out) s = std::sqrt(s / rows);
  return out;
}

}  // namespace

TEST_CASE("Standardization moments: the same bits on any rank count, and the true moments",
          "[data][mpi]") {
  const kbnn::Dataset all = awkward_rows();
  const auto [lo, hi] = world().shard(all.count);
  const kbnn::Standardization shared =
      kbnn::fit_standardization(all, lo, hi - lo, all.count, true, world());
  // Every rank alone, over all rows, on a communicator of itself: what 1 rank computes.
  const kbnn::Communicator self(MPI_COMM_SELF);
  const kbnn::Standardization alone =
      kbnn::fit_standardization(all, 0, all.count, all.count, true, self);
  CHECK(shared.feature_mean == alone.feature_mean);  // bit for bit
  CHECK(shared.feature_std == alone.feature_std);
  CHECK(shared.target_mean == alone.target_mean);
  CHECK(shared.target_std == alone.target_std);
  // And another split of the rows: rank r holds rows [7 r, ...) unevenly.
  const std::int64_t first = std::min<std::int64_t>(all.count, 7 * world_rank());
  const std::int64_t last = world_rank() + 1 == world().size() ? all.count
                            : std::min<std::int64_t>(all.count, 7 * (world_rank() + 1));
  const kbnn::Standardization uneven =
      kbnn::fit_standardization(all, first, last - first, all.count, true, world());
  CHECK(uneven.feature_mean == alone.feature_mean);
  CHECK(uneven.feature_std == alone.feature_std);

  const auto mean = reference(all.values, 4, false), std = reference(all.values, 4, true);
  for (int c = 0; c < 4; ++c) {
    INFO("feature " << c);
    CHECK(alone.feature_mean[c] == Approx(double(mean[c])).epsilon(1e-14).margin(1e-300));
    if (c == 2) {
      CHECK(alone.feature_std[c] == 1.0);  // constant: shifted, not scaled
    } else {
      CHECK(alone.feature_std[c] == Approx(double(std[c])).epsilon(1e-12));
    }
  }
  const auto target_std = reference(all.targets, 2, true);
  CHECK(alone.target_std[0] == Approx(double(target_std[0])).epsilon(1e-12));
  CHECK(alone.target_std[1] == Approx(double(target_std[1])).epsilon(1e-12));
}

TEST_CASE("Standardized data has mean 0 and deviation 1, and target_value undoes it",
          "[data]") {
  kbnn::Dataset d = awkward_rows();
  const kbnn::Communicator self(MPI_COMM_SELF);
  const kbnn::Standardization s = kbnn::fit_standardization(d, 0, d.count, d.count, true, self);
  const kbnn::Dataset raw = d;
  kbnn::standardize(d, s);
  const auto mean = reference(d.values, 4, false), std = reference(d.values, 4, true);
  for (int c = 0; c < 4; ++c) {
    CHECK(double(mean[c]) == Approx(0).margin(1e-5));
    if (c != 2) CHECK(double(std[c]) == Approx(1).epsilon(1e-5));
  }
  for (std::size_t i = 0; i < raw.targets.size(); ++i) {
    const int t = int(i % 2);
    CHECK(kbnn::target_value(s, t, d.targets[i]) ==
          Approx(raw.targets[i]).epsilon(1e-6).margin(1e-6 * kbnn::target_scale(s, t)));
  }
  // Data of another width is refused with both counts.
  kbnn::Dataset narrow = raw;
  narrow.channels = 3;
  REQUIRE_THROWS_WITH(kbnn::standardize(narrow, s),
                      kbnn::test::contains("awkward: 3 features per example, the "
                                           "standardization has 4"));
}

TEST_CASE("Standardized uint8 images become float features pixel / 255, shifted and scaled",
          "[data]") {
  kbnn::Dataset d;
  d.source = "bytes";
  d.count = 4;
  d.height = d.width = 1;
  d.channels = 2;
  d.pixels = {0, 255, 51, 255, 102, 0, 153, 0};
  d.labels = {0, 1, 0, 1};
  const kbnn::Communicator self(MPI_COMM_SELF);
  const kbnn::Standardization s = kbnn::fit_standardization(d, 0, 4, 4, false, self);
  CHECK(s.target_mean.empty());
  CHECK(s.feature_mean[0] == Approx(76.5 / 255));
  CHECK(s.feature_mean[1] == Approx(0.5));
  kbnn::standardize(d, s);
  CHECK(d.float_features);
  CHECK(d.pixels.empty());
  CHECK(d.values[1] == Approx(1.0));   // (1 - 0.5) / 0.5
  CHECK(d.values[5] == Approx(-1.0));
}

TEST_CASE("Checkpoint: the standardization is written and read back bit for bit", "[hdf5][mpi]") {
  const SharedTempDir dir("kbnn_test_standardize");
  kbnn::Checkpoint c;
  c.step = 3;
  c.parameters = {1, 2, 3};
  c.state_names = {"sgd_velocity"};
  c.state = {{0, 0, 0}};
  c.deck_text = "[train]\n";
  c.window = kbnn::TrainingWindow{std::vector<double>(world().size(), 0.0),
                                  std::vector<double>(world().size(), 0.0), 0};
  c.standardization.feature_mean = {1.0 / 3, -2e300};
  c.standardization.feature_std = {0.1, 1};
  c.standardization.target_mean = {152.13};
  c.standardization.target_std = {77.0 / 7};
  const std::string path = dir.file("c.h5");
  kbnn::write_checkpoint(path, world(), c);
  const kbnn::Checkpoint back = kbnn::read_checkpoint(path, world());
  CHECK(back.standardization.feature_mean == c.standardization.feature_mean);
  CHECK(back.standardization.feature_std == c.standardization.feature_std);
  CHECK(back.standardization.target_mean == c.standardization.target_mean);
  CHECK(back.standardization.target_std == c.standardization.target_std);
  // Without one, nothing is written and nothing comes back.
  c.standardization = {};
  kbnn::write_checkpoint(path, world(), c);
  CHECK(kbnn::read_checkpoint(path, world()).standardization.empty());
}
