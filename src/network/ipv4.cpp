#include "network/ipv4.h"

#include <arpa/inet.h>

#include <charconv>

namespace cvm::network {

namespace {
std::optional<int> ParseDecimal(std::string_view s, int max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}
}  // namespace

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  uint32_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return std::nullopt;
    auto octet = ParseDecimal(text.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    addr = addr << 8 | static_cast<uint32_t>(*octet);
    text.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  if (!text.empty()) return std::nullopt;
  return addr;
}

std::string FormatIpv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string Cidr::ToString() const { return FormatIpv4(base) + "/" + std::to_string(prefix); }

std::optional<Cidr> ParseCidr(std::string_view text, bool strict) {
  size_t slash = text.find('/');
  auto addr = ParseIpv4(text.substr(0, slash));
  if (!addr) return std::nullopt;
  int prefix = 32;
  if (slash != std::string_view::npos) {
    auto p = ParseDecimal(text.substr(slash + 1), 32);
    if (!p) return std::nullopt;
    prefix = *p;
  }
  Cidr c{.base = 0, .prefix = prefix};
  c.base = *addr & c.Mask();
  if (strict && c.base != *addr) return std::nullopt;
  return c;
}

uint32_t GatewayOf(const Cidr& subnet) { return subnet.base + 1; }

bool IsReservedInSubnet(const Cidr& subnet, uint32_t addr) {
  return addr == subnet.base || addr == GatewayOf(subnet) || addr == subnet.Last();
}

uint64_t UsableAddressCount(const Cidr& subnet) {
  return subnet.Size() > 3 ? subnet.Size() - 3 : 0;
}

bool IsAllowedVpcRange(const Cidr& c) {
  if (c.prefix > 28) return false;
  const Cidr ten{.base = 10u << 24, .prefix = 8};
  const Cidr one72{.base = (172u << 24) | (16u << 16), .prefix = 12};
  const Cidr one92{.base = (192u << 24) | (168u << 16), .prefix = 16};
  if (ten.Contains(c) || one72.Contains(c)) return c.prefix >= 12;
  return one92.Contains(c);
}

bool IsValidIpv6Cidr(std::string_view text) {
  size_t slash = text.find('/');
  std::string addr(text.substr(0, slash));
  in6_addr out{};
  if (inet_pton(AF_INET6, addr.c_str(), &out) != 1) return false;
  if (slash == std::string_view::npos) return true;
  auto rest = text.substr(slash + 1);
  int p = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), p);
  return ec == std::errc() && ptr == rest.data() + rest.size() && !rest.empty() && p >= 0 &&
         p <= 128;
}

}  // namespace cvm::network
