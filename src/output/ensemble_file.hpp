// An ensemble's files (docs/output.md, "Ensembles"). Members train concurrently in their
// rank groups and never share a file while they do: member k writes a run file and
// checkpoints of its own, <output.dir>/<run>.members/member_<k>[.checkpoint].h5, as a
// single model would. When every member is done, the ensemble's run file <run>.h5 gets
// the mixture's predictions and metrics (RunFile, collectively), and then rank 0 copies
// each member's whole run file into it (H5Ocopy) as /members/<k>:
//   /                    the ensemble's deck (parallel.ensemble = K), ensemble_members,
//                        ensemble_groups, and the usual root attributes; status
//                        "finished" once the members are in (a run file's status)
//   /predictions/<set>/  the mixture over members x samples, with epistemic_within and
//                        epistemic_between beside epistemic (uq/ensemble.hpp)
//   /metrics/<set>       the mixture's metrics, ensemble_members, mean_epistemic_within
//                        and mean_epistemic_between
//   /members/<k>/        member k's run file: its root attributes (deck with its seed,
//                        ranks of its group), history, weights, predictions, metrics and
//                        checkpoint; attributes member, group, source
#pragma once

#include "parallel/communicator.hpp"
#include "train/checkpoint.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kbnn {

// Where member k's checkpoint sits in an ensemble run file, for read_checkpoint.
std::string member_checkpoint_group(int member);

// Collective: the root attribute ensemble_members of a run file or checkpoint, read by
// rank 0; 1 if it has none (a single model's file), or is no HDF5 file at all (the
// reader that follows says what is wrong with it).
int stored_ensemble_members(const std::string& path, const Communicator& comm);

// Collective: the members' checkpoints as one file that kbnn predict, prune and info
// read as an ensemble (a pruned ensemble): root attribute ensemble_members and
// /members/<k>/checkpoint. Written atomically (a .tmp file renamed), as write_checkpoint.
void write_ensemble_checkpoint(const std::string& path, const Communicator& comm,
                               const std::vector<Checkpoint>& members);

// One member's run file, as it goes into the ensemble's.
struct MemberFile {
  std::string path;
  int group = 0;  // the rank group that trained it
};

// Not collective: one rank (rank 0) copies every member's run file into `ensemble_path`,
// which must be closed everywhere, as /members/<k> (k the position in `members`); then
// writes the root attribute status = "finished": the ensemble's file is whole.
void copy_member_files(const std::string& ensemble_path, const std::vector<MemberFile>& members);

}  // namespace kbnn
