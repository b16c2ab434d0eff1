// Image files from outside (ImportImage) are untrusted data: they are inspected with qemu-img
// under resource limits and refused unless they are one self-contained disk image of a known
// format and a sane size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace cvm::drivers::qemu {

struct ImageFileInfo {
  std::string format;        // qcow2, raw, vmdk, vpc, vhdx
  int64_t virtual_size = 0;  // bytes
};

// `qemu-img <args>` under prlimit (address space, CPU time, no core dumps): a hostile header
// cannot make it eat the host.
std::vector<std::string> LimitedQemuImg(std::vector<std::string> args);

// Checks an untrusted file. Refused (InvalidParameterValue.InvalidImageFormat): not a regular
// file, an unknown format, a backing file or an external data file (never followed), vmdk extents
// in other files, a raw file without a boot sector signature (any file is "raw"), a corrupt or
// truncated image. Refused (InvalidImageId.TooLarge): a virtual size over `max_virtual_bytes`.
Result<ImageFileInfo> InspectUntrustedImage(const std::filesystem::path& file,
                                            int64_t max_virtual_bytes);

}  // namespace cvm::drivers::qemu
