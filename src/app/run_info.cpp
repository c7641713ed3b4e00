#include "app/run_info.hpp"

#include "app/deck.hpp"
#include "app/ensemble_info.hpp"
#include "app/file_kind.hpp"
#include "core/error.hpp"
#include "core/format.hpp"
#include "core/path_note.hpp"
#include "data/data_checksum.hpp"
#include "h5/attribute.hpp"
#include "h5/rows.hpp"
#include "model/build_model.hpp"
#include "model/model_summary.hpp"
#include "output/checkpoint_file.hpp"
#include "output/history_fields.hpp"
#include "output/row_table.hpp"
#include "uq/ood.hpp"
#include "uq/regression_ood.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

namespace kbnn {

namespace {

std::string attribute_or(hid_t object, const char* name, const std::string& fallback) {
  return h5::has_attribute(object, name) ? h5::read_string_attribute(object, name) : fallback;
}

// What wrote it: the version, the ranks, the backend, the deck.
void print_header(hid_t file, const std::string& path, FileKind kind, std::ostream& out) {
  out << path << ": " << kind_text(kind) << "\n  kbnn " << attribute_or(file, "kbnn_version", "?");
  if (h5::has_attribute(file, "git_revision"))
    out << " (" << h5::read_string_attribute(file, "git_revision") << ")";
  if (h5::has_attribute(file, "ranks"))
    out << ", " << h5::read_attribute<std::int32_t>(file, "ranks") << " rank(s)";
  if (h5::has_attribute(file, "kokkos_backend"))
    out << ", Kokkos " << h5::read_string_attribute(file, "kokkos_backend");
  if (h5::has_attribute(file, "created"))
    out << ", created " << h5::read_string_attribute(file, "created");
  out << "\n";
  if (h5::has_attribute(file, "deck_path"))
    out << (kind == FileKind::predictions ? "  model " : "  deck ")
        << h5::read_string_attribute(file, "deck_path") << "\n";
  if (h5::has_attribute(file, "source"))
    out << "  pruned from " << h5::read_string_attribute(file, "source") << "\n";
}

// The checkpoint group that describes the model: /checkpoint, or a pruned ensemble's
// first member's ("" if neither).
std::string checkpoint_of(hid_t file) {
  if (h5::exists(file, "checkpoint")) return "checkpoint";
  if (h5::exists(file, "members/0/checkpoint")) return "members/0/checkpoint";
  return "";
}

// The resolved deck: the root's, else the checkpoint's.
std::string deck_of(hid_t file) {
  if (h5::has_attribute(file, "deck")) return h5::read_string_attribute(file, "deck");
  const std::string checkpoint = checkpoint_of(file);
  if (!checkpoint.empty()) return attribute_or(h5::open_group(file, checkpoint), "deck", "");
  return "";
}

// The model's table (model/model_summary.hpp), built from the deck for the images it
// takes; files of older versions did not record them.
void print_model(hid_t file, const std::string& path, std::ostream& out) {
  std::vector<std::int64_t> shape;
  if (h5::has_attribute(file, "input_shape")) {
    shape = h5::read_attribute_array<std::int64_t>(file, "input_shape");
  } else if (const std::string checkpoint = checkpoint_of(file); !checkpoint.empty()) {
    const h5::Group c = h5::open_group(file, checkpoint);
    if (h5::has_attribute(c, "input_shape"))
      shape = h5::read_attribute_array<std::int64_t>(c, "input_shape");
  }
  const std::string deck = deck_of(file);
  if (deck.empty()) return;
  const RunConfig config = parse_deck_text(deck, path + ": deck");
  if (shape.size() != 3) {
    out << "  model: " << config.model.layers.size()
        << " layers (the input shape is not recorded: a file of an older kbnn)\n";
    return;
  }
  auto model = build_model<Real>(config.model, Shape{int(shape[0]), int(shape[1]), int(shape[2])});
  model->finalize(config.train.seed, 1);
  out << "  model:\n" << model_summary(*model, config.model);
}

// The model's classes' names (the root's class_names, else its checkpoint's), where its
// training data named them: what a label k means.
void print_classes(hid_t file, std::ostream& out) {
  std::vector<std::string> names;
  if (h5::has_attribute(file, "class_names")) {
    names = h5::read_string_attribute_array(file, "class_names");
  } else if (const std::string checkpoint = checkpoint_of(file); !checkpoint.empty()) {
    const h5::Group c = h5::open_group(file, checkpoint);
    if (h5::has_attribute(c, "class_names"))
      names = h5::read_string_attribute_array(c, "class_names");
  }
  if (names.empty()) return;
  out << "  classes:";
  for (std::size_t k = 0; k < names.size(); ++k) out << (k ? ", " : " ") << k << " = " << names[k];
  out << "\n";
}

// What the model was trained on: the training set (a run's root attributes), its size
// and checksum (data/data_checksum.hpp; also a checkpoint's), so that two runs can be
// seen to share their data. Files of older versions do not record them.
void print_training_data(hid_t file, const std::string& path, std::ostream& out) {
  hid_t where = file;
  h5::Group checkpoint;
  if (!h5::has_attribute(file, "train_checksum")) {
    const std::string group = checkpoint_of(file);
    if (group.empty()) return;
    checkpoint = h5::open_group(file, group);
    if (!h5::has_attribute(checkpoint, "train_checksum")) return;
    where = checkpoint;
  }
  const auto checksum =
      DataChecksum::unpacked(h5::read_attribute<std::uint64_t>(where, "train_checksum"));
  const std::string deck = deck_of(file);
  const bool regression =
      !deck.empty() && parse_deck_text(deck, path + ": deck").model.regression();
  out << "  trained on: ";
  if (h5::has_attribute(where, "train_data"))
    out << h5::read_string_attribute(where, "train_data") << ", ";
  if (h5::has_attribute(where, "train_examples"))
    out << h5::read_attribute<std::int64_t>(where, "train_examples") << " examples, ";
  out << "CRC-32s " << checksum_text(checksum, regression) << "\n";
}

// A regression's rows have no accuracy (NaN): their line leaves it out.
std::string history_line(const HistoryRow& r) {
  return format("    step %7.0f  epoch %6.2f  loss %.4f  nll %.4f  kl %.4g  beta %.3g  lr %.3g  ",
                double(r.step), r.epoch, r.loss, r.nll, r.kl, r.beta, r.lr) +
         (std::isnan(r.train_accuracy) ? "" : format("acc %.4f  ", r.train_accuracy)) +
         format("%.0f img/s\n", r.images_per_second);
}

// A history group (/history or /checkpoint/history): its size, last row and tail, and
// its last evaluation. A running run appends a row field by field: read meanwhile, the
// table has the rows that every field has.
void print_history(hid_t history_group, const std::string& where, std::ostream& out) {
  const auto rows = read_row_table(history_group, history_fields, where, RaggedRows::common);
  if (rows.empty()) {
    out << "  history: no rows (stopped before its first log step)\n";
  } else {
    const HistoryRow& r = rows.back();
    out << format("  history: %.0f rows; last at step %.0f (epoch %.2f): loss %.4f, nll %.4f, "
                  "kl %.4g, ",
                  double(rows.size()), double(r.step), r.epoch, r.loss, r.nll, r.kl)
        << (std::isnan(r.train_accuracy) ? "" : format("train accuracy %.4f, ", r.train_accuracy))
        << format("%.0f img/s; the last rows:\n", r.images_per_second);
    for (std::size_t i = rows.size() > 3 ? rows.size() - 3 : 0; i < rows.size(); ++i)
      out << history_line(rows[i]);
  }
  if (!h5::exists(history_group, "eval")) return;
  const h5::Group eval = h5::open_group(history_group, "eval");
  const auto evals = read_row_table(eval, eval_fields, where + "/eval", RaggedRows::common);
  if (evals.empty()) {  // a checkpoint has the table even without evaluations
    if (h5::has_attribute(eval, "set"))
      out << "  history/eval: no rows yet (on " << h5::read_string_attribute(eval, "set") << ")\n";
    return;
  }
  const std::string set = attribute_or(eval, "set", "the evaluation set");
  const EvalRow& e = evals.back();
  out << format("  history/eval: %.0f rows; last at epoch %.0f (step %.0f) on ",
                double(evals.size()), e.epoch, double(e.step))
      << set
      << (std::isnan(e.accuracy)  // a regression: the predictive mixture's NLL alone
              ? format(": nll %.4f (the predictive mixture's)\n", e.nll)
              : format(": accuracy %.4f, nll %.4f, ece %.4f, entropy %.4f nats\n", e.accuracy,
                       e.nll, e.ece, e.mean_entropy));
}

// A regression's /metrics/<set> (attributes of output/regression_output.cpp), in the
// targets' units.
std::string regression_metrics_line(hid_t g) {
  const auto get = [&](const char* name) { return h5::read_attribute<double>(g, name); };
  return format(": rmse %.5g, nll %.4f, coverage 50/90/95%% %.3f/%.3f/%.3f, width 95%% %.5g; "
                "std %.5g (variance = aleatoric %.5g + epistemic %.5g)\n",
                get("rmse"), get("nll"), get("coverage_50"), get("coverage_90"),
                get("coverage_95"), get("width_95"), get("mean_std"),
                get("mean_aleatoric_variance"), get("mean_epistemic_variance"));
}

// The OOD scores a table or group holds: a regression's, else the classes'.
std::vector<std::string> ood_score_names(bool regression) {
  std::vector<std::string> names;
  if (regression)
    for (const RegressionOodScore s : regression_ood_scores) names.push_back(ood_score_name(s));
  else
    for (const OodScore s : ood_scores) names.push_back(ood_score_name(s));
  return names;
}

// /metrics/<set> of every set, then /metrics/ood/<set>.
void print_metrics(hid_t file, std::ostream& out) {
  if (!h5::exists(file, "metrics")) return;
  const h5::Group metrics = h5::open_group(file, "metrics");
  for (const std::string& set : h5::member_names(metrics, "/metrics")) {
    if (set == "ood") continue;
    const h5::Group g = h5::open_group(metrics, set);
    const auto get = [&](const char* name) { return h5::read_attribute<double>(g, name); };
    out << "  metrics/" << set
        << (h5::has_attribute(g, "rmse")
                ? regression_metrics_line(g)
                : format(": accuracy %.4f, nll %.4f, brier %.4f, ece %.4f; entropy %.4f = "
                         "aleatoric %.4f + epistemic %.4f nats\n",
                         get("accuracy"), get("nll"), get("brier"), get("ece"),
                         get("mean_entropy"), get("mean_aleatoric"), get("mean_epistemic")));
  }
  if (!h5::exists(metrics, "ood")) return;
  const h5::Group ood = h5::open_group(metrics, "ood");
  for (const std::string& set : h5::member_names(ood, "/metrics/ood")) {
    const h5::Group g = h5::open_group(ood, set);
    out << "  metrics/ood/" << set << " (" << h5::read_attribute<std::int64_t>(g, "out_count")
        << ") against " << attribute_or(g, "in_set", "?") << " ("
        << h5::read_attribute<std::int64_t>(g, "in_count") << "): AUROC";
    for (const std::string& score : ood_score_names(h5::has_attribute(g, "auroc_predictive_std")))
      out << " " << score << format(" %.4f", h5::read_attribute<double>(g, "auroc_" + score));
    out << "\n";
  }
}

void print_predictions(hid_t file, const std::string& path, std::ostream& out) {
  if (!h5::exists(file, "predictions")) return;
  const h5::Group predictions = h5::open_group(file, "predictions");
  for (const std::string& set : h5::member_names(predictions, path + ": /predictions")) {
    const h5::Group g = h5::open_group(predictions, set);
    out << "  predictions/" << set << ": ";
    if (h5::exists(g, "mean"))  // a regression's
      out << "mean, std, aleatoric and epistemic variance "
          << shape_text(h5::dataset_shape(g, "mean", path)) << " (target units)";
    else if (h5::exists(g, "probs_mean"))
      out << "probs_mean " << shape_text(h5::dataset_shape(g, "probs_mean", path));
    else  // output.write_predictions = false: what the OOD evaluation wrote, if any
      out << "no per-example predictions (output.write_predictions = false)";
    if (h5::exists(g, "probs_samples"))
      out << ", probs_samples " << shape_text(h5::dataset_shape(g, "probs_samples", path));
    if (h5::exists(g, "gaussian_samples"))
      out << ", gaussian_samples " << shape_text(h5::dataset_shape(g, "gaussian_samples", path));
    if (h5::exists(g, "ood_scores")) out << ", ood_scores";
    out << "\n";
  }
}

// data.standardize: what the data was standardized by (/standardization of a run or
// prediction file, /checkpoint/standardization of a checkpoint).
void print_standardization(hid_t file, const std::string& path, std::ostream& out) {
  const std::string group = h5::exists(file, "standardization") ? "standardization"
                            : h5::exists(file, "checkpoint") &&
                                      h5::exists(file, "checkpoint/standardization")
                                ? "checkpoint/standardization"
                                : "";
  if (group.empty()) return;
  const auto length = [&](const std::string& name) {
    return h5::dataset_shape(file, group + "/" + name, path)[0];
  };
  out << "  standardization: " << length("feature_mean") << " features"
      << (h5::exists(file, group + "/target_mean") ? concat(" and ", length("target_mean"), " target(s)")
                                                   : "")
      << " by the training rows' mean and standard deviation\n";
}

// eval.temperature: the T the predictions were made with, and what a fit gained.
void print_calibration(hid_t file, std::ostream& out) {
  if (!h5::exists(file, "calibration")) return;
  const h5::Group g = h5::open_group(file, "calibration");
  out << format("  temperature: T = %.4f", h5::read_attribute<double>(g, "temperature"));
  if (h5::has_attribute(g, "validation_examples"))
    out << format(", fitted to %.0f validation examples: NLL %.4f at T = 1, %.4f at T",
                  double(h5::read_attribute<std::int64_t>(g, "validation_examples")),
                  h5::read_attribute<double>(g, "validation_nll_untempered"),
                  h5::read_attribute<double>(g, "validation_nll"));
  out << "\n";
}

// Layer names are "<kind>_<position>": order them by position (dense_9 before dense_11),
// not as HDF5 lists them (by name).
std::vector<std::string> in_layer_order(std::vector<std::string> names) {
  const auto position = [](const std::string& name) {
    const auto underscore = name.rfind('_');
    return underscore == std::string::npos
               ? -1L
               : std::strtol(name.c_str() + underscore + 1, nullptr, 10);
  };
  std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return position(a) < position(b);
  });
  return names;
}

