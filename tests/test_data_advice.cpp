// data_advice (data/data_advice.hpp): the warnings about training data kbnn would train
// on badly. Every rank holds all rows and counts its shard of them, as with
// data.shuffle = global; ctest runs the [mpi] cases on 1, 2 and 3 ranks, and every rank
// must get the same lines.
#include <string>
#include <vector>

#include "catch.hpp"
#include "data/data_advice.hpp"
#include "mpi_files.hpp"

using kbnn::test::world;

namespace {

// The advice on all of d's rows, each rank counting its shard, with their moments as a
// run computes them.
std::vector<std::string> advice(const kbnn::Dataset& d, bool standardized) {
  const auto [first, last] = world().shard(d.count);
  const kbnn::Standardization moments =
      kbnn::fit_standardization(d, first, last - first, d.count, d.target_dim > 0, world());
  return kbnn::data_advice({&d, first, last - first, d.count, standardized, &moments}, world());
}

// n rows of one feature x_i = scale * (i % 2), labels given.
kbnn::Dataset classes(const std::vector<std::int32_t>& labels, float scale) {
  kbnn::Dataset d;
  d.count = std::int64_t(labels.size());
  d.height = d.width = d.channels = 1;
  d.float_features = true;
  for (std::size_t i = 0; i < labels.size(); ++i) d.values.push_back(scale * float(i % 2));
  d.labels = labels;
  d.num_classes = 4;
  return d;
}

}  // namespace

TEST_CASE("data_advice: classes numbered from 1 are named; 0..K-1 pass", "[data][mpi]") {
  const std::vector<std::string> lines = advice(classes({1, 2, 3, 1, 3, 2, 3}, 1), true);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "data: warning: no training example has label 0 (the smallest is 1): "
                    "classes count from 0, and class 0, never seen, still gets an output of the "
                    "model; labels numbered 1..K need 1 subtracted (scripts/csv_to_h5.py "
                    "--labels numbers any classes 0..K-1)");
  // Only the last rank's shard holds label 0 on several ranks: the minimum is global.
  CHECK(advice(classes({2, 3, 2, 3, 2, 3, 0}, 1), true).empty());
  CHECK(advice(classes({3, 2, 3, 2, 3}, 1), true)[0].find("classes 0 .. 1, never seen, still get outputs") !=
        std::string::npos);
}

TEST_CASE("data_advice: without data.standardize, targets and features far from unit scale",
          "[data][mpi]") {
  kbnn::Dataset d = classes({0, 1, 2, 0, 1, 2}, 1);  // features 0, 1, 0, 1, ...: fine
  CHECK(advice(d, false).empty());
  d = classes({0, 1, 2, 0, 1, 2}, 100);  // features 0, 100, ...: mean 50
  std::vector<std::string> lines = advice(d, false);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "data: warning: feature 0 has mean 50 while data.standardize = false: "
                    "features far from unit scale train slowly and drown the others; set "
                    "data.standardize = true (predictions and metrics stay in the data's own "
                    "units)");
  CHECK(advice(d, true).empty());  // standardized: nothing to say
  // A regression: targets of mean 0 and standard deviation 30 in the second column.
  kbnn::Dataset r = classes({}, 1);
  r.count = 4;
  r.values = {0, 1, 0, 1};
  r.labels.clear();
  r.num_classes = 0;
  r.target_dim = 2;
  r.targets = {0.5f, -30, 0.5f, 30, 0.5f, -30, 0.5f, 30};
  lines = advice(r, false);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("data: warning: target 1 has standard deviation 30 while data.standardize "
                       "= false: the network starts with outputs near 0 and a noise variance near "
                       "1, and may not reach them; set data.standardize = true", 0) == 0);
  CHECK(advice(r, true).empty());
}

TEST_CASE("data_advice: a column float32 barely resolves is named, standardized or not",
          "[data][mpi]") {
  // Timestamps of about 1.7e9 s over 64 s: float32 keeps steps of 128 s.
  kbnn::Dataset d = classes({0, 1, 2, 0, 1, 2}, 1);
  for (std::size_t i = 0; i < d.values.size(); ++i) d.values[i] = float(1.7e9 + 64.0 * double(i % 2));
  for (const bool standardized : {true, false}) {
    const std::vector<std::string> lines = advice(d, standardized);
    REQUIRE(lines.size() == (standardized ? 1 : 2));
    CHECK(lines[0].rfind("data: warning: feature 0 varies little for its size (mean 1.7e+09, "
                         "standard deviation ", 0) == 0);
    CHECK(lines[0].find("subtract an offset (e.g. its first value) before writing the file") !=
          std::string::npos);
  }
  for (float& v : d.values) v -= 1.7e9f;  // the offset taken off: fine
  CHECK(advice(d, true).empty());
}

TEST_CASE("data_advice: uint8 features of a vector are pixels to kbnn, unless standardized",
          "[data][mpi]") {
  kbnn::Dataset d = classes({0, 1, 2, 0, 1, 2}, 1);
  d.float_features = false;
  d.values.clear();
  d.channels = 2;
  d.pixels = {0, 16, 3, 9, 0, 12, 5, 7, 16, 1, 2, 2};  // counts 0..16, as sklearn's digits
  const std::vector<std::string> lines = advice(d, false);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "data: warning: the 2 features are uint8, which kbnn reads as pixels and "
                    "scales by 1/255, while data.standardize = false; set data.standardize = "
                    "true (predictions and metrics stay in the data's own units)");
  CHECK(advice(d, true).empty());
  d.height = 2;  // 2x1x2: an image, whose bytes are pixels indeed
  d.count = 3;
  d.labels.resize(3);
  CHECK(advice(d, false).empty());
}
