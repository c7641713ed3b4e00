#include "io/data_split.hpp"

#include "io/hdf5_dataset.hpp"

#include <algorithm>
#include <utility>

namespace kbnn {

Split load_split(const DataConfig& d, bool train, const Communicator& comm, bool partition) {
  const std::int64_t limit = train ? d.train_limit : d.test_limit;
  Split split;
  if (d.format == "hdf5") {
    const std::string& path = train ? d.train_file : d.test_file;
    split.total = hdf5_dataset_size(path, comm);
    if (limit > 0) split.total = std::min(split.total, limit);
    const auto [lo, hi] = partition ? comm.shard(split.total)
                                    : std::pair<std::int64_t, std::int64_t>{0, split.total};
    split.rows = read_hdf5_dataset(path, comm, lo, hi - lo);
    split.first = lo;
    return split;
  }
  split.rows = load_dataset(d.format, d.dir, train);
  truncate(split.rows, limit);
  split.total = split.rows.count;
  if (partition) {
    const auto [lo, hi] = comm.shard(split.total);
    split.rows = slice(split.rows, lo, hi - lo);
    split.first = lo;
  }
  return split;
}

}  // namespace kbnn
