#include "h5/error.hpp"

#include "core/error.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace kbnn::h5 {

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

namespace {

// "truncated file: eof = 200000, sblock->base_addr = 0, stored_eof = 370048": the bytes
// there are and those the superblock records, in words, or "" for another reason.
std::string truncation_advice(const std::string& reason) {
  long long eof = 0, stored = 0;
  const std::size_t at = reason.find("truncated file: eof = ");
  if (at == std::string::npos ||
      std::sscanf(reason.c_str() + at, "truncated file: eof = %lld, sblock->base_addr = %*d, "
                                      "stored_eof = %lld", &eof, &stored) != 2)
    return "";
  return concat("; the file has ", eof, " of the ", stored, " bytes its HDF5 header records: it "
                "was cut short (a copy or transfer that did not finish, a full disk): copy or "
                "write it again");
}

}  // namespace

std::string error_stack_reason() {
  std::string reason;
  auto keep_last = [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
    if (e->desc) *static_cast<std::string*>(out) = concat(e->func_name, "(): ", e->desc);
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_last, &reason);
  H5Eclear2(H5E_DEFAULT);
  // HDF5 locks every file it opens (1.10+): "errno = 11" when another program (h5py,
  // HDFView, a job still writing) has it open for writing, "errno = 38" on a parallel
  // file system without flock. The stack says neither what to do.
  if (reason.find("unable to lock file") != std::string::npos)
    reason += "; another program has the file open for writing (close it), or this file "
              "system does not support file locks (then export HDF5_USE_FILE_LOCKING=FALSE)";
  return reason + truncation_advice(reason);
}

namespace {

// HDF5's MPI-IO driver does not pass the system's errno on, so a write that failed for
// lack of space says only "file write failed". Asked after a failure: is one of the
// files HDF5 has open on a file system with (next to) no room left?
std::string full_file_system() {
  const ssize_t count = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  if (count <= 0) return "";
  std::vector<hid_t> ids(std::size_t(count), -1);
  H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE, std::size_t(count), ids.data());
  for (const hid_t id : ids) {
    char name[4096] = {};
    if (H5Fget_name(id, name, sizeof name) <= 0) continue;
    const std::string dir = std::filesystem::path(name).parent_path().string();
    struct statvfs fs {};
    if (statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) continue;
    if (double(fs.f_bavail) * double(fs.f_frsize) < 64 * 1024) return std::strerror(ENOSPC);
  }
  return "";
}

}  // namespace

void throw_failed_call(const char* call, const char* file, int line, const std::string& what) {
  // Read the error stack first: every HDF5 call, full_file_system's too, clears it.
  const std::string reason = error_stack_reason();
  const std::string system = full_file_system();
  // Paths from the build are absolute; from src/ on is enough to find the line.
  const char* src = std::strstr(file, "/src/");
  throw RuntimeError(concat("HDF5: ", what.empty() ? "" : what + ": ",
                            system.empty() ? "" : system + ": ", call, " failed at ",
                            src ? src + 1 : file, ":", line,
                            reason.empty() ? "" : " (" + reason + ")"));
}

void close_open_files() {
  const QuietErrors quiet;
  const ssize_t count = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  if (count <= 0) return;
  std::vector<hid_t> ids(std::size_t(count), -1);
  H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE, std::size_t(count), ids.data());
  for (const hid_t id : ids) H5Fclose(id);
}

}  // namespace kbnn::h5
