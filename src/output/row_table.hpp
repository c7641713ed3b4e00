// The history tables in HDF5 (RowField lists, output/history_fields.hpp): one 1-D
// dataset per field, int64 for step and float64 otherwise, each with its units and
// description. The one writer and reader of /history and /history/eval in a run file
// and of their copies in a checkpoint. Tables are created empty and grow as rows are
// appended (collective: every rank calls with the same rows, the writer rank writes).
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "h5/rows.hpp"
#include "output/history_fields.hpp"

namespace kbnn {

// One empty, growing dataset per field in `group`, stored in chunks of `chunk_rows`.
template <class Row, std::size_t N>
void create_row_table(hid_t group, const std::array<RowField<Row>, N>& fields,
                      hsize_t chunk_rows, const std::string& where) {
  for (const RowField<Row>& f : fields) {
    const hid_t type = f.member ? h5::TypeOf<double>::file() : h5::TypeOf<std::int64_t>::file();
    const h5::DataSet d =
        h5::create_growing_rows(group, f.name, type, chunk_rows, concat(where, "/", f.name));
    h5::describe(d, f.units, f.description);
  }
}

// Appends `rows` (the same on every rank; `writer` writes them) to the datasets of
// create_row_table.
template <class Row, std::size_t N>
void append_row_table(hid_t group, const std::array<RowField<Row>, N>& fields,
                      const std::vector<Row>& rows, bool writer, const std::string& where) {
  if (rows.empty()) return;
  for (const RowField<Row>& f : fields) {
    const std::string what = concat(where, "/", f.name);
    const h5::DataSet d = h5::open_dataset(group, f.name, what);
    if (f.member) {
      std::vector<double> column(rows.size());
      for (std::size_t r = 0; r < rows.size(); ++r) column[r] = rows[r].*f.member;
      h5::append_rows(d, column.data(), rows.size(), writer, what);
    } else {
      std::vector<std::int64_t> steps(rows.size());
      for (std::size_t r = 0; r < rows.size(); ++r) steps[r] = rows[r].step;
      h5::append_rows(d, steps.data(), rows.size(), writer, what);
    }
  }
}

// A whole table at once (a checkpoint's copy of the history): all its rows in one chunk.
template <class Row, std::size_t N>
void write_row_table(hid_t group, const std::array<RowField<Row>, N>& fields,
                     const std::vector<Row>& rows, bool writer, const std::string& where) {
  create_row_table(group, fields, std::max<hsize_t>(1, rows.size()), where);
  append_row_table(group, fields, rows, writer, where);
}

// What read_row_table does with fields of different lengths: refuse them, or keep the
// rows every field has (a table that a running run is appending to, field after field,
// read by kbnn info meanwhile).
enum class RaggedRows { refuse, common };

namespace detail {
// The first field read sets the table's length; every other must match it, or with
// RaggedRows::common the table keeps the shorter length.
template <class Row>
void fit_rows(std::vector<Row>& rows, std::size_t length, bool first, const std::string& what,
              RaggedRows ragged) {
  if (first) rows.resize(length);
  if (ragged == RaggedRows::common && length < rows.size()) rows.resize(length);
  if (ragged == RaggedRows::refuse && length != rows.size())
    throw InputError(concat(what, ": ", length, " rows, other fields ", rows.size()));
}
}  // namespace detail

// The rows of `group`'s field datasets; InputError if one is missing or (unless
// `ragged` says otherwise) the lengths differ. Not collective.
template <class Row, std::size_t N>
std::vector<Row> read_row_table(hid_t group, const std::array<RowField<Row>, N>& fields,
                                const std::string& where,
                                RaggedRows ragged = RaggedRows::refuse) {
  std::vector<Row> rows;
  for (std::size_t i = 0; i < N; ++i) {
    const RowField<Row>& f = fields[i];
    const std::string what = concat(where, "/", f.name);
    if (!h5::exists(group, f.name)) throw InputError(concat(what, ": dataset missing"));
    if (f.member) {
      const auto column = h5::read_column<double>(group, f.name, what);
      detail::fit_rows(rows, column.size(), i == 0, what, ragged);
      for (std::size_t r = 0; r < rows.size(); ++r) rows[r].*f.member = column[r];
    } else {
      const auto steps = h5::read_column<std::int64_t>(group, f.name, what);
      detail::fit_rows(rows, steps.size(), i == 0, what, ragged);
      for (std::size_t r = 0; r < rows.size(); ++r) rows[r].step = steps[r];
    }
  }
  return rows;
}

}  // namespace kbnn
