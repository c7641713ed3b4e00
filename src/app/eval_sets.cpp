#include "app/eval_sets.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "core/progress.hpp"
#include "data/shift.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <ostream>

namespace kbnn {

namespace {

// The test split of a data set, as `split` needs it: this rank's shard of the rows, or
// all of them (uq/evaluate.hpp, rows_to_load).
Split load_rows(const DataConfig& data, const Communicator& comm, PredictSplit split) {
  const SplitSource source = open_split(data, SplitPart::test, comm);
  const auto [lo, hi] = rows_to_load(source.total, split, comm);
  Split out = take_rows(source, lo, hi, comm, RankRows::all);
  out.first = lo;
  out.total = source.total;
  return out;
}

}  // namespace

EvalOptions eval_options(const RunConfig& config) {
  EvalOptions options;
  options.samples = config.eval.samples;
  options.batch = config.eval.batch_size;
  options.seed = config.train.seed;
  options.temperature = config.eval.temperature.value;
  return options;
}

EvalOptions with_progress(EvalOptions options, const std::string& set, const Communicator& comm,
                          std::ostream& log) {
  const auto line =
      std::make_shared<ProgressLine>(comm.is_root() ? &log : nullptr, "predicting " + set);
  options.progress = [line](double fraction) { (*line)(fraction); };
  return options;
}

Split load_test_rows(const RunConfig& config, const Communicator& comm, PredictSplit split) {
  return load_rows(config.data, comm, split);
}

std::int64_t held_out_rows(const RunConfig& config, std::int64_t total) {
  const double fraction = config.data.validation_fraction;
  const std::int64_t held_out = std::llround(fraction * double(total));
  if (fraction > 0 && (held_out < 1 || held_out >= total))
    throw InputError(concat("input deck ", config.deck_path, ": data.validation_fraction ",
                            fraction, " of ", total, " training examples holds out ", held_out,
                            ": expected at least 1 and fewer than all"));
  return held_out;
}

Split load_validation_rows(const RunConfig& config, const Communicator& comm) {
  const SplitSource source = open_split(config.data, SplitPart::train, comm);
  const std::int64_t held_out = held_out_rows(config, source.total);
  if (held_out == 0) return Split{};
  return take_rows(source, source.total - held_out, source.total, comm, RankRows::shard);
}

namespace {

std::vector<std::int32_t>::const_iterator first_label_outside(const Dataset& rows, int classes) {
  return std::find_if(rows.labels.begin(), rows.labels.end(),
                      [&](std::int32_t y) { return y < 0 || y >= classes; });
}

bool labels_within(const Dataset& rows, int classes) {
  return !rows.labeled || first_label_outside(rows, classes) == rows.labels.end();
}

// The set as one without labels: label -1 on every row, which no metric counts.
void forget_labels(Dataset& rows) {
  rows.labeled = false;
  rows.labels.assign(rows.labels.size(), -1);
}

}  // namespace

void take_model_classes(Split& set, int classes) {
  Dataset& rows = set.rows;
  rows.num_classes = classes;
  if (!rows.labeled) return;
  const auto outside = first_label_outside(rows, classes);
  if (outside == rows.labels.end()) return;
  throw InputError(concat(rows.source, ": label ", *outside, " of example ",
                          set.first + (outside - rows.labels.begin()), " is outside [0, ",
                          classes, "): the model predicts ", classes, " classes, those of its "
                          "training set: a set to evaluate must use its labels"));
}

void check_class_names(const Dataset& set, const std::vector<std::string>& names,
                       const std::string& model) {
  const std::vector<std::string>& own = set.class_names;
  const std::size_t shared = std::min(own.size(), names.size());
  if (std::equal(own.begin(), own.begin() + shared, names.begin())) return;
  const auto listed = [](const std::vector<std::string>& v) {
    std::string text;
    for (std::size_t k = 0; k < v.size(); ++k) text += concat(k ? ", " : "", k, " = ", v[k]);
    return text;
  };
  throw InputError(concat(set.source, ": its classes (class_names: ", listed(own),
                          ") are numbered otherwise than those of ", model, " (", listed(names),
                          "): its labels would mean other classes; convert it with "
                          "scripts/csv_to_h5.py --classes-from <the training file>"));
}

void take_model_targets(Split& set, int targets) {
  Dataset& rows = set.rows;
  if (rows.labeled) return;
  rows.target_dim = targets;
  rows.targets.assign(std::size_t(rows.count) * std::size_t(targets),
                      std::numeric_limits<float>::quiet_NaN());
}

Split load_ood_rows(const RunConfig& config, const Communicator& comm, PredictSplit split,
                         const Dataset& like) {
  const OodConfig& o = config.ood;
  Split out;
  if (o.shift != DataShift::none) {
    out = load_test_rows(config, comm, split);
    if (o.limit > 0 && o.limit < out.total) {
      // The shifted set is the first ood.limit test examples.
      RunConfig limited = config;
      limited.data.test_limit = o.limit;
      out = load_test_rows(limited, comm, split);
    }
    out.rows = shifted(out.rows, o.shift, config.train.seed, out.first);
  } else {
    DataConfig set = config.data;  // the same datasets and layout in another file
    set.format = *o.format;        // enabled() without a shift
    set.dir = o.dir;
    set.test_file = o.file;
    set.test_limit = o.limit;
    set.test_fraction = 0;
    set.labels_optional = true;  // an OOD set's labels are never used
    out = load_rows(set, comm, split);
  }
  if (like.target_dim > 0) take_model_targets(out, like.target_dim);
  const Dataset& r = out.rows;
  if (r.height != like.height || r.width != like.width || r.channels != like.channels)
    throw InputError(concat("OOD set ", r.source, ": examples of ", shape_text(r),
                            ", the model's of ", shape_text(like)));
  if (r.target_dim != like.target_dim)
    throw InputError(concat("OOD set ", r.source, ": ", r.target_dim, " targets per example, the "
                            "model's data ", like.target_dim));
  if (like.num_classes > 0) {
    // An OOD set's labels score nothing, and another data set's (CIFAR-100 against a
    // CIFAR-10 model) need not be the model's classes: such labels are dropped, on every
    // rank if one rank's rows hold one.
    const double outside = labels_within(out.rows, like.num_classes) ? 0 : 1;
    if (comm.allreduce_sum(outside) > 0) forget_labels(out.rows);
    take_model_classes(out, like.num_classes);
  }
  return out;
}

void log_unlabeled(const Split& ood, std::ostream& log) {
  if (ood.rows.labeled) return;
  log << "OOD set " << ood.rows.source
      << (ood.rows.target_dim > 0 ? ": no targets, none needed (its predictions' target column is NaN)"
                                  : ": no labels of the model's classes, none needed (its "
                                    "predictions' label column is -1)")
      << std::endl;
}

void apply_standardization(Split& set, const Standardization& s) {
  if (!s.empty() && set.rows.count > 0) standardize(set.rows, s);
}

void report_ood(RunFile& file, const std::string& in_set, const Predictions& in,
                std::int64_t in_first, std::int64_t in_total, const std::string& out_set,
                const Predictions& out, std::int64_t out_first, std::int64_t out_total,
                const Communicator& comm, std::ostream& log) {
  if (in_set == out_set)
    throw InputError(concat("the OOD set and the in-distribution set are both named '", in_set,
                            "': set ood.name"));
  const OodScores in_scores = gather_ood_scores(in, in_total, comm);
  const OodScores out_scores = gather_ood_scores(out, out_total, comm);
  const OodMetrics m = ood_metrics(in_scores, out_scores);
  file.write_ood_scores(in_set, ood_scores_of(in), in_first, in_total);
  file.write_ood_scores(out_set, ood_scores_of(out), out_first, out_total);
  file.write_ood_metrics(in_set, out_set, m);
  log << "OOD: " << out_set << " (" << out_total << ") against " << in_set << " (" << in_total
      << "):";
  for (const OodScore score : ood_scores) {
    const OodSeparation& s = m.by_score[score];
    log << (score == ood_scores.front() ? " " : "; ") << ood_score_name(score)
        << format(" AUROC %.4f AUPR-out %.4f AUPR-in %.4f", s.auroc, s.aupr_out, s.aupr_in);
  }
  log << std::endl;
}

}  // namespace kbnn
