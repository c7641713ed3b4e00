// The training data's checksum (data/data_checksum.hpp): CRC-32's check values, the
// same number as one CRC over the whole arrays on any rank count and any split of the
// rows (the [mpi] case runs on 1, 2 and 3 ranks), and a change of one byte or one
// label's place noticed.
#include <mpi.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "catch.hpp"
#include "data/data_checksum.hpp"
#include "mpi_files.hpp"

using kbnn::test::world;
using kbnn::test::world_rank;

namespace {

// 101 images of 3x2x1 bytes and their labels, or float features with 2 targets.
kbnn::Dataset images() {
  kbnn::Dataset d;
  d.count = 101;
  d.height = 3, d.width = 2, d.channels = 1;
  for (int i = 0; i < 101 * 6; ++i) d.pixels.push_back(std::uint8_t(i * 37 % 251));
  for (int i = 0; i < 101; ++i) d.labels.push_back(i % 10);
  return d;
}

kbnn::Dataset table() {
  kbnn::Dataset d;
  d.count = 101;
  d.height = d.width = 1, d.channels = 4;
  d.float_features = true;
  d.target_dim = 2;
  for (int i = 0; i < 101 * 4; ++i) d.values.push_back(0.25f * float(i % 17) - 1.5f);
  for (int i = 0; i < 101 * 2; ++i) d.targets.push_back(float(i) / 3);
  return d;
}

std::uint32_t crc_of(const void* data, std::size_t bytes) {
  return std::uint32_t(crc32(crc32(0L, Z_NULL, 0), static_cast<const Bytef*>(data), uInt(bytes)));
}

template <class T>
std::uint32_t crc_of(const std::vector<T>& v) {
  return crc_of(v.data(), v.size() * sizeof(T));
}

kbnn::DataChecksum alone(const kbnn::Dataset& d) {
  return kbnn::checksum_rows(d, 0, d.count, kbnn::Communicator(MPI_COMM_SELF));
}

}  // namespace

TEST_CASE("Data checksum: CRC-32's check values", "[data]") {
  kbnn::Dataset d;
  d.count = 1;
  d.height = 1, d.width = 9, d.channels = 1;
  d.pixels = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  d.labels = {0};
  const kbnn::DataChecksum c = alone(d);
  CHECK(c.features == 0xCBF43926u);  // CRC-32 of "123456789" (the standard check value)
  CHECK(c.targets == 0x2144DF1Cu);   // of four zero bytes
  CHECK(kbnn::checksum_text(c, false) == "features cbf43926, labels 2144df1c");
  CHECK(c.packed() == 0xCBF439262144DF1Cull);
  const kbnn::DataChecksum back = kbnn::DataChecksum::unpacked(c.packed());
  CHECK((back.features == c.features && back.targets == c.targets));
}

TEST_CASE("Data checksum: one CRC over the whole arrays on any rank count and split",
          "[data][mpi]") {
  for (const kbnn::Dataset& d : {images(), table()}) {
    const std::uint32_t features = d.float_features ? crc_of(d.values) : crc_of(d.pixels);
    const std::uint32_t targets = d.target_dim > 0 ? crc_of(d.targets) : crc_of(d.labels);
    INFO((d.float_features ? "float features, targets" : "uint8 images, labels"));
    const auto [lo, hi] = world().shard(d.count);
    const kbnn::DataChecksum sharded = kbnn::checksum_rows(d, lo, hi - lo, world());
    CHECK(sharded.features == features);
    CHECK(sharded.targets == targets);
    // Uneven parts, some empty: rank r holds rows [40 r, 40 (r + 1)), the last the rest.
    const std::int64_t first = std::min<std::int64_t>(d.count, 40 * world_rank());
    const std::int64_t last = world_rank() + 1 == world().size()
                                  ? d.count
                                  : std::min<std::int64_t>(d.count, 40 * (world_rank() + 1));
    const kbnn::DataChecksum uneven = kbnn::checksum_rows(d, first, last - first, world());
    CHECK(uneven.packed() == sharded.packed());
  }
}

TEST_CASE("Data checksum: one changed byte, or two labels swapped, is another checksum",
          "[data]") {
  const kbnn::Dataset d = images();
  const kbnn::DataChecksum original = alone(d);
  kbnn::Dataset pixel = d;
  pixel.pixels[301] ^= 1;
  CHECK(alone(pixel).features != original.features);
  CHECK(alone(pixel).targets == original.targets);
  kbnn::Dataset swapped = d;
  std::swap(swapped.labels[3], swapped.labels[4]);
  CHECK(alone(swapped).features == original.features);
  CHECK(alone(swapped).targets != original.targets);
  kbnn::Dataset value = table();
  const kbnn::DataChecksum table_original = alone(value);
  value.values[17] = std::nextafter(value.values[17], 10.0f);  // one ulp
  CHECK(alone(value).features != table_original.features);
}
