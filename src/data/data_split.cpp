#include "data/data_split.hpp"

#include "data/hdf5_dataset.hpp"

#include <algorithm>
#include <utility>

namespace kbnn {

SplitSource open_split(const DataConfig& d, SplitPart part, const Communicator& comm) {
  const bool train = part == SplitPart::train;
  const std::int64_t limit = train ? d.train_limit : d.test_limit;
  SplitSource source;
  if (d.format == DataFormat::hdf5) {
    source.hdf5_path = train ? d.train_file : d.test_file;
    source.total = hdf5_dataset_size(source.hdf5_path, comm);
    if (limit > 0) source.total = std::min(source.total, limit);
    return source;
  }
  source.whole = load_dataset(d.format, d.dir, part);
  truncate(source.whole, limit);
  source.total = source.whole.count;
  return source;
}

Split take_rows(const SplitSource& source, std::int64_t begin, std::int64_t end,
                const Communicator& comm, RankRows rows) {
  Split split;
  split.total = end - begin;
  const auto [lo, hi] = rows == RankRows::shard
                            ? comm.shard(split.total)
                            : std::pair<std::int64_t, std::int64_t>{0, split.total};
  split.first = lo;
  split.rows = source.hdf5_path.empty()
                   ? slice(source.whole, begin + lo, hi - lo)
                   : read_hdf5_dataset(source.hdf5_path, comm, begin + lo, hi - lo);
  return split;
}

Split load_split(const DataConfig& data, SplitPart part, const Communicator& comm,
                 RankRows rows) {
  const SplitSource source = open_split(data, part, comm);
  return take_rows(source, 0, source.total, comm, rows);
}

}  // namespace kbnn
