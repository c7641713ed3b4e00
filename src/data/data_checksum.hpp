// What a run was trained on, as a number: the CRC-32 (zlib's) of the training rows'
// features and, apart, of their labels or targets, each over the rows in order, as read
// from disk (before data.standardize). Checkpoints keep it, so a restart notices a
// training set replaced by another of the same size and shape (MNIST for
// Fashion-MNIST), and the run file keeps it, so two runs can be seen to share their data.
//
// Each rank checksums its own rows; zlib's crc32_combine joins the ranks' parts in
// order, so the value is the same on any rank count and either data.shuffle.
#pragma once

#include "data/dataset.hpp"
#include "parallel/communicator.hpp"

#include <cstdint>
#include <string>

namespace kbnn {

struct DataChecksum {
  std::uint32_t features = 0;  // CRC-32 of the feature bytes (uint8 pixels or float32 values)
  std::uint32_t targets = 0;   // CRC-32 of the int32 labels or float32 targets
  // Both as one number, features in the high half (0: not recorded).
  std::uint64_t packed() const { return std::uint64_t(features) << 32 | targets; }
  static DataChecksum unpacked(std::uint64_t v) {
    return {std::uint32_t(v >> 32), std::uint32_t(v & 0xffffffffu)};
  }
};

// The checksum of a split's rows: this rank passes rows [first, first + count) of `rows`,
// its Communicator::shard of the split, so that the ranks' parts follow each other in
// rank order. Collective.
DataChecksum checksum_rows(const Dataset& rows, std::int64_t first, std::int64_t count,
                           const Communicator& comm);

// "features 1a2b3c4d, labels 5e6f7a8b" (targets: "targets ..."), for messages and logs.
std::string checksum_text(DataChecksum c, bool regression);

}  // namespace kbnn
