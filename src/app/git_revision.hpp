// The git revision kbnn was built from, as every output file and log records it:
// the checkout's short hash at build time, "-dirty" with uncommitted changes to tracked
// files, "unknown" outside a git checkout (cmake/KbnnRevision.cmake).
#pragma once

namespace kbnn {

const char* git_revision();

}  // namespace kbnn
