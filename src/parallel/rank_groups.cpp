#include "parallel/rank_groups.hpp"

#include "core/error.hpp"

namespace kbnn {

int group_of_rank(int rank, int ranks, int groups) {
  for (int g = 0; g < groups; ++g)
    if (rank < shard(ranks, g, groups).second) return g;
  throw RuntimeError(concat("group_of_rank: rank ", rank, " is not one of ", ranks));
}

std::vector<int> members_of_group(int group, int groups, int members) {
  std::vector<int> mine;
  for (int k = group; k < members; k += groups) mine.push_back(k);
  return mine;
}

RankGroups::RankGroups(const Communicator& comm, int groups) : groups_(groups) {
  if (groups < 1 || groups > comm.size())
    throw RuntimeError(concat("RankGroups: ", groups, " groups of ", comm.size(), " ranks"));
  group_ = group_of_rank(comm.rank(), comm.size(), groups);
  // Key: the rank, so a group's ranks keep their order.
  KBNN_MPI_CHECK(MPI_Comm_split(comm.get(), group_, comm.rank(), &comm_));
}

RankGroups::~RankGroups() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

}  // namespace kbnn
