// The per-run output file (docs/output.md), written collectively: every
// rank of the communicator calls every method, in the same order, with the same
// arguments, except write_predictions, where each rank passes its own rows.
//
//   /                    kbnn_version, git_revision, ranks, kokkos_backend, deck_path,
//                        deck (the full resolved deck), created (UTC), input_shape,
//                        class_names (where the training data names its classes);
//                        train_data, train_examples, train_checksum (the training
//                        set's file or directory, size and CRC-32s; a run's files);
//                        status: "running" from the start, then "finished" or
//                        "stopped" (by a signal)
//   /history/<field>     extendible 1-D datasets, one row per logged step
//   /history/eval/<field>  the same, one row per evaluation during training (if any)
//   /weights/<layer>/<name>
//   /predictions/<set>/  probs_mean (N, classes), predicted, label, predictive_entropy,
//                        aleatoric, epistemic
//   /predictions/<set>/ood_scores/<score>   (N) entropy, mutual_information,
//                        max_probability, when the set took part in OOD evaluation
//   /predictions/<set>/probs_samples  (S, N, classes), per-sample probabilities (optional)
//   /metrics/ood/<set>   auroc_<score>, aupr_out_<score>, aupr_in_<score>, in_set,
//                        in_count, out_count as attributes
//   /metrics/<set>       accuracy, nll, brier, ece, mean_* as attributes; the
//                        reliability diagram as datasets bin_edges, bin_count,
//                        bin_confidence, bin_accuracy
//   /checkpoint/         the final training state (output/checkpoint_file.hpp)
//   /standardization/    feature_mean, feature_std, target_mean, target_std (float64),
//                        with data.standardize (data/standardize.hpp)
//   /calibration         attribute temperature (eval.temperature other than 1) and, when
//                        the run fitted it, what it was fitted on (uq/temperature.hpp)
// An ensemble's run file (output/ensemble_file.hpp) has no /history, /weights or
// /checkpoint of its own: /members/<k>/ holds each member's run file, and the mixture's
// /predictions/<set> add epistemic_within and epistemic_between.
// Every group and dataset carries "description" (and "units" where it has some), so
// `h5dump -A run.h5` explains the file.
//
// Data that is the same on every rank is written by rank 0 alone: the others take
// part in the collective write with an empty selection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/parameter_store.hpp"
#include "core/types.hpp"
#include "h5/handle.hpp"
#include "output/checkpoint_file.hpp"
#include "train/history.hpp"
#include "parallel/communicator.hpp"
#include "uq/ensemble.hpp"
#include "uq/ood.hpp"
#include "uq/predictive.hpp"
#include "uq/regression_ensemble.hpp"
#include "uq/regression_ood.hpp"
#include "uq/regression_predictive.hpp"
#include "uq/temperature.hpp"

#include <optional>

namespace kbnn {

struct RunInfo {
  std::string version, git_revision, kokkos_backend, deck_path, deck_text;
  // false: a prediction file (`kbnn predict`), which has no training history.
  bool with_history = true;
  Shape input{1, 1, 0};  // the images the model takes (root attribute input_shape if known)
  std::vector<std::string> class_names = {};  // the model's classes' names (root attribute if any)
  // What a run trained on (data/data_checksum.hpp): root attributes where train_examples > 0.
  std::string train_data = {};
  std::int64_t train_examples = 0;
  std::uint64_t train_checksum = 0;
  std::string description =
      "kbnn run: training history, final weights, Monte-Carlo predictions and metrics of "
      "a Bayesian neural network (mean-field Gaussian VI)";
};

// What lies at a run file's path before a run writes it: nothing; a run (or an
// ensemble, output/ensemble_file.hpp) that finished (status "finished"; in files of
// older versions, without a status, /checkpoint and /metrics); one that a signal
// stopped; or anything else (status "running": a run being written or one that died,
// even after training; another file).
enum class RunFileState { none, finished, stopped, unfinished };

// Reads `path` on this rank alone.
RunFileState run_file_state(const std::string& path);

// Collective: the temperature stored in /calibration of `path` (a run, ensemble or
// prediction file), if there is one; rank 0 reads it.
std::optional<double> stored_temperature(const std::string& path, const Communicator& comm);

class RunFile {
 public:
  // Creates (truncates) `path` with the MPI-IO driver and writes the root attributes
  // and, for a run (info.with_history), status "running" and the empty /history datasets.
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
  // Every block of `store` (the same on every rank) as /weights/<layer>/<tensor>: a
  // point block's values, a Gaussian block's <tensor>_mu and <tensor>_rho.
  void write_weights(const ParameterStore<Real>& store);

