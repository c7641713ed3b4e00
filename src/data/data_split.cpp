#include "data/data_split.hpp"

#include "core/error.hpp"
#include "data/hdf5_dataset.hpp"
#include "parallel/agree.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

namespace kbnn {

namespace {

// The last round(fraction * n) rows of a file that holds both splits
// (data.test_fraction): the test split's (first row, rows).
std::pair<std::int64_t, std::int64_t> held_out_tail(const DataConfig& d, std::int64_t n) {
  const std::int64_t held_out = std::llround(d.test_fraction * double(n));
  if (held_out < 1 || held_out >= n)
    throw InputError(concat(d.train_file, ": data.test_fraction ", d.test_fraction, " of ", n,
                            " examples holds out ", held_out,
                            ": expected at least 1 and fewer than all"));
  return {n - held_out, held_out};
}

// Where the NaN and Inf values of one part of a rank's rows are: how many, and the
// first's file row and position in the example (-1: none).
struct NonFinite {
  std::int64_t count = 0, row = -1, column = -1;
};

NonFinite non_finite(const std::vector<float>& values, std::int64_t width, std::int64_t file_row) {
  NonFinite found;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    if (found.count++ == 0) {
      found.row = file_row + std::int64_t(i) / width;
      found.column = std::int64_t(i) % width;
    }
  }
  return found;
}

// Every rank's findings together: the first in row order is the lowest rank's.
NonFinite over_ranks(const NonFinite& mine, RankRows rows, const Communicator& comm) {
  if (rows == RankRows::all) return mine;  // every rank holds the same rows
  NonFinite total;
  for (const NonFinite& rank : comm.allgather(mine)) {
    if (rank.count > 0 && total.count == 0) total = NonFinite{0, rank.row, rank.column};
    total.count += rank.count;
  }
  return total;
}

// An InputError on every rank if a feature or target is NaN or Inf.
void check_finite(const Dataset& d, const SplitSource& source, std::int64_t file_row,
                  RankRows rows, const Communicator& comm) {
  const NonFinite features =
      over_ranks(non_finite(d.values, d.features(), file_row), rows, comm);
  const NonFinite targets =
      over_ranks(non_finite(d.targets, std::max(1, d.target_dim), file_row), rows, comm);
  agree_or_throw(comm.get(), [&] {
    for (const auto& [found, name, what] :
         {std::tuple{features, source.fields.features, "feature"},
          std::tuple{targets, source.fields.targets, "target"}})
      if (found.count > 0)
        throw InputError(concat(source.hdf5_path, ": /", name, ": ", found.count,
                                " values are NaN or Inf; the first is at row ", found.row,
                                ", ", what, " ", found.column, " (HWC order)"));
  });
}

}  // namespace

Hdf5Fields hdf5_fields(const DataConfig& data) {
  return Hdf5Fields{data.features, data.targets, data.layout, data.real_targets,
                    data.labels_optional};
}

SplitSource open_split(const DataConfig& d, SplitPart part, const Communicator& comm) {
  const bool train = part == SplitPart::train;
  const std::int64_t limit = train ? d.train_limit : d.test_limit;
  SplitSource source;
  if (d.format == DataFormat::hdf5) {
    const bool one_file = d.test_file.empty();
    source.fields = hdf5_fields(d);
    source.hdf5_path = train || one_file ? d.train_file : d.test_file;
    source.total = hdf5_dataset_size(source.hdf5_path, comm, source.fields);
    if (one_file) {
      std::pair<std::int64_t, std::int64_t> test{0, 0};  // (first row, rows)
      agree_or_throw(comm.get(), [&] { test = held_out_tail(d, source.total); });
      source.offset = train ? 0 : test.first;
      source.total = train ? test.first : test.second;
    }
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
  if (source.hdf5_path.empty()) {
    split.rows = slice(source.whole, begin + lo, hi - lo);
    return split;
  }
  const std::int64_t file_row = source.offset + begin + lo;
  split.rows = read_hdf5_dataset(source.hdf5_path, comm, file_row, hi - lo, source.fields);
  check_finite(split.rows, source, file_row, rows, comm);
  return split;
}

Split load_split(const DataConfig& data, SplitPart part, const Communicator& comm,
                 RankRows rows) {
  const SplitSource source = open_split(data, part, comm);
  return take_rows(source, 0, source.total, comm, rows);
}

}  // namespace kbnn
