// Rank groups for an ensemble (docs/design.md, "Ensembles"): the ranks of a communicator
// split into G contiguous groups, ranks shard(ranks, g, G) in group g (sizes differ by
// at most 1), each with a communicator of its own, so that the members a group trains
// need no message outside it. Member k belongs to group k % G, which trains its
// members one after another in the order k = g, g + G, g + 2G, ...
#pragma once

#include "parallel/communicator.hpp"

#include <mpi.h>

#include <algorithm>
#include <vector>

namespace kbnn {

// How many groups `members` members get on `ranks` ranks: `asked` if > 0 (the deck's
// parallel.ensemble_groups), else one per member as far as the ranks go.
inline int group_count(int members, int asked, int ranks) {
  return asked > 0 ? asked : std::max(1, std::min(members, ranks));
}

// The group that rank r of `ranks` falls in, of `groups` contiguous groups.
int group_of_rank(int rank, int ranks, int groups);

// The members group g trains, in the order it trains them.
std::vector<int> members_of_group(int group, int groups, int members);

// An MPI_Comm_split of `comm` into `groups` contiguous groups; owns the new
// communicator (freed on destruction). Collective over comm.
class RankGroups {
 public:
  RankGroups(const Communicator& comm, int groups);
  ~RankGroups();
  RankGroups(const RankGroups&) = delete;
  RankGroups& operator=(const RankGroups&) = delete;

  int groups() const { return groups_; }
  int group() const { return group_; }
  // This rank's group, for a Communicator (which duplicates it).
  MPI_Comm comm() const { return comm_; }

 private:
  int groups_ = 1, group_ = 0;
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace kbnn
