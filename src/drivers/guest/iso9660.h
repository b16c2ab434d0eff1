// A minimal ISO 9660 image writer for small volumes of a few files in the root directory (the
// NoCloud seed). Two directory trees share the file data: the primary one with upper-case
// names ("META-DATA.;1", which Linux shows as "meta-data" without any extension) and a Joliet
// one with the names as given, which Linux, libblkid and xorriso prefer when there is no
// Rock Ridge. Writing the image in-process replaces a ~100 ms xorriso run per seed.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cvm::drivers::guest {

struct IsoFile {
  std::string name;  // 1-64 characters of [a-z0-9._-]; unique
  std::string data;
};

// The image bytes (a multiple of 2048). `volume_id` is 1-16 characters of [A-Za-z0-9_-];
// `mtime` dates the volume and its files. Fails with InvalidParameterValue on bad names.
Result<std::string> BuildIso9660(std::string_view volume_id, std::vector<IsoFile> files,
                                 std::time_t mtime);

}  // namespace cvm::drivers::guest
