// Evaluating a trained model that may be an ensemble (uq/ensemble.hpp), and writing what
// that gives: what `kbnn train` (at the end of an ensemble's training), `kbnn predict`
// and `kbnn prune` share. One model is evaluated as it always was, bit for bit; an
// ensemble's members are read one at a time into the same model (they share the deck's
// architecture) and their passes add into the mixture's sums.
#pragma once

#include "app/trained_run.hpp"
#include "output/run_file.hpp"
#include "uq/ensemble.hpp"
#include "uq/regression_ensemble.hpp"
#include "uq/temperature.hpp"

#include <functional>
#include <iosfwd>
#include <string>

namespace kbnn {

// Collective. One model (run.members empty): evaluate() on `model` as it is loaded, in an
// EnsembleEvaluation of one member with an empty split. An ensemble: evaluate_ensemble
// over run.members, each read (read_checkpoint) and loaded into `model` in turn, its
// noise keyed by its own seed.
EnsembleEvaluation evaluate_trained(const TrainedRun& run, Sequential<Real>& model,
                                    const DeviceDataset& data, std::int64_t data_first,
                                    std::int64_t total, const EvalOptions& options,
                                    const Communicator& comm);

// Collective, for a model with a Gaussian likelihood: evaluate_regression() of one model
// (run.members empty) as it is loaded, as an ensemble of one member with an empty split;
// or evaluate_regression_ensemble over run.members, read as evaluate_trained's. In the
// targets' units of the run's standardization (member 0's: the members' data is one).
RegressionEnsembleEvaluation evaluate_trained_regression(const TrainedRun& run,
                                                         Sequential<Real>& model,
                                                         const DeviceDataset& data,
                                                         std::int64_t data_first,
                                                         std::int64_t total,
                                                         const EvalOptions& options,
                                                         const Communicator& comm);

// Collective: evaluate() of one model as it is loaded, as an EnsembleEvaluation of one
// member (an empty split).
EnsembleEvaluation evaluate_one(Sequential<Real>& model, const DeviceDataset& data,
                                std::int64_t data_first, std::int64_t total,
                                const EvalOptions& options, const Communicator& comm);

// Collective: /predictions/<set> (with_predictions) and /metrics/<set> of `e`, with an
// ensemble's split and its metrics; `samples` is S per member. A set without labels
// (kbnn predict of new data) gets no /metrics.
void write_evaluation(RunFile& file, const std::string& set, const EnsembleEvaluation& e,
                      int samples, bool with_predictions);

// Collective. The options of a trained model's (or ensemble's) final predictions: the
// deck's (eval_options), at the temperature T that eval.temperature gives. With fit, T
// is fitted (uq/temperature.hpp) to `held_out(options)`: the evaluation of this rank's
// shard of the validation rows with every pass kept, at T = 1. Writes /calibration
// unless T = 1, and logs the fit.
EvalOptions final_eval_options(const RunConfig& config,
                               const std::function<EnsembleEvaluation(const EvalOptions&)>& held_out,
                               RunFile& file, const Communicator& comm, std::ostream& log);

// The line logged when a fitted T is an end of its range (fit.at_limit): what it means
// and what to do; the run goes on at that T.
std::string temperature_limit_warning(const TemperatureFit& fit);

// ", T=<T>" for a log line's parentheses, or "" at T = 1.
std::string temperature_text(const EvalOptions& options);

// "entropy H = aleatoric A + epistemic E": the metrics' mean entropies (nats) for a log
// line.
std::string mean_entropies_text(const Metrics& m);

// " (untempered passes)" after a log line's mean entropies at T != 1, which are the
// posterior's own (uq/predictive.hpp: T calibrates the probabilities only), or "".
std::string untempered_text(const EvalOptions& options);

// The log line of an ensemble's split (nothing for one model): "<set> uncertainty
// (nats, mean): epistemic E = within W + between B over K members".
void log_epistemic_split(const std::string& set, const EnsembleEvaluation& e, std::ostream& log);

}  // namespace kbnn
