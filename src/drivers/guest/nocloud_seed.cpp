#include "drivers/guest/nocloud_seed.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "common/error_codes.h"
#include "drivers/guest/iso9660.h"

namespace cvm::drivers::guest {
namespace {

namespace fs = std::filesystem;

Status Bad(std::string msg) { return Status(kind::kBug, std::move(msg)); }
Status Internal(std::string msg) { return Status(kind::kExternal, std::move(msg)); }

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool IsAscii7(std::string_view s) {
  size_t line = 0;
  for (unsigned char c : s) {
    if (c >= 0x80 || c == 0 || c == '\r') return false;
    line = c == '\n' ? 0 : line + 1;
    if (line > 998) return false;  // RFC 5322 line limit for 7bit
  }
  return true;
}

bool IsIpv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool IsIpv4Cidr(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash + 1 >= s.size() || s.size() - slash > 3) return false;
  if (!IsIpv4(s.substr(0, slash))) return false;
  std::string p = s.substr(slash + 1);
  if (p.find_first_not_of("0123456789") != std::string::npos) return false;
  int prefix = std::stoi(p);
  return prefix >= 0 && prefix <= 32;
}

bool IsMac(const std::string& s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i % 3 == 2 ? s[i] != ':' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Base64Lines(std::string_view data) {
  std::string out;
  for (size_t off = 0; off < data.size(); off += 57) {  // 57 bytes -> 76 chars per line
    size_t n = std::min<size_t>(57, data.size() - off);
    unsigned char buf[80];
    int len = EVP_EncodeBlock(buf, reinterpret_cast<const unsigned char*>(data.data() + off),
                              static_cast<int>(n));
    out.append(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
    out += '\n';
  }
  return out;
}

// One MIME part. 7bit when the text allows it (readable, what the tiny image's init expects);
// base64 otherwise, because Python's email module mangles non-ASCII 8bit bodies.
std::string MimePart(std::string_view content_type, std::string_view filename,
                     std::string_view body) {
  const bool plain = IsAscii7(body);
  std::string out = fmt::format(
      "Content-Type: {}; charset=\"utf-8\"\n"
      "MIME-Version: 1.0\n"
      "Content-Transfer-Encoding: {}\n"
      "Content-Disposition: attachment; filename=\"{}\"\n\n",
      content_type, plain ? "7bit" : "base64", filename);
  if (plain) {
    // The line break before the next boundary belongs to the boundary (RFC 2046), so the body
    // comes back byte for byte, trailing newline or not.
    out += body;
    out += '\n';
  } else {
    out += Base64Lines(body);
  }
  return out;
}

std::string OurCloudConfig(const SeedConfig& c) {
  std::string y = "#cloud-config\n";
  y += "hostname: " + YamlQuote(c.hostname) + "\n";
  y += "manage_etc_hosts: true\n";  // so the new hostname resolves (sudo, mail, ...)
  y += "disable_root: false\n";     // Tencent images log in as root with the instance's keys
  if (!c.ssh_authorized_keys.empty()) {
    y += "ssh_authorized_keys:\n";
    for (const auto& k : c.ssh_authorized_keys) y += "  - " + YamlQuote(k) + "\n";
  }
  if (c.ssh_pwauth.value_or(c.root_password_hash.has_value())) {
    y += "ssh_pwauth: true\n";
  } else if (c.ssh_pwauth) {
    y += "ssh_pwauth: false\n";
  }
  if (c.root_password_hash) {
    y += "chpasswd:\n";
    y += "  expire: false\n";
    y += "  users:\n";
    y += "    - name: root\n";
    y += "      password: " + YamlQuote(*c.root_password_hash) + "\n";
    y += "      type: hash\n";
  }
  return y;
}

}  // namespace

std::string YamlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
    }
  }
  out += '"';
  return out;
}

Status ValidateSeedConfig(const SeedConfig& c) {
  if (c.instance_id.empty() || c.instance_id.size() > 128 ||
      c.instance_id.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
          "._-") != std::string::npos) {
    return Bad(fmt::format("seed: bad instance id '{}'", c.instance_id));
  }
  const std::string& h = c.hostname;
  if (h.empty() || h.size() > 253 ||
      h.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
          std::string::npos ||
      h.front() == '.' || h.front() == '-' || h.back() == '.' || h.back() == '-' ||
      h.find("..") != std::string::npos) {
    return Bad("seed: hostname must be letters, digits, '-' and '.' (not first or last)");
  }
  for (const auto& k : c.ssh_authorized_keys) {
    if (k.empty() || k.size() > 16384 || HasControlChar(k)) {
      return Bad("seed: an SSH public key is empty, too long or contains control characters");
    }
  }
  if (c.root_password_hash) {
    const std::string& p = *c.root_password_hash;
    if (p.size() < 4 || p.size() > 512 || p[0] != '$' || HasControlChar(p) ||
        p.find(' ') != std::string::npos) {
      return Bad("seed: root password hash is not a crypt(3) string");
    }
  }
  if (c.user_data.size() > (1 << 20)) return Bad("seed: user data larger than 1 MiB");
  for (size_t i = 0; i < c.nics.size(); ++i) {
    const auto& n = c.nics[i];
    if (!IsMac(n.mac)) return Bad(fmt::format("seed: nic {}: bad MAC '{}'", i, n.mac));
    if (!n.dhcp) {
      if (!IsIpv4Cidr(n.address_cidr)) {
        return Bad(fmt::format("seed: nic {}: bad address '{}'", i, n.address_cidr));
      }
      if (!n.gateway.empty() && !IsIpv4(n.gateway)) {
        return Bad(fmt::format("seed: nic {}: bad gateway '{}'", i, n.gateway));
      }
    }
    for (const auto& d : n.dns) {
      if (!IsIpv4(d)) return Bad(fmt::format("seed: nic {}: bad DNS server '{}'", i, d));
    }
  }
  return Status::Ok();
}

