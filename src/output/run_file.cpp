// The per-run output file. Every method is collective: metadata calls (create, extend,
// attributes) run on every rank with the same arguments, as parallel HDF5 requires;
// raw data goes out in one collective write per dataset.
#include "output/run_file.hpp"

#include <array>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <functional>
#include <numeric>
#include <type_traits>

#include "h5/attribute.hpp"
#include "h5/file.hpp"
#include "h5/rows.hpp"
#include "output/prediction_shares.hpp"
#include "output/row_table.hpp"
#include "output/run_file_groups.hpp"

namespace kbnn {
using detail::check_name;
using detail::metrics_group;
using detail::open_or_create_group;
using detail::predictions_group;

namespace {

constexpr hsize_t kHistoryChunk = 512;  // rows per chunk: a few KiB per dataset

// What a weight buffer is, from the naming convention of the layers.
std::string weight_description(const std::string& layer, const std::string& name) {
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  const std::string what = concat(name, " of layer ", layer, ", row-major (see shape)");
  if (ends_with("_mu")) return "posterior mean mu: " + what;
  if (ends_with("_rho"))
    return "posterior scale parameter rho, sigma = log(1 + exp(rho)): " + what;
  return "point estimate (no posterior): " + what;
}

// UTC now, ISO 8601, as rank 0 sees it: attributes must be the same on every rank.
std::string utc_now(const Communicator& comm) {
  char text[32] = {};
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::string now_text = text;
  comm.broadcast(now_text);
  return now_text;
}

}  // namespace

RunFileState run_file_state(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return RunFileState::none;
  const h5::QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) return RunFileState::unfinished;
  const h5::SerialFile file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (file < 0 || !h5::has_attribute(file, "kbnn_version")) return RunFileState::unfinished;
  // A single run's file has /history from its start; an ensemble's, its members.
  if (!h5::exists(file, "history") && !h5::exists(file, "members"))
    return RunFileState::unfinished;
  if (h5::has_attribute(file, "status")) {
    const std::string status = h5::read_string_attribute(file, "status");
    if (status == "finished") return RunFileState::finished;
    if (status == "stopped") return RunFileState::stopped;
    return RunFileState::unfinished;
  }
  const bool whole = h5::exists(file, "checkpoint") && h5::exists(file, "metrics");
  return whole ? RunFileState::finished : RunFileState::unfinished;
}

std::optional<double> stored_temperature(const std::string& path, const Communicator& comm) {
  double temperature = 0;  // 0: none stored
  if (comm.is_root()) {
    const h5::QuietErrors quiet;
    const h5::SerialFile file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (file >= 0 && h5::exists(file, "calibration")) {
      const h5::Group g = h5::open_group(file, "calibration");
      if (h5::has_attribute(g, "temperature"))
        temperature = h5::read_attribute<double>(g, "temperature");
    }
  }
  comm.broadcast(&temperature, 1);
  if (temperature > 0) return temperature;
  return std::nullopt;
}

RunFile::RunFile(const std::string& path, const Communicator& comm, const RunInfo& info)
    : path_(path), comm_(comm), uncaught_(std::uncaught_exceptions()) {
  const h5::QuietErrors quiet;
  const std::string created = utc_now(comm_);
  file_ = h5::create_collective_file(path_, comm_, "run file");

  h5::write_attribute(file_, "description", info.description);
  h5::write_attribute(file_, "kbnn_version", info.version);
  h5::write_attribute(file_, "git_revision", info.git_revision);
  h5::write_attribute(file_, "ranks", std::int32_t(comm_.size()));
  h5::write_attribute(file_, "kokkos_backend", info.kokkos_backend);
  h5::write_attribute(file_, "deck_path", info.deck_path);
  h5::write_attribute(file_, "deck", info.deck_text);
  h5::write_attribute(file_, "created", created);
  if (info.input.channels > 0)
    h5::write_attribute(file_, "input_shape",
                        std::vector<std::int64_t>{info.input.height, info.input.width,
                                                  info.input.channels});
  if (!info.class_names.empty()) h5::write_attribute(file_, "class_names", info.class_names);
  if (info.train_examples > 0) {
    h5::write_attribute(file_, "train_data", info.train_data);
    h5::write_attribute(file_, "train_examples", info.train_examples);
    h5::write_attribute(file_, "train_checksum", info.train_checksum);
  }

  if (!info.with_history) return;
  // "running" until the run writes how it ended: a run that dies, even in its final
  // evaluation with /checkpoint and /metrics written, never looks finished.
  h5::write_attribute(file_, "status", std::string("running"));
  // The history exists from the start, empty, so a run that dies early still has it.
  h5::Group history = h5::create_group(file_, "history");
  h5::describe(history, "", "one row per logged training step; all datasets have equal length "
                            "(eval/, if present, holds the evaluations during training)");
  create_row_table(history, history_fields, kHistoryChunk, path_ + ": /history");
}

