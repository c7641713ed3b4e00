#include "output/run_file_groups.hpp"

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "h5/rows.hpp"

namespace kbnn::detail {

void check_name(const std::string& file, const char* what, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw RuntimeError(concat(file, ": ", what, " name '", name,
                              "' must be non-empty and contain no '/'"));
}

h5::Group open_or_create_group(hid_t parent, const std::string& name,
                               const std::string& description) {
  if (h5::exists(parent, name)) return h5::open_group(parent, name);
  h5::Group g = h5::create_group(parent, name);
  h5::describe(g, "", description);
  return g;
}

h5::Group predictions_group(hid_t file) {
  return open_or_create_group(file, "predictions",
                              "Monte-Carlo predictive distribution per evaluated data set");
}
h5::Group metrics_group(hid_t file) {
  return open_or_create_group(
      file, "metrics",
      "scores of the predictive distribution per data set, and its reliability diagram");
}

h5::Group new_prediction_set(hid_t file, const std::string& set, const std::string& where,
                             const std::string& description, int samples) {
  const h5::Group predictions = predictions_group(file);
  if (h5::exists(predictions, set)) throw RuntimeError(concat(where, ": already written"));
  h5::Group g = h5::create_group(predictions, set);
  h5::describe(g, "", description);
  h5::write_attribute(g, "samples", std::int32_t(samples));
  return g;
}

void write_score_columns(hid_t file, const std::string& path, const std::string& set,
                         const std::vector<ScoreColumn>& columns, std::int64_t first_row,
                         std::int64_t total) {
  check_name(path, "prediction set", set);
  const std::string where = concat(path, ": /predictions/", set, "/ood_scores");
  const h5::Group predictions = predictions_group(file);
  const h5::Group parent = open_or_create_group(predictions, set, concat("data set '", set, "'"));
  if (h5::exists(parent, "ood_scores")) throw RuntimeError(concat(where, ": already written"));
  const h5::Group g = h5::create_group(parent, "ood_scores");
  h5::describe(g, "", "out-of-distribution scores per example, higher = less like the "
                      "training data (uq/ood.hpp)");
  for (const ScoreColumn& column : columns) {
    const std::vector<float>& rows = *column.rows;
    const std::string what = concat(where, "/", column.name);
    if (std::int64_t(rows.size()) > total || first_row < 0)
      throw RuntimeError(concat(what, ": ", rows.size(), " rows from ", first_row,
                                " do not fit in ", total));
    const h5::DataSet d = h5::create_dataset<float>(g, column.name, {hsize_t(total)}, what);
    h5::describe(d, column.units, column.description);
    h5::write_rows(d, rows.data(), hsize_t(first_row), hsize_t(rows.size()), what);
  }
}

void write_separations(hid_t file, const std::string& path, const std::string& in_set,
                       const std::string& out_set, const std::string& description,
                       std::int64_t in_count, std::int64_t out_count,
                       const std::vector<ScoreSeparation>& scores) {
  check_name(path, "OOD set", out_set);
  const std::string where = concat(path, ": /metrics/ood/", out_set);
  const h5::Group metrics = metrics_group(file);
  const h5::Group ood = open_or_create_group(
      metrics, "ood", "out-of-distribution detection: one group per OOD set");
  if (h5::exists(ood, out_set)) throw RuntimeError(concat(where, ": already written"));
  const h5::Group g = h5::create_group(ood, out_set);
  h5::describe(g, "", description);
  h5::write_attribute(g, "in_set", in_set);
  h5::write_attribute(g, "in_count", in_count);
  h5::write_attribute(g, "out_count", out_count);
  for (const ScoreSeparation& score : scores) {
    h5::write_attribute(g, "auroc_" + score.name, score.separation.auroc);
    h5::write_attribute(g, "aupr_out_" + score.name, score.separation.aupr_out);
    h5::write_attribute(g, "aupr_in_" + score.name, score.separation.aupr_in);
  }
}

}  // namespace kbnn::detail
