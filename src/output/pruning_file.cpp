#include "output/pruning_file.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "h5/attribute.hpp"
#include "h5/file.hpp"
#include "h5/rows.hpp"

#include <functional>

namespace kbnn {

namespace {

// One column of the table: a value per row.
template <class T>
void write_column(hid_t table, bool writer, const std::string& name, const std::vector<T>& values,
                  const std::string& units, const std::string& description,
                  const std::string& where) {
  h5::write_column(table, name, values, writer, units, description, concat(where, "/", name));
}

// A column of a value per row.
std::vector<double> column_of(const PruningReport& r,
                              const std::function<double(const PruningRow&)>& get) {
  std::vector<double> values;
  for (const auto& row : r.rows) values.push_back(get(row));
  return values;
}

// The test metrics of a regression's rows, in the targets' units, and their OOD scores.
void write_regression_columns(hid_t table, bool writer, const PruningReport& r,
                              const std::string& where) {
  const auto column = [&](const std::function<double(const PruningRow&)>& get) {
    return column_of(r, get);
  };
  write_column(table, writer, "rmse", column([](auto& w) { return w.regression.rmse; }),
               "target units", "test RMSE of the predictive mean", where);
  write_column(table, writer, "nll", column([](auto& w) { return w.regression.nll; }), "nats",
               "mean -log p(y|x) of the predictive mixture, targets' units", where);
  write_column(table, writer, "coverage_95",
               column([](auto& w) { return w.regression.coverage_at(0.95); }), "1",
               "fraction of test targets inside the central 95% interval", where);
  write_column(table, writer, "width_95", column([](auto& w) { return w.regression.width_at(0.95); }),
               "target units", "mean width of the central 95% interval", where);
  write_column(table, writer, "calibration_error",
               column([](auto& w) { return w.regression.calibration_error; }), "1",
               "mean |observed - expected| coverage over the levels 0.05 .. 0.95", where);
  write_column(table, writer, "mean_std", column([](auto& w) { return w.regression.mean_std; }),
               "target units", "mean predictive standard deviation", where);
  write_column(table, writer, "mean_epistemic_variance",
               column([](auto& w) { return w.regression.mean_epistemic; }), "target units squared",
               "mean epistemic variance", where);
  if (r.ood_set.empty()) return;
  for (const RegressionOodScore s : regression_ood_scores) {
    const std::string score = ood_score_name(s);
    const std::size_t k = std::size_t(s);
    write_column(table, writer, "auroc_" + score,
                 column([k](auto& w) { return w.regression_ood.by_score[k].auroc; }), "1",
                 concat("AUROC of ", score, " telling ", r.ood_set, " (OOD) from the test set"),
                 where);
    write_column(table, writer, "aupr_out_" + score,
                 column([k](auto& w) { return w.regression_ood.by_score[k].aupr_out; }), "1",
                 concat("AUPR of ", score, " with ", r.ood_set, " (OOD) as positives"), where);
  }
}

void write_columns(hid_t table, bool writer, const PruningReport& r, const std::string& where) {
  const auto column = [&](const std::function<double(const PruningRow&)>& get) {
    return column_of(r, get);
  };
  const auto count = [&](std::int64_t PruningRow::*member) {
    std::vector<std::int64_t> values;
    for (const auto& row : r.rows) values.push_back(row.*member);
    return values;
  };
  write_column(table, writer, "fraction", column([](auto& w) { return w.fraction; }), "1",
               "fraction of the kernel weights asked to be removed", where);
  write_column(table, writer, "removed", count(&PruningRow::removed), "weights",
               "kernel weights removed, whole model", where);
  write_column(table, writer, "kept", count(&PruningRow::kept), "weights",
               "kernel weights kept, whole model", where);
  if (r.regression) return write_regression_columns(table, writer, r, where);
  write_column(table, writer, "accuracy", column([](auto& w) { return w.metrics.accuracy; }), "1",
               "test accuracy of the Monte-Carlo predictive mean", where);
  write_column(table, writer, "nll", column([](auto& w) { return w.metrics.nll; }), "nats",
               "mean -log p(y|x) of the predictive mean", where);
  write_column(table, writer, "brier", column([](auto& w) { return w.metrics.brier; }), "1",
               "mean sum_k (p_k - onehot_k)^2", where);
  write_column(table, writer, "ece", column([](auto& w) { return w.metrics.ece; }), "1",
               "expected calibration error, 15 equal-width confidence bins", where);
  write_column(table, writer, "mean_entropy", column([](auto& w) { return w.metrics.mean_entropy; }),
               "nats", "mean predictive entropy", where);
  write_column(table, writer, "mean_epistemic",
               column([](auto& w) { return w.metrics.mean_epistemic; }), "nats",
               "mean mutual information (epistemic uncertainty)", where);
  if (r.ood_set.empty()) return;
  for (const OodScore s : ood_scores) {
    const std::string score = ood_score_name(s);
    write_column(table, writer, "auroc_" + score,
                 column([s](auto& w) { return w.ood.by_score[s].auroc; }), "1",
                 concat("AUROC of ", score, " telling ", r.ood_set, " (OOD) from the test set"),
                 where);
    write_column(table, writer, "aupr_out_" + score,
                 column([s](auto& w) { return w.ood.by_score[s].aupr_out; }), "1",
                 concat("AUPR of ", score, " with ", r.ood_set, " (OOD) as positives"), where);
  }
}

// /pruning/masks/<fraction>/<layer>_<tensor>: each Gaussian block's mask in its shape.
void write_masks(hid_t table, bool writer, const PruningReport& r, const std::string& where) {
  const h5::Group masks = h5::create_group(table, "masks");
  h5::describe(masks, "", "per fraction, each layer's keep mask (1 kept, 0 removed) in the "
                          "shape of its weights");
  for (const auto& row : r.rows) {
    const std::string label = format("%g", row.fraction);
    const h5::Group g = h5::create_group(masks, label);
    h5::describe(g, "", "the masks of fraction " + label);
    for (const auto& b : r.blocks) {
      if (b.kind != ParameterStore<Real>::Kind::gaussian) continue;
      const std::string name = b.layer() + "_" + b.tensor();
      const std::string what = concat(where, "/masks/", label, "/", name);
      const std::vector<hsize_t> dims(b.shape.begin(), b.shape.end());
      const h5::DataSet d = h5::create_dataset<std::uint8_t>(g, name, dims, what);
      h5::describe(d, "", concat("keep mask of ", b.name, " (1 kept, 0 removed)"));
      std::vector<std::uint8_t> keep(b.count, 1);
      if (!row.keep.empty())
        keep.assign(row.keep.begin() + b.offset, row.keep.begin() + b.offset + b.count);
      h5::write_rows(d, keep.data(), 0, writer ? dims[0] : 0, what);
    }
  }
}

}  // namespace

void write_pruning_file(const std::string& path, const Communicator& comm, const PruningReport& r) {
  const h5::QuietErrors quiet;
  const bool writer = comm.is_root();
  h5::CollectiveFile file = h5::create_collective_file(path, comm, "pruning file");
  h5::describe(file, "", "kbnn prune: test metrics of a Bayesian network with the weights of "
                         "lowest signal-to-noise ratio |mu|/sigma removed, one row per fraction");
#ifdef KBNN_VERSION
  h5::write_attribute(file, "kbnn_version", KBNN_VERSION);
#endif
  h5::write_attribute(file, "source", r.source);
  h5::write_attribute(file, "scope", r.scope);
  h5::write_attribute(file, "samples", std::int32_t(r.samples));
  h5::write_attribute(file, "deck", r.deck_text);
  h5::write_attribute(file, "ood_set", r.ood_set);
  {  // the group closes at the end of this block, before the file
    const h5::Group table = h5::create_group(file, "pruning");
    const char* of = r.scope == "layer" ? "of each layer's kernel weights" : "of all kernel weights";
    h5::describe(table, "", concat("one row per pruned fraction (", r.scope,
                                   " scope: the fraction ", of, "); attribute checkpoints: the "
                                   "file of each row to fine-tune from with kbnn train --restart"));
    std::vector<std::string> checkpoints;
    for (const auto& row : r.rows) checkpoints.push_back(row.checkpoint);
    h5::write_attribute(table, "checkpoints", checkpoints);
    write_columns(table, writer, r, path + ": /pruning");
    write_masks(table, writer, r, path + ": /pruning");
  }
  file.close();
}

}  // namespace kbnn
