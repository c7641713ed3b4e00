// The data sets a trained model is evaluated on, as the drivers (`kbnn train`'s final
// evaluation, `kbnn predict`) read them from a deck: the test split, and the OOD set
// of [ood]; and the OOD results as both write and report them.
#pragma once

#include "app/deck.hpp"
#include "data/data_split.hpp"
#include "data/dataset.hpp"
#include "data/standardize.hpp"
#include "output/run_file.hpp"
#include "parallel/communicator.hpp"
#include "uq/evaluate.hpp"

#include <iosfwd>
#include <string>

namespace kbnn {

// The deck's evaluation settings (eval.samples, eval.batch_size, the train.seed noise
// key, eval.temperature's T: 1 while one is still to fit), with ranks splitting the
// examples.
EvalOptions eval_options(const RunConfig& config);

// `options` with a progress line for `set` (core/progress.hpp) on the rank that logs:
// Monte-Carlo prediction of a large set runs minutes without other output.
EvalOptions with_progress(EvalOptions options, const std::string& set, const Communicator& comm,
                          std::ostream& log);

// The deck's test split (data.format, data.dir or data.test_file, data.test_limit):
// the rows this rank needs for `split` (uq/evaluate.hpp, rows_to_load).
Split load_test_rows(const RunConfig& config, const Communicator& comm, PredictSplit split);

// The deck's held-out rows (data.validation_fraction): the last round(fraction * N)
// of the N training rows, as Keras's validation_split. Throws InputError unless at least
// one row and fewer than all are held out (none is fine with fraction 0).
std::int64_t held_out_rows(const RunConfig& config, std::int64_t total);

// This rank's shard (Communicator::shard) of the held-out rows of the deck's training
// split; an empty Split with fraction 0.
Split load_validation_rows(const RunConfig& config, const Communicator& comm);

// A set evaluated by a classifier of `classes` outputs takes the model's class count: it
// may hold only some of the classes, but every label must lie in [0, classes), or the
// metrics would read past a row's probabilities. Throws InputError naming the file, the
// first label outside and the count. A set without labels only takes the count.
void take_model_classes(Split& set, int classes);

// A set evaluated by a classifier whose classes have names (`names`, its training set's,
// from `model`: "the training set <file>" or "the model <file>") must number them alike:
// where both name class k, the names agree. Otherwise its labels mean other classes (a
// table converted apart from the training table without csv_to_h5.py --classes-from):
// InputError naming both lists. Nothing where either names none.
void check_class_names(const Dataset& set, const std::vector<std::string>& names,
                       const std::string& model);

// A regression set without targets (new data to predict, an OOD set) takes the model's
// `targets` per example, all NaN: the Monte-Carlo passes score a value, and no metric
// counts a row whose target is NaN (uq/regression_predictive.hpp). Nothing for a set
// with targets.
void take_model_targets(Split& set, int targets);

// The deck's OOD set ([ood]; config.ood.enabled() must hold): the test split of
// ood.format / ood.dir / ood.file, or the test set under ood.shift (noise keyed by
// train.seed). Throws InputError if its images differ in shape from `like`'s. A
// classifier's OOD set takes `like`'s classes (take_model_classes), and labels that are
// not among them (another data set's) are dropped: label -1, as a set without labels.
// Without targets, a regression's OOD set takes `like`'s (take_model_targets).
Split load_ood_rows(const RunConfig& config, const Communicator& comm, PredictSplit split,
                         const Dataset& like);

// The line saying that an OOD set came without labels or real targets (an HDF5 file
// lacking the targets dataset: they are never used); nothing for a labeled set.
void log_unlabeled(const Split& ood, std::ostream& log);

// The training set's standardization (data.standardize, from a run's checkpoint)
// applied to this rank's rows of a set; nothing when s is empty.
void apply_standardization(Split& set, const Standardization& s);

// Writes the OOD scores of both sets and /metrics/ood/<out_set>, and logs one line per
// score. `in` and `out` are this rank's shards (Communicator::shard) of each set.
void report_ood(RunFile& file, const std::string& in_set, const Predictions& in,
                std::int64_t in_first, std::int64_t in_total, const std::string& out_set,
                const Predictions& out, std::int64_t out_first, std::int64_t out_total,
                const Communicator& comm, std::ostream& log);

}  // namespace kbnn
