// `kbnn info FILE`: a summary of a run file for a human at a terminal: what ran
// (version, ranks, backend, deck), how training went (the last history row), how good
// and how uncertain the predictions are (/metrics), and what the file holds.
#pragma once

#include <iosfwd>
#include <string>

namespace kbnn {

// Reads `path` (serially: call it on one rank) and prints the summary. With
// `with_deck`, the resolved input deck too. Throws InputError naming the file and
// the missing piece when it is not a kbnn run file.
void print_run_info(const std::string& path, bool with_deck, std::ostream& out);

}  // namespace kbnn
