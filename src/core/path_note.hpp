// What a message about a missing file adds for a relative path: the directory it was
// looked for in. A job script starts kbnn in the directory it was submitted from, and a
// deck's relative paths are read from there, not from the deck's folder: without the
// directory, "data/train.h5: no such data file" sends a user to look beside the deck.
#pragma once

#include "core/error.hpp"

#include <filesystem>
#include <string>
#include <system_error>

namespace kbnn {

// "; a relative path, read from the working directory /home/u/proj" for a relative
// path, "" for an absolute (or empty) one.
inline std::string relative_path_note(const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return "";
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) return "";
  return "; a relative path, read from the working directory " + cwd.string();
}

// Returns when `path` is a regular file (or a link to one); otherwise an InputError that
// says what is there: "<path>: is a directory, expected <expected>", or "<path>: <missing>"
// with relative_path_note's directory. Every input file's first check (data, checkpoint,
// run file for info).
inline void require_regular_file(const std::string& path, const std::string& expected,
                                 const std::string& missing) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(concat(path, ": is a directory, expected ", expected));
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(concat(path, ": ", missing, relative_path_note(path)));
}

}  // namespace kbnn
