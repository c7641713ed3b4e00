#include "app/run_lock.hpp"

#include "core/error.hpp"
#include "parallel/agree.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

namespace kbnn {

namespace {

// What the holder wrote into the lock file: "host pid".
std::string holder_of(const std::string& path) {
  std::ifstream in(path);
  std::string host, pid;
  if (!(in >> host >> pid)) return "";
  return concat(" (pid ", pid, " on ", host, ")");
}

void write_holder(int fd) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string text = concat(host[0] ? host : "?", " ", getpid(), "\n");
  if (ftruncate(fd, 0) == 0) (void)!write(fd, text.data(), text.size());
}

}  // namespace

RunLock::RunLock(const std::string& path, const std::string& run_file, const Communicator& comm)
    : path_(path) {
  agree_or_throw(comm.get(), [&] {
    if (!comm.is_root()) return;
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;  // the run file's own creation will say what is wrong with the folder
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      fd_ = fd;
      write_holder(fd_);
      return;
    }
    const int error = errno;
    close(fd);
    if (error != EWOULDBLOCK) return;  // no locks on this file system: unguarded
    throw InputError(concat(run_file, " is being written by another kbnn run right now",
                            holder_of(path), ", which holds ", path,
                            ": two runs on one run name would resume from the same checkpoint "
                            "and write the same files; let that one end (or cancel it), or give "
                            "this run another output.name or output.dir"));
  });
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  std::remove(path_.c_str());  // no file left behind in output.dir
  close(fd_);
}

}  // namespace kbnn
