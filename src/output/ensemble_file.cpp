#include "output/ensemble_file.hpp"

#include "core/error.hpp"
#include "h5/attribute.hpp"
#include "h5/error.hpp"
#include "h5/file.hpp"
#include "output/checkpoint_file.hpp"
#include "parallel/agree.hpp"

#include <filesystem>

namespace kbnn {

namespace {

h5::SerialFile open_serial(const std::string& path, unsigned flags) {
  return h5::SerialFile(KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), flags, H5P_DEFAULT), path));
}

}  // namespace

std::string member_checkpoint_group(int member) {
  return concat("members/", member, "/checkpoint");
}

int stored_ensemble_members(const std::string& path, const Communicator& comm) {
  const h5::QuietErrors quiet;
  int members = 1;
  agree_or_throw(comm.get(), [&] {
    std::error_code ec;
    if (!comm.is_root() || !std::filesystem::is_regular_file(path, ec) ||
        H5Fis_hdf5(path.c_str()) <= 0)
      return;
    const h5::SerialFile file = open_serial(path, H5F_ACC_RDONLY);
    if (h5::has_attribute(file, "ensemble_members"))
      members = h5::read_attribute<std::int32_t>(file, "ensemble_members");
  });
  comm.broadcast(&members, 1);
  return members;
}

void write_ensemble_checkpoint(const std::string& path, const Communicator& comm,
                               const std::vector<Checkpoint>& members) {
  const h5::QuietErrors quiet;
  for (const Checkpoint& c : members) detail::check_checkpoint(c, path);
  detail::write_atomically(path, comm, [&](const std::string& tmp) {
    h5::CollectiveFile file = h5::create_collective_file(tmp, comm, "checkpoint file");
    h5::write_attribute(file, "description",
                        "kbnn ensemble checkpoint: each member's training state in "
                        "/members/<k>/checkpoint (as a checkpoint file's /checkpoint)");
#ifdef KBNN_VERSION
    h5::write_attribute(file, "kbnn_version", KBNN_VERSION);
#endif
    h5::write_attribute(file, "ensemble_members", std::int32_t(members.size()));
    {
      const h5::Group all = h5::create_group(file, "members");  // closed before the file
      for (std::size_t k = 0; k < members.size(); ++k) {
        const h5::Group g = h5::create_group(all, std::to_string(k));
        detail::write_checkpoint_group(g, comm.is_root(), members[k],
                                       concat(tmp, ": /members/", k));
      }
    }
    file.close();
  });
}

void copy_member_files(const std::string& ensemble_path, const std::vector<MemberFile>& members) {
  const h5::QuietErrors quiet;
  const h5::SerialFile file = open_serial(ensemble_path, H5F_ACC_RDWR);
  const h5::Group all = h5::create_group(file, "members");
  h5::describe(all, "", "the ensemble's members: /members/<k> is member k's run file "
                        "(root attributes, history, weights, predictions, metrics, checkpoint)");
  for (std::size_t k = 0; k < members.size(); ++k) {
    const MemberFile& m = members[k];
    const std::string name = std::to_string(k);
    {
      const h5::SerialFile source = open_serial(m.path, H5F_ACC_RDONLY);
      KBNN_H5_CHECK_AT(H5Ocopy(source, ".", all, name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                       concat(ensemble_path, ": /members/", name, " from ", m.path));
    }
    const h5::Group g = h5::open_group(all, name);
    h5::write_attribute(g, "member", std::int32_t(k));
    h5::write_attribute(g, "group", std::int32_t(m.group));
    h5::write_attribute(g, "source", m.path);
  }
  h5::write_attribute(file, "status", std::string("finished"));
  KBNN_H5_CHECK_AT(H5Fflush(file, H5F_SCOPE_GLOBAL), ensemble_path);
}

}  // namespace kbnn
