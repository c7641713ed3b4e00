// Training sets in HDF5, for data too large for IDX or CIFAR-10 binaries: each rank
// reads only the rows it trains on, by hyperslab.
//   /images       uint8 (N, H, W) or (N, H, W, C): pixels NHWC, raw 0..255
//   /labels       any integer type (N), each in [0, num_classes)
//   num_classes   optional: root attribute or scalar dataset; default max label + 1
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.hpp"
#include "parallel/communicator.hpp"

namespace kbnn {

// Rows [first, first + count) of the set in `path` (count = -1: to the end). Each rank
// reads its own rows independently, but the call is collective in one respect: if it
// fails on any rank, it throws on every rank (the first failing rank's InputError,
// naming the file and dataset), so no rank goes on alone. Without num_classes in the
// file every rank reads all labels (4 bytes each) to find the global maximum: a
// slice's maximum would differ between ranks.
Dataset read_hdf5_dataset(const std::string& path, const Communicator& comm, std::int64_t first = 0,
                          std::int64_t count = -1);

// The number of examples in the set at `path` (the length of /labels); collective
// in the same way.
std::int64_t hdf5_dataset_size(const std::string& path, const Communicator& comm);

}  // namespace kbnn
