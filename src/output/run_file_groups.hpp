// The run file's groups and the OOD tables, shared by the classification writers
// (output/run_file.cpp) and the regression writers (output/regression_output.cpp).
// Collective, as every RunFile method.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "h5/handle.hpp"
#include "uq/ood.hpp"

namespace kbnn::detail {

// Group and dataset names come from the deck (layer and set names): one path level.
void check_name(const std::string& file, const char* what, const std::string& name);

// Opens parent/name, creating it (with a description) on first use.
h5::Group open_or_create_group(hid_t parent, const std::string& name,
                               const std::string& description);

// The top-level groups of predictions and metrics, created on first use.
h5::Group predictions_group(hid_t file);
h5::Group metrics_group(hid_t file);

// /predictions/<set>, new (an existing one is an error naming `where`), with its
// description and the Monte-Carlo passes it averages as attribute `samples`.
h5::Group new_prediction_set(hid_t file, const std::string& set, const std::string& where,
                             const std::string& description, int samples);

// One per-row OOD score of a set: this rank's rows [first_row, first_row + rows->size()).
struct ScoreColumn {
  std::string name, units, description;
  const std::vector<float>* rows;
};
// /predictions/<set>/ood_scores/<name> of each column, `total` rows.
void write_score_columns(hid_t file, const std::string& path, const std::string& set,
                         const std::vector<ScoreColumn>& columns, std::int64_t first_row,
                         std::int64_t total);

// How one score separates the sets, named.
struct ScoreSeparation {
  std::string name;
  OodSeparation separation;
};
// /metrics/ood/<out_set>: attributes in_set, in_count, out_count, and auroc_<name>,
// aupr_out_<name>, aupr_in_<name> of each score; the group described by `description`.
void write_separations(hid_t file, const std::string& path, const std::string& in_set,
                       const std::string& out_set, const std::string& description,
                       std::int64_t in_count, std::int64_t out_count,
                       const std::vector<ScoreSeparation>& scores);

}  // namespace kbnn::detail
