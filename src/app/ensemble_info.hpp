// `kbnn info` of an ensemble's run file (output/ensemble_file.hpp): one line per member
// (its seed, group, last history row, test metrics and OOD AUROC) and the split of the
// mixture's epistemic uncertainty. `kbnn train` prints the same lines at an ensemble's end.
#pragma once

#include <hdf5.h>

#include <iosfwd>
#include <string>

namespace kbnn {

// The members of the open ensemble run file `file` (named `path` in messages).
void print_ensemble_members(hid_t file, const std::string& path, std::ostream& out);

// The same, opening `path` itself (one rank).
void print_ensemble_members(const std::string& path, std::ostream& out);

}  // namespace kbnn
