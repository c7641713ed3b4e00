// The real Fashion-MNIST files as Debian's dataset-fashion-mnist installs them, read by
// the IDX reader. A file of its own: where the data set is missing, this ctest entry
// ends SKIPPED (KBNN_SKIP) while test_io's synthetic cases still run and pass.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "catch.hpp"
#include "data/dataset.hpp"

namespace fs = std::filesystem;

TEST_CASE("Fashion-MNIST loads with the expected shape and classes", "[io][data]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir))
    KBNN_SKIP(dir << " is not installed (Debian's dataset-fashion-mnist; scripts/install_deps.sh)");
  const auto train = kbnn::load_dataset(kbnn::DataFormat::idx, dir, kbnn::SplitPart::train);
  const auto test = kbnn::load_dataset(kbnn::DataFormat::idx, dir, kbnn::SplitPart::test);
  CHECK(train.count == 60000);
  CHECK(test.count == 10000);
  for (const auto* d : {&train, &test}) {
    CHECK(d->height == 28);
    CHECK(d->width == 28);
    CHECK(d->channels == 1);
    CHECK(std::int64_t(d->pixels.size()) == d->count * 28 * 28);
    REQUIRE(std::int64_t(d->labels.size()) == d->count);
    std::set<std::int32_t> seen(d->labels.begin(), d->labels.end());
    CHECK(seen.size() == 10u);
    CHECK(*seen.begin() == 0);
    CHECK(*seen.rbegin() == 9);
  }
}