// Each layer of /weights, in layer order, with its kernel's shape.
void print_weights(hid_t file, const std::string& path, std::ostream& out) {
  if (!h5::exists(file, "weights")) return;
  const h5::Group weights = h5::open_group(file, "weights");
  out << "  weights:";
  for (const std::string& name : in_layer_order(h5::member_names(weights, path + ": /weights"))) {
    // A Bayesian layer's kernel_mu, or a deterministic layer's kernel.
    const std::string mean = name + "/kernel_mu", point = name + "/kernel";
    const std::string kernel = h5::exists(weights, mean) ? mean : point;
    out << " " << name;
    if (h5::exists(weights, kernel))
      out << " (" << shape_text(h5::dataset_shape(weights, kernel, path)) << ")";
  }
  out << "\n";
}

// The epoch of a checkpoint's last history row ("" without rows).
std::string checkpoint_epoch(hid_t checkpoint, const std::string& path) {
  if (!h5::exists(checkpoint, "history/epoch")) return "";
  const auto epochs = h5::read_column<double>(h5::open_group(checkpoint, "history"), "epoch",
                                              path + ": /checkpoint/history/epoch");
  return epochs.empty() ? "" : format(" (epoch %.2f)", epochs.back());
}

// The state in /checkpoint and how to train on from it.
void print_resume_point(hid_t file, const std::string& path, std::ostream& out) {
  const h5::Group c = h5::open_group(file, "checkpoint");
  const CheckpointPlace place = read_checkpoint_place(c, path + ": /checkpoint");
  const std::string epoch = checkpoint_epoch(c, path);
  out << "  checkpoint: step " << place.step << epoch << ", written by "
      << h5::read_attribute<std::int32_t>(c, "ranks") << " rank(s), optimizer buffers";
  for (const std::string& name : h5::read_string_attribute_array(c, "state_names"))
    out << " " << name;
  out << "\n";
  if (place.trained_to > 0)  // train.early_stop kept the best evaluation's
    out << "  train.early_stop: the best evaluation's state; training went on to step "
        << place.trained_to
        << (place.ended_early ? ", where the early stop ended it\n" : ", the end of train.epochs\n");
  if (h5::exists(c, "keep")) {
    const auto keep = h5::read_column<std::uint8_t>(c, "keep", path + ": /checkpoint/keep");
    out << "  pruned: " << std::count(keep.begin(), keep.end(), std::uint8_t(0)) << " of "
        << keep.size() << " Bayesian weights removed (kept removed when training on)\n";
  }
  out << "  resume: kbnn train DECK --restart " << path << " trains on from step " << place.step << epoch
      << " up to the deck's train.epochs\n";
}

