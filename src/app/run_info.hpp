// `kbnn info FILE`: a summary of any file kbnn writes, for a human at a terminal: which
// kind it is (a finished, stopped or unfinished run; a checkpoint, pruned or not; a
// pruning file; a prediction file), what wrote it, the model, and what the file holds:
// the history's last rows and evaluation, test and OOD metrics, the pruning table,
// and where training can resume.
#pragma once

#include <string>

namespace kbnn {

// Reads `path` (serially: call it on one rank) and returns the summary; with
// `with_deck`, the resolved input deck too. Throws InputError naming the file when it
// is not an HDF5 file kbnn wrote.
std::string file_info(const std::string& path, bool with_deck);

}  // namespace kbnn
