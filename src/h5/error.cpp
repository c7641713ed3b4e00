#include "h5/error.hpp"

#include "core/error.hpp"

#include <cstring>

namespace kbnn::h5 {

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

std::string error_stack_reason() {
  std::string reason;
  auto keep_last = [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
    if (e->desc) *static_cast<std::string*>(out) = concat(e->func_name, "(): ", e->desc);
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_last, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason;
}

void throw_failed_call(const char* call, const char* file, int line, const std::string& what) {
  // Paths from the build are absolute; from src/ on is enough to find the line.
  const char* src = std::strstr(file, "/src/");
  const std::string reason = error_stack_reason();
  throw RuntimeError(concat("HDF5: ", what.empty() ? "" : what + ": ", call, " failed at ",
                            src ? src + 1 : file, ":", line,
                            reason.empty() ? "" : " (" + reason + ")"));
}

}  // namespace kbnn::h5