// A stopped run's state is in the checkpoint file beside it.
void print_stopped_resume(hid_t file, const std::string& path, std::ostream& out) {
  std::filesystem::path checkpoint(path);
  checkpoint.replace_extension(".checkpoint.h5");
  out << "  resume: " << checkpoint.string();
  if (std::filesystem::exists(checkpoint)) {
    const h5::SerialFile c(KBNN_H5_CHECK_AT(
        H5Fopen(checkpoint.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), checkpoint.string()));
    const h5::Group g = h5::open_group(c, "checkpoint");
    out << " at step " << h5::read_attribute<std::int64_t>(g, "step")
        << checkpoint_epoch(g, checkpoint.string());
  } else {
    out << " (not found beside it)";
  }
  out << "; continue with the command the run printed: kbnn train "
      << attribute_or(file, "deck_path", "DECK") << " [its overrides] --restart auto\n";
}

// A finished ensemble trains on as it was started, each member from its own files.
void print_ensemble_resume(hid_t file, std::ostream& out) {
  out << "  resume: kbnn train " << attribute_or(file, "deck_path", "DECK")
      << " [its overrides] --restart auto trains every member on up to the deck's "
         "train.epochs\n";
}

// A pruned ensemble is read, not trained on: --restart names one model's checkpoint.
void print_ensemble_checkpoint_use(const std::string& path, std::ostream& out) {
  out << "  use: kbnn predict " << path << " (or kbnn prune) reads it as an ensemble; "
      << "training on from it is not supported\n";
}

