// Wall-clock helpers and the two time formats used on the wire.
#pragma once

#include <cstdint>
#include <string>

namespace cvm {

int64_t NowUnix();
// "2026-11-26T18:44:06Z" (CVM's datetime_iso).
std::string FormatIsoTime(int64_t unix_seconds);
// "2026-11-26 18:44:06" (CBS / CAM datetime).
std::string FormatDateTime(int64_t unix_seconds);
// "2026-11-26" (the date in a TC3 credential scope).
std::string FormatDate(int64_t unix_seconds);

}  // namespace cvm
