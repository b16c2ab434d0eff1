// The TOML configuration file: whatever the text, LoadConfig answers a Config or an error, and
// an accepted Config has what the daemon relies on (a region, each zone named after its region).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "config/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/cvm-config-fuzz-" + std::to_string(getpid()) + ".toml";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  if (std::fclose(f) != 0) std::abort();
  auto config = cvm::LoadConfig(path);
  if (!config.ok()) {
    CVM_FUZZ_CHECK(!config.status().code().empty());
    return 0;
  }
  CVM_FUZZ_CHECK(!config->regions.empty());
  for (const auto& r : config->regions) {
    for (const auto& z : r.zones) CVM_FUZZ_CHECK(z.zone.rfind(r.region + "-", 0) == 0);
  }
  return 0;
}