  // Each rank passes ITS rows: global rows [first_row, first_row + local.count) of
  // `total`. The ranks' ranges must tile [0, total) (any order, empty ones allowed).
  void write_predictions(const std::string& set, const Predictions& local,
                         std::int64_t first_row, std::int64_t total);

  // /predictions/<set>/ood_scores/<score>: each rank passes the scores of ITS rows,
  // global rows [first_row, first_row + count) of `total`, as write_predictions.
  // This and write_sample_probabilities go after write_predictions of the same set.
  void write_ood_scores(const std::string& set, const OodScores& local, std::int64_t first_row,
                        std::int64_t total);

  // /predictions/<set>/probs_samples (samples, total, classes): each rank passes
  // (samples, count, classes) for its rows [first_row, first_row + count).
  void write_sample_probabilities(const std::string& set, const std::vector<float>& local,
                                  int samples, int classes, std::int64_t first_row,
                                  std::int64_t count, std::int64_t total);

  // /metrics/ood/<out_set>: how each score separates in_set from out_set.
  void write_ood_metrics(const std::string& in_set, const std::string& out_set,
                         const OodMetrics& m);

  // /metrics/<set>: the scalars as attributes; `samples` (Monte-Carlo passes) too
  // when > 0; the calibration bins (Metrics::bin_*) as datasets.
  void write_metrics(const std::string& set, const Metrics& m, int samples = 0);

  // ---- Regression (output/regression_output.cpp; docs/output.md): the same groups,
  // other columns, in the targets' units.
  // /predictions/<set>: mean, std, aleatoric_variance, epistemic_variance, target
  // (total, T) and nll (total); each rank passes its rows, as write_predictions.
  void write_regression_predictions(const std::string& set, const RegressionPredictions& local,
                                    std::int64_t first_row, std::int64_t total);
  // /metrics/<set>: rmse, nll, coverage and width of the 50, 90 and 95 % intervals, ...
  // as attributes; the calibration curve as datasets interval_level, interval_coverage,
  // interval_width.
  void write_regression_metrics(const std::string& set, const RegressionMetrics& m, int samples);
  // /predictions/<set>/ood_scores/{predictive_std, epistemic_std}, each rank its rows.
  void write_regression_ood_scores(const std::string& set, const RegressionOodScores& local,
                                   std::int64_t first_row, std::int64_t total);
  // /metrics/ood/<out_set> for the regression scores.
  void write_regression_ood_metrics(const std::string& in_set, const std::string& out_set,
                                    const RegressionOodMetrics& m);
  // A regression ensemble's (uq/regression_ensemble.hpp), after
  // write_regression_predictions of the same set: /predictions/<set>/epistemic_within and
  // epistemic_between (total, T), each rank passing the split of ITS rows.
  void write_regression_epistemic_split(const std::string& set, const RegressionSplit& local,
                                        std::int64_t first_row, std::int64_t total);
  // /predictions/<set>/gaussian_samples (samples, total, 2T): every pass's means, then
  // variances; each rank passes (samples, count, 2T) for its rows.
  void write_sample_gaussians(const std::string& set, const std::vector<float>& local,
                              int samples, int targets, std::int64_t first_row,
                              std::int64_t count, std::int64_t total);

  // /checkpoint: the final state of the run (read back with read_checkpoint).
  void write_checkpoint(const Checkpoint& c);

  // An ensemble's (uq/ensemble.hpp), after write_predictions and write_metrics of the
  // same set: /predictions/<set>/epistemic_within and epistemic_between, each rank
  // passing the split of ITS rows [first_row, first_row + count) of `total`; and
  // /metrics/<set>'s ensemble_members, mean_epistemic_within, mean_epistemic_between (a
  // regression's too: the means of its split, in the targets' units squared).
  void write_epistemic_split(const std::string& set, const EpistemicSplit& local,
                             std::int64_t first_row, std::int64_t total);
  void write_ensemble_metrics(const std::string& set, int members, double mean_within,
                              double mean_between);
  // The root attributes ensemble_members and (groups > 0: a training run's)
  // ensemble_groups.
  void write_ensemble_attributes(int members, int groups);
  // /standardization: the means and deviations the data was standardized by
  // (data.standardize; the same on every rank). Nothing when s is empty.
  void write_standardization(const Standardization& s);

  // /calibration: the temperature the predictions were made with and, when fit.examples
  // > 0 (this run fitted it), the held-out examples and passes it was fitted on and
  // their NLL at T = 1 and at T.
  void write_calibration(const TemperatureFit& fit);

  // The root attribute status: "finished" (everything written) or "stopped" (a signal
  // stopped training; the checkpoint file holds the state). A run file is created
  // "running", so one that stays so is being written, or its run died, whenever that
  // was (files of older versions had no status until the end). Flushes.
  void write_status(const std::string& status);

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