RunFile::~RunFile() {
  // See CollectiveFile: a rank unwinding on its own must not enter collective calls.
  if (std::uncaught_exceptions() != uncaught_) return;
  try {
    close();
  } catch (...) {
    // A destructor cannot report; close() explicitly to see the error.
  }
}

void RunFile::close() {
  const h5::QuietErrors quiet;
  file_.close();
}

void RunFile::write_status(const std::string& status) {
  const h5::QuietErrors quiet;
  if (h5::has_attribute(file_, "status"))  // "running", since the file was created
    KBNN_H5_CHECK_AT(H5Adelete(file_, "status"), path_ + ": attribute status");
  h5::write_attribute(file_, "status", status);
  KBNN_H5_CHECK_AT(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_);
}

void RunFile::append_history(const std::vector<HistoryRow>& rows) {
  if (rows.empty()) return;
  if (!h5::exists(file_, "history"))
    throw RuntimeError(concat(path_, ": a prediction file has no /history"));
  const h5::QuietErrors quiet;
  append_row_table(h5::open_group(file_, "history"), history_fields, rows, comm_.is_root(),
                   path_ + ": /history");
  KBNN_H5_CHECK_AT(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_);
}

void RunFile::start_eval_history(const std::string& set, int samples, std::int64_t examples) {
  const h5::QuietErrors quiet;
  const std::string where = path_ + ": /history/eval";
  const h5::Group history = h5::open_group(file_, "history");
  if (h5::exists(history, "eval")) throw RuntimeError(concat(where, ": already started"));
  const h5::Group eval = h5::create_group(history, "eval");
  h5::describe(eval, "",
               concat("one row per evaluation during training (eval.every_epochs): the "
                      "Monte-Carlo predictive on the ", set, " set (attributes set, samples, "
                      "examples); all datasets have equal length"));
  h5::write_attribute(eval, "set", set);
  h5::write_attribute(eval, "samples", std::int32_t(samples));
  h5::write_attribute(eval, "examples", examples);
  create_row_table(eval, eval_fields, kHistoryChunk, where);
}

void RunFile::append_eval(const std::vector<EvalRow>& rows) {
  const h5::QuietErrors quiet;
  const std::string where = path_ + ": /history/eval";
  if (!h5::exists(file_, "history/eval"))
    throw RuntimeError(concat(where, ": append_eval before start_eval_history"));
  append_row_table(h5::open_group(file_, "history/eval"), eval_fields, rows, comm_.is_root(),
                   where);
  KBNN_H5_CHECK_AT(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_);
}

void RunFile::write_weights(const std::string& layer, const std::string& name,
                            const std::vector<float>& values,
                            const std::vector<std::size_t>& shape) {
  const h5::QuietErrors quiet;
  check_name(path_, "layer", layer);
  check_name(path_, "weight", name);
  const std::string what = concat(path_, ": /weights/", layer, "/", name);
  const std::size_t elements =
      std::accumulate(shape.begin(), shape.end(), std::size_t(1), std::multiplies<>());
  if (shape.empty() || elements != values.size())
    throw RuntimeError(concat(what, ": shape holds ", shape.empty() ? 0 : elements,
                              " values, the buffer ", values.size()));

  const h5::Group weights = open_or_create_group(
      file_, "weights", "final variational parameters per layer (float32, row-major)");
  const h5::Group g = open_or_create_group(weights, layer, concat("parameters of layer ", layer));
  if (h5::exists(g, name)) throw RuntimeError(concat(what, ": already written"));
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  const h5::DataSet d = h5::create_dataset<float>(g, name, dims, what);
  h5::describe(d, "1", weight_description(layer, name));
  h5::write_rows(d, values.data(), 0, comm_.is_root() ? dims[0] : 0, what);
}

