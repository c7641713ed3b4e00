// How the drivers (`kbnn train`, `predict`, `prune`) evaluate, write and report a model
// with a Gaussian likelihood (docs/design.md, "Regression"): the regression
// counterparts of their classification steps, in the targets' units.
#pragma once

#include "data/standardize.hpp"
#include "output/run_file.hpp"
#include "parallel/communicator.hpp"
#include "uq/evaluate.hpp"
#include "uq/regression_ensemble.hpp"

#include <iosfwd>
#include <string>

namespace kbnn {

// "RMSE 53.2  NLL 5.41  coverage 50/90/95% 0.48/0.89/0.95  width 95% 207  calibration
// error 0.021": a log line's numbers.
std::string regression_metrics_text(const RegressionMetrics& m);

// A whole set's evaluation, written to `file` as set `name` (its predictions if
// `write_predictions`, its metrics) and logged as "<label>: <metrics>" plus the
// uncertainty split. A set without targets has no metrics: "<label>: no targets,
// predictions only".
void write_regression_set(RunFile& file, const std::string& name, const RegressionEvaluation& e,
                          bool write_predictions, int samples, const std::string& label,
                          std::ostream& log);

// write_regression_set of an evaluation that may be an ensemble's mixture (`samples`: S
// per member); an ensemble's adds its split (/predictions/<set>/epistemic_within and
// epistemic_between when `write_predictions`; /metrics/<set>'s ensemble_members and the
// split's means, for a set with targets) and a log line "<label> epistemic variance
// (...): E = within-member W + between-member B".
void write_regression_evaluation(RunFile& file, const std::string& name,
                                 const RegressionEnsembleEvaluation& e, bool write_predictions,
                                 int samples, const std::string& label, std::ostream& log);

// The regression OOD scores of both sets (this rank's shards), /metrics/ood/<out_set>,
// and one log line.
void report_regression_ood(RunFile& file, const std::string& in_set, const RegressionEvaluation& in,
                           const std::string& out_set, const RegressionEvaluation& out,
                           const Standardization& s, const Communicator& comm, std::ostream& log);

}  // namespace kbnn
