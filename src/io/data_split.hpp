// The training or test split of a deck's data as one rank holds it: all rows, or
// (partition) its contiguous shard of them. IDX and CIFAR-10 files are read whole (gzip
// cannot seek) and cut; HDF5 reads only the rows asked for.
#pragma once

#include "core/run_config.hpp"
#include "io/dataset.hpp"
#include "parallel/communicator.hpp"

#include <cstdint>

namespace kbnn {

struct Split {
  Dataset rows;
  std::int64_t total = 0;  // rows over all ranks
  std::int64_t first = 0;  // global index of rows' first example
};

// data.train_limit / test_limit apply. Collective for HDF5 data.
Split load_split(const DataConfig& data, bool train, const Communicator& comm, bool partition);

}  // namespace kbnn