void RunFile::write_weights(const ParameterStore<Real>& store) {
  const auto values = Kokkos::create_mirror_view_and_copy(HostSpace(), store.values());
  for (const auto& b : store.blocks()) {
    const auto copy = [&](std::size_t offset) {
      return std::vector<float>(values.data() + offset, values.data() + offset + b.count);
    };
    if (b.kind == ParameterStore<Real>::Kind::point) {
      write_weights(b.layer(), b.tensor(), copy(b.offset), b.shape);
    } else {
      write_weights(b.layer(), b.tensor() + "_mu", copy(b.offset), b.shape);
      write_weights(b.layer(), b.tensor() + "_rho", copy(b.offset + store.gaussian_count()),
                    b.shape);
    }
  }
}

void RunFile::write_predictions(const std::string& set, const Predictions& local,
                                std::int64_t first_row, std::int64_t total) {
  const h5::QuietErrors quiet;
  check_name(path_, "prediction set", set);
  const std::string where = concat(path_, ": /predictions/", set);
  // Each rank's rows differ: every rank checks all shares, and all throw alike.
  const std::int64_t classes = check_prediction_shares(
      comm_.allgather(share_of(local, first_row, total)), where);

  const h5::Group g = detail::new_prediction_set(
      file_, set, where,
      concat("predictions on data set '", set, "': one row per example, in the data set's "
             "order; mean of ", local.samples, " Monte-Carlo forward passes"),
      local.samples);

  const hsize_t rows = hsize_t(total), first = hsize_t(first_row), count = hsize_t(local.count);
  auto column = [&](const char* name, const auto& values, std::vector<hsize_t> dims,
                    const char* units, const char* description) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    const std::string what = concat(where, "/", name);
    const h5::DataSet d = h5::create_dataset<T>(g, name, dims, what);
    h5::describe(d, units, description);
    h5::write_rows(d, values.data(), first, count, what);
  };
  column("probs_mean", local.probs_mean, {rows, hsize_t(classes)}, "1",
         "predictive distribution p(y|x) = mean over samples of softmax(f(x; w_s) / T), "
         "(examples, classes); T = 1 unless /calibration");
  column("predicted", local.predicted, {rows}, "class", "arg-max class of probs_mean");
  column("label", local.label, {rows}, "class", "true class of the example");
  column("predictive_entropy", local.predictive_entropy, {rows}, "nats",
         "total uncertainty H[pbar], pbar = (1/S) sum_s p_s, p_s = softmax(f(x; w_s)): the "
         "untempered passes (probs_mean at T = 1)");
  column("aleatoric", local.aleatoric, {rows}, "nats",
         "expected entropy (1/S) sum_s H[p_s]: noise in the data");
  column("epistemic", local.epistemic, {rows}, "nats",
         "mutual information predictive_entropy - aleatoric: uncertainty about the weights");
}

void RunFile::write_ood_scores(const std::string& set, const OodScores& local,
                               std::int64_t first_row, std::int64_t total) {
  const h5::QuietErrors quiet;
  std::vector<detail::ScoreColumn> columns;
  for (const OodScore score : ood_scores)
    columns.push_back({ood_score_name(score), ood_score_units(score), ood_score_description(score),
                       &local[score]});
  detail::write_score_columns(file_, path_, set, columns, first_row, total);
}

