// The output of `kbnn prune` (docs/output.md): one row per pruned fraction with the
// model's test metrics, and the masks. Written collectively; rank 0 writes the data.
//
//   /                      kbnn_version, source (the pruned run file), scope, samples, deck
//   /pruning/<column>      (F) fraction, removed, kept, accuracy, nll, brier, ece,
//                          mean_entropy, mean_epistemic, and with an OOD set auroc_<score>
//                          and aupr_out_<score> per OOD score; attributes checkpoints (F
//                          names), ood_set. A regression's rows hold rmse, nll,
//                          coverage_95, width_95, calibration_error, mean_std and
//                          mean_epistemic_variance in place of the classification columns
//   /pruning/masks/<f>/<layer>   uint8, the kernel's shape: 1 kept, 0 removed
#pragma once

#include "core/parameter_store.hpp"
#include "core/types.hpp"
#include "parallel/communicator.hpp"
#include "uq/ood.hpp"
#include "uq/predictive.hpp"
#include "uq/regression_ood.hpp"
#include "uq/regression_predictive.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kbnn {

struct PruningRow {
  double fraction = 0;                // asked for: of each layer's, or of all, kernel weights
  std::int64_t removed = 0, kept = 0;  // kernel weights over the whole model
  Metrics metrics;                    // on the test split, reduced over ranks
  OodMetrics ood;                     // test split against the OOD set, if there is one
  RegressionMetrics regression;       // in place of metrics, for a Gaussian likelihood
  RegressionOodMetrics regression_ood;  // in place of ood, for a Gaussian likelihood
  std::vector<std::uint8_t> keep;     // the model's keep mask (Gaussian weights, store order)
  std::string checkpoint;             // the file written to fine-tune from ("" if none)
};

struct PruningReport {
  std::string source;     // the run file or checkpoint that was pruned
  std::string scope;      // "layer" or "global"
  int samples = 0;        // Monte-Carlo passes per prediction
  std::string deck_text;  // the resolved deck of the pruned run
  std::string ood_set;    // the OOD set's name; "" if none was scored
  bool regression = false;  // rows hold regression metrics (other columns)
  std::vector<ParameterStore<Real>::Block> blocks;  // the model's parameter blocks
  std::vector<PruningRow> rows;
};

// Creates `path` (collective) and writes the report; every rank passes the same one.
void write_pruning_file(const std::string& path, const Communicator& comm, const PruningReport& r);

}  // namespace kbnn
