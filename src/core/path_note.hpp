// What a message about a missing file adds for a relative path: the directory it was
// looked for in. A job script starts kbnn in the directory it was submitted from, and a
// deck's relative paths are read from there, not from the deck's folder: without the
// directory, "data/train.h5: no such data file" sends a user to look beside the deck.
#pragma once

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

}  // namespace kbnn