// The table of kbnn prune: one line per fraction.
void print_pruning(hid_t file, const std::string& path, std::ostream& out) {
  const h5::Group t = h5::open_group(file, "pruning");
  const std::string where = path + ": /pruning";
  const auto column = [&](const std::string& name) {
    return h5::read_column<double>(t, name, where + "/" + name);
  };
  const std::string ood = attribute_or(file, "ood_set", "");
  const bool regression = h5::exists(t, "rmse");
  out << "  scope " << attribute_or(file, "scope", "?")
      << ", S = " << h5::read_attribute<std::int32_t>(file, "samples")
      << (ood.empty() ? std::string() : ", OOD set " + ood) << "\n"
      << (regression ? "    fraction   removed      kept      rmse     nll  cover95"
                     : "    fraction   removed      kept  accuracy     nll     ece")
      << (ood.empty() ? "" : regression ? "  AUROC predictive_std  epistemic_std"
                                        : "  AUROC entropy  MI  max-prob")
      << "\n";
  const auto fraction = column("fraction"), removed = column("removed"), kept = column("kept"),
             fit = column(regression ? "rmse" : "accuracy"), nll = column("nll"),
             third = column(regression ? "coverage_95" : "ece");
  std::vector<std::vector<double>> auroc;
  if (!ood.empty())
    for (const std::string& score : ood_score_names(regression))
      auroc.push_back(column("auroc_" + score));
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    out << format(regression ? "    %8.3f %9.0f %9.0f %9.4g  %.4f  %.4f"
                             : "    %8.3f %9.0f %9.0f    %.4f  %.4f  %.4f",
                  fraction[i], removed[i], kept[i], fit[i], nll[i], third[i]);
    for (const auto& a : auroc) out << format("  %.4f", a[i]);
    out << "\n";
  }
}