void RunFile::write_sample_probabilities(const std::string& set, const std::vector<float>& local,
                                         int samples, int classes, std::int64_t first_row,
                                         std::int64_t count, std::int64_t total) {
  const h5::QuietErrors quiet;
  check_name(path_, "prediction set", set);
  const std::string what = concat(path_, ": /predictions/", set, "/probs_samples");
  if (std::int64_t(local.size()) != std::int64_t(samples) * count * classes)
    throw RuntimeError(concat(what, ": ", local.size(), " values for ", samples, " samples x ",
                              count, " rows x ", classes, " classes"));
  const h5::Group predictions = predictions_group(file_);
  const h5::Group g = open_or_create_group(predictions, set, concat("data set '", set, "'"));
  const std::vector<hsize_t> dims = {hsize_t(samples), hsize_t(total), hsize_t(classes)};
  const h5::DataSet d = h5::create_dataset<float>(g, "probs_samples", dims, what);
  h5::describe(d, "1", "softmax(f(x; w_s) / T) of every Monte-Carlo sample s, (samples, "
                       "examples, classes); probs_mean is their mean");
  // This rank's block: all samples, its rows (dimension 1), all classes.
  h5::write_slab(d, local.data(), 1, hsize_t(first_row), hsize_t(count), what);
}

void RunFile::write_ood_metrics(const std::string& in_set, const std::string& out_set,
                                const OodMetrics& m) {
  const h5::QuietErrors quiet;
  std::vector<detail::ScoreSeparation> scores;
  for (const OodScore score : ood_scores) scores.push_back({ood_score_name(score), m.by_score[score]});
  detail::write_separations(
      file_, path_, in_set, out_set,
      concat("how well each OOD score (entropy, mutual_information, max_probability; see "
             "/predictions/<set>/ood_scores) tells set '", out_set, "' (positives) from set '",
             in_set, "': auroc_<score> (ties count 1/2), aupr_out_<score> (average precision "
             "with the OOD set positive), aupr_in_<score> (in-distribution positive, ranked by "
             "-score)"),
      m.in_count, m.out_count, scores);
}

void RunFile::write_metrics(const std::string& set, const Metrics& m, int samples) {
  const h5::QuietErrors quiet;
  check_name(path_, "metrics set", set);
  const std::string where = concat(path_, ": /metrics/", set);
  const h5::Group metrics = metrics_group(file_);
  if (h5::exists(metrics, set)) throw RuntimeError(concat(where, ": already written"));
  const h5::Group g = h5::create_group(metrics, set);
  h5::describe(g, "",
               "attributes: accuracy (fraction), nll (nats/example, -log p(y|x) of the "
               "predictive mean), brier (mean sum_k (p_k - onehot_k)^2), ece (expected "
               "calibration error, 15 equal-width confidence bins), mean_entropy, "
               "mean_aleatoric, mean_epistemic (nats/example), samples (MC passes); "
               "datasets bin_*: the reliability diagram of the ece bins");
  h5::write_attribute(g, "accuracy", m.accuracy);
  h5::write_attribute(g, "nll", m.nll);
  h5::write_attribute(g, "brier", m.brier);
  h5::write_attribute(g, "ece", m.ece);
  h5::write_attribute(g, "mean_entropy", m.mean_entropy);
  h5::write_attribute(g, "mean_aleatoric", m.mean_aleatoric);
  h5::write_attribute(g, "mean_epistemic", m.mean_epistemic);
  if (samples > 0) h5::write_attribute(g, "samples", std::int32_t(samples));

  // The reliability diagram: small 1-D datasets, the same on every rank (built from
  // sums reduced over ranks), so rank 0 writes them.
  auto column = [&](const char* name, const auto& values, const char* units,
                    const char* description) {
    h5::write_column(g, name, values, comm_.is_root(), units, description,
                     concat(where, "/", name));
  };
  std::array<std::int64_t, calibration_bins> count{};
  for (int b = 0; b < calibration_bins; ++b) count[b] = std::int64_t(std::llround(m.bin_count[b]));
  column("bin_edges", calibration_bin_edges(), "1",
         "edges of the equal-width confidence bins (bins + 1): bin b holds the examples "
         "whose confidence max_k probs_mean lies in (edge_b, edge_b+1]; bin 0 also "
         "holds confidence 0");
  column("bin_count", count, "examples", "examples whose confidence falls in the bin");
  column("bin_confidence", m.bin_confidence, "1",
         "mean confidence (max_k probs_mean) of the bin's examples; NaN if the bin is empty");
  column("bin_accuracy", m.bin_accuracy, "1",
         "fraction of the bin's examples whose predicted class is the label; NaN if the "
         "bin is empty");
}

