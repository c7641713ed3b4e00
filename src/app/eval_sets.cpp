#include "app/eval_sets.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/shift.hpp"

#include <algorithm>
#include <ostream>

namespace kbnn {

namespace {

// The test split of a data set (format, dir or file), cut to `limit`, as `split` needs it.
LoadedRows load_rows(const std::string& format, const std::string& dir, const std::string& file,
                     std::int64_t limit, const Communicator& comm, PredictSplit split) {
  LoadedRows out;
  if (format == "hdf5") {
    out.total = hdf5_dataset_size(file, comm);
    if (limit > 0) out.total = std::min(out.total, limit);
    const auto [lo, hi] = rows_to_load(out.total, split, comm);
    out.rows = read_hdf5_dataset(file, comm, lo, hi - lo);
    out.first = lo;
    return out;
  }
  // IDX and CIFAR-10 files are read whole (gzip cannot seek) and cut.
  out.rows = load_dataset(format, dir, /*train=*/false);
  truncate(out.rows, limit);
  out.total = out.rows.count;
  const auto [lo, hi] = rows_to_load(out.total, split, comm);
  out.rows = slice(out.rows, lo, hi - lo);
  out.first = lo;
  return out;
}

}  // namespace

LoadedRows load_test_rows(const RunConfig& config, const Communicator& comm, PredictSplit split) {
  const DataConfig& d = config.data;
  return load_rows(d.format, d.dir, d.test_file, d.test_limit, comm, split);
}

LoadedRows load_ood_rows(const RunConfig& config, const Communicator& comm, PredictSplit split,
                         const Dataset& like) {
  const OodConfig& o = config.ood;
  LoadedRows out;
  if (o.shift != DataShift::none) {
    out = load_test_rows(config, comm, split);
    if (o.limit > 0 && o.limit < out.total) {
      // The shifted set is the first ood.limit test examples.
      RunConfig limited = config;
      limited.data.test_limit = o.limit;
      out = load_test_rows(limited, comm, split);
    }
    out.rows = shifted(out.rows, o.shift, config.train.seed, out.first);
  } else {
    out = load_rows(o.format, o.dir, o.file, o.limit, comm, split);
  }
  const Dataset& r = out.rows;
  if (r.height != like.height || r.width != like.width || r.channels != like.channels)
    throw InputError(concat("OOD set ", r.source, ": images are ", r.height, "x", r.width, "x",
                            r.channels, ", the model's are ", like.height, "x", like.width, "x",
                            like.channels));
  return out;
}

void report_ood(RunFile& file, const std::string& in_set, const Predictions& in,
                std::int64_t in_first, std::int64_t in_total, const std::string& out_set,
                const Predictions& out, std::int64_t out_first, std::int64_t out_total,
                const Communicator& comm, std::ostream& log) {
  if (in_set == out_set)
    throw InputError(concat("the OOD set and the in-distribution set are both named '", in_set,
                            "': set ood.name"));
  const OodScores in_scores = gather_ood_scores(in, in_total, comm);
  const OodScores out_scores = gather_ood_scores(out, out_total, comm);
  const OodMetrics m = ood_metrics(in_scores, out_scores);
  file.write_ood_scores(in_set, ood_scores_of(in), in_first, in_total);
  file.write_ood_scores(out_set, ood_scores_of(out), out_first, out_total);
  file.write_ood_metrics(in_set, out_set, m);
  log << "OOD: " << out_set << " (" << out_total << ") against " << in_set << " (" << in_total
      << "):";
  for (std::size_t i = 0; i < ood_scores.size(); ++i)
    log << " " << ood_score_name(ood_scores[i])
        << format(" AUROC %.4f AUPR-out %.4f AUPR-in %.4f", m.by_score[i].auroc,
                  m.by_score[i].aupr_out, m.by_score[i].aupr_in)
        << (i + 1 < ood_scores.size() ? ";" : "");
  log << std::endl;
}

}  // namespace kbnn