// A step dump (train/step_dump.hpp): its steps, what each holds, and what replays it.
void print_step_dump(hid_t file, const std::string& path, std::ostream& out) {
  const auto steps = h5::member_names(h5::open_group(file, "steps"), path + ": /steps");
  const auto attribute = [&](const char* name) { return h5::read_attribute<double>(file, name); };
  out << format("  steps: %.0f recorded of debug.dump_steps = %.0f; global batch %.0f of %.0f "
                "training examples, lr %g, seed ",
                double(steps.size()), attribute("steps"), attribute("global_batch"),
                attribute("n_train"), attribute("lr"))
      << h5::read_attribute<std::uint64_t>(file, "seed") << "\n"
      << "  holds: /initial (the parameters before step 0); per /steps/<k> the batch's "
         "example indices, each layer's weight noise and Flipout signs, the pooling argmax, "
         "the loss, the gradients and the parameters after the step\n"
      << "  replay: python3 tests/scripts/torch_replay.py replay " << path
      << " (the steps again in PyTorch, compared step by step)\n"
      // The python3 on PATH is often a pyenv's or a module's, without these.
      << "  replay needs: a Python with torch, h5py and numpy, e.g. /usr/bin/python3 on "
         "Debian (python3-torch, python3-h5py, python3-numpy: scripts/install_deps.sh)\n";
}

