// The per-run output file (docs/output.md), written collectively: every
// rank of the communicator calls every method, in the same order, with the same
// arguments, except write_predictions, where each rank passes its own rows.
//
//   /                    kbnn_version, git_revision, ranks, kokkos_backend, deck_path,
//                        deck (the full resolved deck), created (UTC)
//   /history/<field>     extendible 1-D datasets, one row per logged step
//   /history/eval/<field>  the same, one row per evaluation during training (if any)
//   /weights/<layer>/<name>
//   /predictions/<set>/  probs_mean (N, classes), predicted, label, predictive_entropy,
//                        aleatoric, epistemic
//   /metrics/<set>       accuracy, nll, brier, ece, mean_* as attributes; the
//                        reliability diagram as datasets bin_edges, bin_count,
//                        bin_confidence, bin_accuracy
//   /checkpoint/         the final training state (io/checkpoint.hpp)
// Every group and dataset carries "description" (and "units" where it has some), so
// `h5dump -A run.h5` explains the file.
//
// Data that is the same on every rank is written by rank 0 alone: the others take
// part in the collective write with an empty selection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "io/h5_handle.hpp"
#include "io/history.hpp"
#include "parallel/communicator.hpp"
#include "uq/predictive.hpp"

namespace kbnn {

struct RunInfo {
  std::string version, git_revision, kokkos_backend, deck_path, deck_text;
};

class RunFile {
 public:
  // Creates (truncates) `path` with the MPI-IO driver and writes the root attributes
  // and the empty /history datasets.
  // `comm` must outlive the RunFile.
  RunFile(const std::string& path, const Communicator& comm, const RunInfo& info);
  // Closes the file. If an exception is unwinding through it the file is left open
  // (closing is collective and could hang a job whose other ranks did not throw): what
  // the last append_history wrote is what survives.
  ~RunFile();
  RunFile(const RunFile&) = delete;
  RunFile& operator=(const RunFile&) = delete;

  // Appends the rows (the same on every rank) to /history/<field>, then flushes, so
  // that the history up to the last logged step survives a crash or a divergence.
  void append_history(const std::vector<HistoryRow>& rows);

  // Creates /history/eval, empty, for evaluations on data set `set` ("test" or
  // "validation") of `examples` rows with `samples` MC passes; then append_eval adds
  // rows (the same on every rank) and flushes, as append_history does.
  void start_eval_history(const std::string& set, int samples, std::int64_t examples);
  void append_eval(const std::vector<EvalRow>& rows);

  // /weights/<layer>/<name>, float32 of the given shape (values row-major, the same
  // on every rank). Name suffixes _mu / _rho get their meaning in the description.
  void write_weights(const std::string& layer, const std::string& name,
                     const std::vector<float>& values, const std::vector<std::size_t>& shape);

  // Each rank passes ITS rows: global rows [first_row, first_row + local.count) of
  // `total`. The ranks' ranges must tile [0, total) (any order, empty ones allowed).
  void write_predictions(const std::string& set, const Predictions& local,
                         std::int64_t first_row, std::int64_t total);

  // /metrics/<set>: the scalars as attributes; `samples` (Monte-Carlo passes) too
  // when > 0; the calibration bins (Metrics::bin_*) as datasets.
  void write_metrics(const std::string& set, const Metrics& m, int samples = 0);

  // /checkpoint: the final state of the run (read back with read_checkpoint).
  void write_checkpoint(const Checkpoint& c);

  // Closes the file now, checked (collective). The destructor does it otherwise.
  void close();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const Communicator& comm_;
  h5::CollectiveFile file_;
  int uncaught_ = 0;  // exceptions in flight at construction (see ~RunFile)
};

}  // namespace kbnn
