#include "common/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>

namespace cvm {
namespace {

// RequestIds and resource ids need uniqueness, not secrecy: a per-thread PRNG seeded from the
// OS keeps them off the hot path's syscalls.
std::mt19937_64& ThreadRng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  return rng;
}

constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace

std::string NewResourceId(std::string_view prefix) {
  std::string id(prefix);
  id.push_back('-');
  auto& rng = ThreadRng();
  for (int i = 0; i < 8; ++i) id.push_back(kLowerAlnum[rng() % kLowerAlnum.size()]);
  return id;
}

bool IsWellFormedId(std::string_view prefix, std::string_view id) {
  if (id.size() != prefix.size() + 9 || id.substr(0, prefix.size()) != prefix ||
      id[prefix.size()] != '-') {
    return false;
  }
  for (char c : id.substr(prefix.size() + 1)) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string NewUuid() {
  auto& rng = ThreadRng();
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(v >> (i * 4)) & 0xF];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

std::string RandomAlnum(size_t length) {
  static constexpr std::string_view kAlnum =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(length);
  while (out.size() < length) {
    std::array<unsigned char, 64> buf{};
    if (RAND_bytes(buf.data(), buf.size()) != 1) throw std::runtime_error("RAND_bytes failed");
    for (unsigned char b : buf) {
      // Rejection sampling keeps the distribution uniform over 62 symbols.
      if (b < 248 && out.size() < length) out.push_back(kAlnum[b % 62]);
    }
  }
  return out;
}

}  // namespace cvm
