#include "common/time_format.h"

#include <chrono>
#include <ctime>

namespace cvm {
namespace {

std::string Format(int64_t unix_seconds, const char* fmt) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

}  // namespace

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatIsoTime(int64_t s) { return Format(s, "%Y-%m-%dT%H:%M:%SZ"); }
std::string FormatDateTime(int64_t s) { return Format(s, "%Y-%m-%d %H:%M:%S"); }
std::string FormatDate(int64_t s) { return Format(s, "%Y-%m-%d"); }

}  // namespace cvm
