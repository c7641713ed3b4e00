#include "app/run_info.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "h5/attribute.hpp"
#include "h5/rows.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <vector>

namespace kbnn {

namespace {

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

// The last row of /history/eval (evaluations during training), with its set.
void print_last_evaluation(hid_t eval, const std::string& path, std::ostream& out) {
  const std::string where = path + ": /history/eval";
  const auto step = h5::read_column<double>(eval, "step", where + "/step");
  const std::string set =
      h5::has_attribute(eval, "set") ? h5::read_string_attribute(eval, "set") : "?";
  out << "  history/eval: ";
  if (step.empty()) {
    out << "no rows yet (on " << set << ")\n";
    return;
  }
  const auto last = [&](const char* name) {
    return h5::read_column<double>(eval, name, where + "/" + name).back();
  };
  out << format("%.0f rows; last at epoch %.0f (step %.0f) on ", double(step.size()),
                last("epoch"), step.back())
      << set
      << format(": accuracy %.4f, nll %.4f, ece %.4f, entropy %.4f nats\n", last("accuracy"),
                last("nll"), last("ece"), last("mean_entropy"));
}

// What ran: the version, the ranks, the backend and the deck.
void print_header(hid_t file, const std::string& path, std::ostream& out) {
  out << path << ": kbnn " << h5::read_string_attribute(file, "kbnn_version") << " ("
      << h5::read_string_attribute(file, "git_revision") << "), "
      << h5::read_attribute<std::int32_t>(file, "ranks") << " rank(s), Kokkos "
      << h5::read_string_attribute(file, "kokkos_backend") << ", created "
      << h5::read_string_attribute(file, "created") << "\n  deck "
      << h5::read_string_attribute(file, "deck_path") << "\n";
}

// The last row of /history, and of /history/eval if there is one.
void print_history(hid_t file, const std::string& path, std::ostream& out) {
  const h5::Group history = h5::open_group(file, "history");
  const auto step = h5::read_column<double>(history, "step", path + ": /history/step");
  if (step.empty()) {
    out << "  history: no rows (the run stopped before its first log step)\n";
  } else {
    const auto last = [&](const char* name) {
      return h5::read_column<double>(history, name, path + ": /history/" + name).back();
    };
    out << format("  history: %.0f rows; last at step %.0f (epoch %.2f): loss %.4f, nll %.4f, "
                  "kl %.4g, train accuracy %.4f",
                  double(step.size()), step.back(), last("epoch"), last("loss"), last("nll"),
                  last("kl"), last("train_accuracy"))
        << format(", %.0f img/s\n", last("images_per_second"));
  }
  if (h5::exists(history, "eval"))
    print_last_evaluation(h5::open_group(history, "eval"), path, out);
}

// A regression's metrics (attributes of output/regression_output.cpp).
void print_regression_metrics(hid_t g, const std::string& set, std::ostream& out) {
  const auto get = [&](const char* name) { return h5::read_attribute<double>(g, name); };
  out << "  metrics/" << set
      << format(": rmse %.5g, nll %.4f, coverage 50/90/95%% %.3f/%.3f/%.3f, width 95%% %.5g; "
                "std %.5g (variance = aleatoric %.5g + epistemic %.5g)\n",
                get("rmse"), get("nll"), get("coverage_50"), get("coverage_90"),
                get("coverage_95"), get("width_95"), get("mean_std"),
                get("mean_aleatoric_variance"), get("mean_epistemic_variance"));
}

void print_metrics(hid_t file, std::ostream& out) {
  const h5::Group metrics = h5::open_group(file, "metrics");
  for (const std::string set : {"test"}) {
    if (!h5::exists(metrics, set)) continue;
    const h5::Group g = h5::open_group(metrics, set);
    if (h5::has_attribute(g, "rmse")) {
      print_regression_metrics(g, set, out);
      continue;
    }
    const auto get = [&](const char* name) { return h5::read_attribute<double>(g, name); };
    out << "  metrics/" << set
        << format(": accuracy %.4f, nll %.4f, brier %.4f, ece %.4f; entropy %.4f = aleatoric "
                  "%.4f + epistemic %.4f nats\n",
                  get("accuracy"), get("nll"), get("brier"), get("ece"), get("mean_entropy"),
                  get("mean_aleatoric"), get("mean_epistemic"));
  }
}

// Each layer of /weights, in layer order, with its kernel's shape.
void print_weights(hid_t file, const std::string& path, std::ostream& out) {
  const h5::Group weights = h5::open_group(file, "weights");
  out << "  weights:";
  for (const std::string& name : in_layer_order(h5::member_names(weights, path + ": /weights"))) {
    // A Bayesian layer's kernel_mu, or a deterministic layer's kernel.
    const std::string mean = name + "/kernel_mu", point = name + "/kernel";
    const std::string kernel = h5::exists(weights, mean) ? mean : point;
    out << " " << name;
    if (h5::exists(weights, kernel)) out << " (" << shape_text(h5::dataset_shape(weights, kernel, path)) << ")";
  }
  out << "\n";
}

}  // namespace

void print_run_info(const std::string& path, bool with_deck, std::ostream& out) {
  if (!std::filesystem::exists(path)) throw InputError(concat(path, ": no such file"));
  const h5::QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(concat(path, ": not an HDF5 file"));
  const h5::SerialFile file(KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  if (!h5::has_attribute(file, "kbnn_version"))
    throw InputError(concat(path, ": not a kbnn run file (no kbnn_version attribute on /)"));

  print_header(file, path, out);
  if (h5::exists(file, "history")) print_history(file, path, out);
  if (h5::exists(file, "metrics")) print_metrics(file, out);
  if (h5::exists(file, "predictions/test/probs_mean"))
    out << "  predictions/test: probs_mean "
        << shape_text(h5::dataset_shape(file, "predictions/test/probs_mean", path)) << "\n";
  if (h5::exists(file, "predictions/test/mean"))
    out << "  predictions/test: mean and std "
        << shape_text(h5::dataset_shape(file, "predictions/test/mean", path))
        << " (regression, target units)\n";
  if (h5::exists(file, "standardization"))
    out << "  standardization: "
        << h5::dataset_shape(file, "standardization/feature_mean", path)[0] << " features"
        << (h5::exists(file, "standardization/target_mean") ? " and targets" : "")
        << " standardized by the training rows' mean and std\n";
  if (h5::exists(file, "weights")) print_weights(file, path, out);
  if (h5::exists(file, "checkpoint")) {
    const h5::Group c = h5::open_group(file, "checkpoint");
    out << "  checkpoint: step " << h5::read_attribute<std::int64_t>(c, "step")
        << ", written by " << h5::read_attribute<std::int32_t>(c, "ranks")
        << " rank(s); resume with: kbnn train DECK --restart " << path << "\n";
  }
  if (with_deck) out << "\n" << h5::read_string_attribute(file, "deck") << "\n";
}

}  // namespace kbnn
