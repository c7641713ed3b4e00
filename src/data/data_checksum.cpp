#include "data/data_checksum.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <limits>

namespace kbnn {

namespace {

// One rank's part: the CRC of its bytes and how many there are, for crc32_combine.
struct Part {
  std::uint32_t crc = 0;
  std::int64_t bytes = 0;
};

// zlib's crc32 takes at most a uInt of bytes at a time.
Part crc_of(const void* data, std::int64_t bytes) {
  const auto* p = static_cast<const Bytef*>(data);
  uLong crc = crc32(0L, Z_NULL, 0);
  constexpr std::int64_t kPiece = std::numeric_limits<uInt>::max() / 2 + 1;
  for (std::int64_t done = 0; done < bytes; done += kPiece)
    crc = crc32(crc, p + done, uInt(std::min(kPiece, bytes - done)));
  return {std::uint32_t(crc), bytes};
}

// Rows [first, first + count) of a row-major array of `width` elements a row.
template <class T>
Part crc_of_rows(const std::vector<T>& v, std::int64_t width, std::int64_t first,
                 std::int64_t count) {
  return crc_of(v.data() + first * width, count * width * std::int64_t(sizeof(T)));
}

// The CRC of every rank's bytes, one after another in rank order.
std::uint32_t combined(Part mine, const Communicator& comm) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const Part& p : comm.allgather(mine)) crc = crc32_combine(crc, p.crc, z_off_t(p.bytes));
  return std::uint32_t(crc);
}

}  // namespace

DataChecksum checksum_rows(const Dataset& rows, std::int64_t first, std::int64_t count,
                           const Communicator& comm) {
  const std::int64_t f = rows.features();
  const Part features = rows.float_features ? crc_of_rows(rows.values, f, first, count)
                                            : crc_of_rows(rows.pixels, f, first, count);
  const Part targets = rows.target_dim > 0
                           ? crc_of_rows(rows.targets, rows.target_dim, first, count)
                           : crc_of_rows(rows.labels, 1, first, count);
  return {combined(features, comm), combined(targets, comm)};
}

std::string checksum_text(DataChecksum c, bool regression) {
  char text[48];
  std::snprintf(text, sizeof text, "features %08x, %s %08x", unsigned(c.features),
                regression ? "targets" : "labels", unsigned(c.targets));
  return text;
}

}  // namespace kbnn
