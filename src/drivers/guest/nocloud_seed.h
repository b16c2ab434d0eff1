// cloud-init NoCloud seed: an ISO9660 volume labelled "cidata" with meta-data, user-data and
// network-config, read both by Debian's real cloud-init and by the tiny image's init
// (images/tiny/rootfs/usr/lib/opencvm/{yaml,mime}.awk). Multipass's cloud_init_iso.cpp does the
// same job in-process, and so does this (iso9660.h): no xorriso run per seed.
//
// The rendered documents (see RenderUserData for the exact shape):
//   meta-data       instance-id: "<id>" / local-hostname: "<host>"
//   user-data       #cloud-config with hostname, ssh_authorized_keys, chpasswd (hash), ...;
//                   with the user's own UserData: MIME multipart/mixed, ours first, theirs second
//   network-config  netplan-style version 2 (omitted when no NIC is given: cloud-init's fallback
//                   then DHCPs the first NIC)
// Every string that came from a user is double-quoted with YAML escapes; control characters are
// rejected by ValidateSeedConfig (and dropped by the renderers as a second line of defence).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cvm::drivers::guest {

struct SeedConfig {
  std::string instance_id;  // changing it makes cloud-init run its per-instance modules again
  std::string hostname;
  std::vector<std::string> ssh_authorized_keys;   // one OpenSSH public key line each
  std::optional<std::string> root_password_hash;  // SHA-512 crypt ("$6$..."), see HashPassword
  std::optional<bool> ssh_pwauth;  // SSH password login on/off; unset: on if there is a password
  std::string user_data;           // the user's own UserData (decoded), may be empty, "#!..." or
                                   // "#cloud-config..."
  struct Net {
    std::string mac;           // matched case-insensitively; rendered lower-case
    std::string address_cidr;  // "10.0.0.5/24" (static only)
    std::string gateway;       // "10.0.0.1" (static only, optional)
    std::vector<std::string> dns;
    bool dhcp = false;
  };
  std::vector<Net> nics;  // eth0, eth1, ... in this order
};

// kind::kBug naming the offending field (the caller should have validated it), or OK.
Status ValidateSeedConfig(const SeedConfig& config);

// Validates, renders and writes the seed atomically: the ISO 9660 image (Joliet names) is built
// in memory, written to a temporary file next to iso_path and renamed over it (mode 0600: it
// holds the password hash). Leaves no temporary file behind, also on failure.
Status WriteSeedIso(const SeedConfig& config, const std::filesystem::path& iso_path);

std::string RenderMetaData(const SeedConfig& config);
std::string RenderUserData(const SeedConfig& config);
std::string RenderNetworkConfig(const SeedConfig& config);  // "" when config.nics is empty

// SHA-512 crypt ("$6$<16 random salt chars>$<hash>") via libcrypt's crypt_r.
Result<std::string> HashPassword(std::string_view plain);

// `s` as a YAML double-quoted scalar: \ " \n \t \r escaped, other control characters dropped.
std::string YamlQuote(std::string_view s);

}  // namespace cvm::drivers::guest
