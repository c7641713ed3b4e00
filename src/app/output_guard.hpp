// Where `kbnn predict` and `kbnn prune` write: --output, which may name any file. They
// must not lose what no command could bring back, the model they read or a file of
// another kind (a run, a checkpoint, an ensemble, a data set), as `kbnn train` refuses
// to replace a finished run; a file of their own kind (an earlier prediction, pruning
// file or pruned checkpoint) they replace.
#pragma once

#include "app/file_kind.hpp"
#include "parallel/communicator.hpp"

#include <initializer_list>
#include <string>

namespace kbnn {

// Throws InputError unless `path` (`what` in the message: "--output FILE") is free to
// write: no file yet, or a file of a `replaceable` kind that is not `model` itself
// (compared as files: another path to it, a link, counts). `command` ("predict") starts
// the message, which names the file and says to pick another --output. Reads serially:
// call it on one rank.
void refuse_to_replace(const std::string& command, const std::string& what,
                       const std::string& path, const std::string& model,
                       std::initializer_list<FileKind> replaceable);

// Creates the directory that `output` (--output) goes into, if need be, on rank 0 before
// any work, and agrees on it (collective): a path that cannot hold the file (a missing
// parent that cannot be made, a file in the way) fails at once, naming the directory,
// instead of after the Monte-Carlo passes on the rank that writes.
void create_output_parent(const std::string& command, const std::string& output,
                          const Communicator& comm);

}  // namespace kbnn
