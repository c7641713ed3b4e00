// One writer per run: a run holds an advisory lock on <output.dir>/<run name>.lock while
// it writes its run file and checkpoint, so that a second job on the same run name (a
// script submitted twice, a requeue while the first still runs) is refused instead of
// resuming from the first one's checkpoint and writing the same files at the same time.
// flock(2) is released by the kernel when the process dies, so a killed run leaves no
// stale lock; on a file system without flock (some Lustre mounts) the run goes on
// unguarded, as before.
#pragma once

#include "parallel/communicator.hpp"

#include <string>

namespace kbnn {

class RunLock {
 public:
  // Rank 0 takes the lock on `path` (its directory must exist), in an agreement:
  // InputError on every rank, naming the run file and the holder, when another process
  // holds it.
  RunLock(const std::string& path, const std::string& run_file, const Communicator& comm);
  ~RunLock();  // releases the lock and removes the file (rank 0)
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;  // rank 0's, while it holds the lock
};

}  // namespace kbnn
