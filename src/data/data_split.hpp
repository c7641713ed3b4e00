// The training or test split of a deck's data as one rank holds it: all rows, or its
// contiguous shard of them.
#pragma once

#include "core/run_config.hpp"
#include "data/dataset.hpp"
#include "parallel/communicator.hpp"

#include <cstdint>
#include <string>

namespace kbnn {

struct Split {
  Dataset rows;
  std::int64_t total = 0;  // rows over all ranks
  std::int64_t first = 0;  // index of rows' first example in the split
};

// Where a split's rows come from before they are cut: IDX and CIFAR-10 files are read
// whole (gzip cannot seek); HDF5 reads only the rows asked for.
struct SplitSource {
  Dataset whole;           // idx, cifar10: every row, after data.*_limit
  std::string hdf5_path;   // hdf5: the file, read by rows
  std::int64_t total = 0;  // rows after data.*_limit
};

// Which of a split's rows a rank holds: all of them, or its contiguous
// Communicator::shard.
enum class RankRows { all, shard };

// The training or test split of `data`. Collective for HDF5 data.
SplitSource open_split(const DataConfig& data, SplitPart part, const Communicator& comm);

// Rows [begin, end) of the source as this rank holds them; Split::first counts from
// begin. Collective for HDF5 data.
Split take_rows(const SplitSource& source, std::int64_t begin, std::int64_t end,
                const Communicator& comm, RankRows rows);

// The whole split: open_split, then take_rows of all its rows.
Split load_split(const DataConfig& data, SplitPart part, const Communicator& comm,
                 RankRows rows);

}  // namespace kbnn
