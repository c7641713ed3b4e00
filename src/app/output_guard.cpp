#include "app/output_guard.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "parallel/agree.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

namespace kbnn {

void refuse_to_replace(const std::string& command, const std::string& what,
                       const std::string& path, const std::string& model,
                       std::initializer_list<FileKind> replaceable) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  if (std::filesystem::equivalent(path, model, ec))
    throw InputError(concat(command, ": ", what, " is the model it reads (", model,
                            "), which it would replace: pick another --output"));
  const std::optional<FileKind> kind = file_kind(path);
  if (kind && std::find(replaceable.begin(), replaceable.end(), *kind) != replaceable.end())
    return;
  throw InputError(concat(command, ": ", what, " holds ",
                          kind ? concat("the ", kind_text(*kind))
                               : std::string("a file that kbnn did not write"),
                          ", which it would replace: pick another --output (kbnn ", command,
                          " replaces only a file of its own kind)"));
}

void create_output_parent(const std::string& command, const std::string& output,
                          const Communicator& comm) {
  agree_or_throw(comm.get(), [&] {
    if (!comm.is_root()) return;
    const std::filesystem::path dir = std::filesystem::path(output).parent_path();
    std::error_code ec;
    if (dir.empty() || std::filesystem::is_directory(dir, ec)) return;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw InputError(concat(command, ": --output ", output, ": cannot create the directory ",
                              dir.string(), ": ", ec.message()));
  });
}

}  // namespace kbnn