void RunFile::write_checkpoint(const Checkpoint& c) {
  const h5::QuietErrors quiet;
  detail::write_checkpoint_group(file_, comm_.is_root(), c, path_);
}

void RunFile::write_epistemic_split(const std::string& set, const EpistemicSplit& local,
                                    std::int64_t first_row, std::int64_t total) {
  const h5::QuietErrors quiet;
  check_name(path_, "prediction set", set);
  const std::string where = concat(path_, ": /predictions/", set);
  if (!h5::exists(file_, "predictions/" + set))
    throw RuntimeError(concat(where, ": write_epistemic_split before write_predictions"));
  if (local.within.size() != local.between.size() || first_row < 0 ||
      first_row + std::int64_t(local.within.size()) > total)
    throw RuntimeError(concat(where, ": a split of ", local.within.size(), " and ",
                              local.between.size(), " rows from ", first_row,
                              " does not fit in ", total));
  const h5::Group g = h5::open_group(file_, "predictions/" + set);
  const auto column = [&](const char* name, const std::vector<float>& rows, const char* description) {
    const std::string what = concat(where, "/", name);
    const h5::DataSet d = h5::create_dataset<float>(g, name, {hsize_t(total)}, what);
    h5::describe(d, "nats", description);
    h5::write_rows(d, rows.data(), hsize_t(first_row), hsize_t(rows.size()), what);
  };
  column("epistemic_within", local.within,
         "within-member epistemic uncertainty: the mean over members of each member's mutual "
         "information, (1/K) sum_k H[pbar_k] - aleatoric");
  column("epistemic_between", local.between,
         "between-member epistemic uncertainty: the members disagree, predictive_entropy - "
         "(1/K) sum_k H[pbar_k]; epistemic = epistemic_within + epistemic_between");
}

void RunFile::write_ensemble_metrics(const std::string& set, int members, double mean_within,
                                     double mean_between) {
  const h5::QuietErrors quiet;
  const std::string where = concat(path_, ": /metrics/", set);
  if (!h5::exists(file_, "metrics/" + set))
    throw RuntimeError(concat(where, ": write_ensemble_metrics before write_metrics"));
  const h5::Group g = h5::open_group(file_, "metrics/" + set);
  h5::write_attribute(g, "ensemble_members", std::int32_t(members));
  h5::write_attribute(g, "mean_epistemic_within", mean_within);
  h5::write_attribute(g, "mean_epistemic_between", mean_between);
}

void RunFile::write_ensemble_attributes(int members, int groups) {
  const h5::QuietErrors quiet;
  h5::write_attribute(file_, "ensemble_members", std::int32_t(members));
  if (groups > 0) h5::write_attribute(file_, "ensemble_groups", std::int32_t(groups));
}

void RunFile::write_calibration(const TemperatureFit& fit) {
  const h5::QuietErrors quiet;
  const h5::Group g = h5::create_group(file_, "calibration");
  h5::describe(g, "",
               "the predictive's temperature T (eval.temperature): every Monte-Carlo pass "
               "gives softmax(logits / T). When this run fitted T: the held-out examples "
               "(data.validation_fraction) and passes it was fitted on, and their mean NLL "
               "(nats/example) at T = 1 (validation_nll_untempered) and at T (validation_nll)");
  h5::write_attribute(g, "temperature", fit.temperature);
  if (fit.examples == 0) return;
  h5::write_attribute(g, "validation_examples", fit.examples);
  h5::write_attribute(g, "passes", std::int32_t(fit.passes));
  h5::write_attribute(g, "validation_nll_untempered", fit.nll_untempered);
  h5::write_attribute(g, "validation_nll", fit.nll);
}

void RunFile::write_standardization(const Standardization& s) {
  if (s.empty()) return;
  const h5::QuietErrors quiet;
  detail::write_standardization_group(file_, comm_.is_root(), s, path_);
}

}  // namespace kbnn