std::string summary(hid_t file, const std::string& path, bool with_deck) {
  const FileKind kind = kind_of(file, path);
  std::ostringstream out;
  print_header(file, path, kind, out);
  if (kind == FileKind::step_dump) {
    print_step_dump(file, path, out);
    if (with_deck) out << "\n" << deck_of(file) << "\n";
    return out.str();
  }
  if (kind != FileKind::pruning && kind != FileKind::predictions) print_model(file, path, out);
  print_classes(file, out);
  print_training_data(file, path, out);
  if (h5::has_attribute(file, "ensemble_members")) print_ensemble_members(file, path, out);
  if (h5::exists(file, "history"))
    print_history(h5::open_group(file, "history"), path + ": /history", out);
  const bool checkpoint_file = kind == FileKind::checkpoint || kind == FileKind::pruned_checkpoint;
  if (checkpoint_file && h5::exists(file, "checkpoint/history"))
    print_history(h5::open_group(file, "checkpoint/history"), path + ": /checkpoint/history", out);
  print_metrics(file, out);
  print_calibration(file, out);
  print_predictions(file, path, out);
  print_standardization(file, path, out);
  print_weights(file, path, out);
  if (kind == FileKind::pruning) print_pruning(file, path, out);
  if (kind == FileKind::stopped_run) print_stopped_resume(file, path, out);
  if (kind == FileKind::finished_ensemble) print_ensemble_resume(file, out);
  if (kind == FileKind::ensemble_checkpoint) print_ensemble_checkpoint_use(path, out);
  if (h5::exists(file, "checkpoint")) print_resume_point(file, path, out);
  if (with_deck) out << "\n" << deck_of(file) << "\n";
  return out.str();
}

}  // namespace

std::string file_info(const std::string& path, bool with_deck) {
  require_regular_file(path, "a file kbnn wrote", "no such file");
  const h5::QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError(concat(path, ": not an HDF5 file, so not a file kbnn wrote"));
  const h5::SerialFile file(
      KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  if (!h5::has_attribute(file, "kbnn_version") && !is_step_dump(file))
    throw InputError(concat(path,
                            ": an HDF5 file that kbnn did not write (no kbnn_version "
                            "attribute on /)"));
  return summary(file, path, with_deck);
}

}  // namespace kbnn
