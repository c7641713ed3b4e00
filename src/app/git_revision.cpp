#include "app/git_revision.hpp"

#include "kbnn_revision.hpp"  // generated at build time

namespace kbnn {

const char* git_revision() { return KBNN_GIT_REVISION; }

}  // namespace kbnn