std::string RenderMetaData(const SeedConfig& c) {
  return "instance-id: " + YamlQuote(c.instance_id) + "\nlocal-hostname: " + YamlQuote(c.hostname) +
         "\n";
}

std::string RenderUserData(const SeedConfig& c) {
  std::string ours = OurCloudConfig(c);
  if (c.user_data.empty()) return ours;

  std::string_view ud = c.user_data;
  std::string_view type = "text/x-shellscript";
  if (ud.rfind("#cloud-config", 0) == 0) type = "text/cloud-config";
  // The boundary must not occur in any part.
  std::string boundary = "==OPENCVM-BOUNDARY==";
  for (int i = 1; ud.find(boundary) != std::string_view::npos; ++i) {
    boundary = fmt::format("==OPENCVM-BOUNDARY-{}==", i);
  }
  // cloud-init treats the document as MIME when "mime-version:" is in its first 4 KiB.
  std::string out = fmt::format(
      "Content-Type: multipart/mixed; boundary=\"{}\"\n"
      "MIME-Version: 1.0\n\n",
      boundary);
  out += "--" + boundary + "\n";
  out += MimePart("text/cloud-config", "opencvm.cfg", ours);
  out += "--" + boundary + "\n";
  out += MimePart(type, type == "text/cloud-config" ? "user-data.cfg" : "user-data.sh", ud);
  out += "--" + boundary + "--\n";
  return out;
}

std::string RenderNetworkConfig(const SeedConfig& c) {
  if (c.nics.empty()) return {};
  std::string y = "version: 2\nethernets:\n";
  for (size_t i = 0; i < c.nics.size(); ++i) {
    const auto& n = c.nics[i];
    const std::string name = fmt::format("eth{}", i);
    y += "  " + name + ":\n";
    y += "    match:\n";
    y += "      macaddress: " + YamlQuote(Lower(n.mac)) + "\n";
    y += "    set-name: " + name + "\n";
    if (n.dhcp) {
      y += "    dhcp4: true\n";
    } else {
      y += "    addresses:\n";
      y += "      - " + YamlQuote(n.address_cidr) + "\n";
      if (!n.gateway.empty()) y += "    gateway4: " + YamlQuote(n.gateway) + "\n";
    }
    if (!n.dns.empty()) {
      y += "    nameservers:\n";
      y += "      addresses:\n";
      for (const auto& d : n.dns) y += "        - " + YamlQuote(d) + "\n";
    }
  }
  return y;
}

Result<std::string> HashPassword(std::string_view plain) {
  if (plain.find('\0') != std::string_view::npos) return Bad("password contains a NUL byte");
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // NULL random bytes: libxcrypt draws the salt from the OS (getrandom).
  if (!crypt_gensalt_rn("$6$", 0, nullptr, 0, salt, sizeof salt)) {
    return Internal(fmt::format("crypt_gensalt: {}", std::strerror(errno)));
  }
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on the stack
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(plain);
  const char* h = crypt_r(pw.c_str(), salt, data.get());
  if (!h || std::strncmp(h, "$6$", 3) != 0) return Internal("crypt_r failed to hash the password");
  return std::string(h);
}

Status WriteSeedIso(const SeedConfig& c, const fs::path& iso_path) {
  CVM_RETURN_IF_ERROR(ValidateSeedConfig(c));
  std::vector<IsoFile> files = {{"meta-data", RenderMetaData(c)}, {"user-data", RenderUserData(c)}};
  if (std::string network = RenderNetworkConfig(c); !network.empty()) {
    files.push_back({"network-config", std::move(network)});
  }
  auto image = BuildIso9660("cidata", std::move(files), std::time(nullptr));
  if (!image.ok()) return image.status();

  const fs::path dir = fs::absolute(iso_path).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal(fmt::format("create {}: {}", dir.string(), ec.message()));
  // Same directory as the target, so the final rename is atomic; mode 0600 from the start
  // (the user-data holds the password hash).
  std::string tmp = (dir / ".seed-XXXXXX").string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Internal(fmt::format("mkstemp in {}: {}", dir.string(), std::strerror(errno)));
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t off = 0; ok && off < image->size();) {
    ssize_t n = ::write(fd, image->data() + off, image->size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += static_cast<size_t>(n);
  }
  ok = ::close(fd) == 0 && ok;
  if (ok) fs::rename(tmp, iso_path, ec);
  if (!ok || ec) {
    std::string why = ec ? ec.message() : std::strerror(errno);
    fs::remove(tmp, ec);
    return Internal(fmt::format("writing {} failed: {}", iso_path.string(), why));
  }
  return Status::Ok();
}

}  // namespace cvm::drivers::guest
