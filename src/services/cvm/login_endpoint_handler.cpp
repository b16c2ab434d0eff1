// OpenCVM extension actions for the `cvm` CLI, absent from the Tencent schema (so these handlers
// validate every parameter themselves):
//   DescribeInstanceLoginEndpoint {InstanceId} -> {InstanceId, Host, Port, User}: where SSH of a
//     running instance answers. Interim networking forwards the guest's port 22 to a loopback
//     port (instances.ssh_port) that no Tencent field can carry.
//   GetInstanceConsoleOutput {InstanceId, Offset?, Limit?} -> {InstanceId, Output, Offset}: the
//     serial console log, for a CLI that may not share cvmd's file system.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/error_codes.h"
#include "common/ids.h"
#include "services/cvm/instance_rules.h"
#include "services/extension_params.h"
#include "services/service_deps.h"
#include "store/image_records.h"
#include "store/instance_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kService = "cvm";
constexpr const char* kVersion = "2017-03-12";
constexpr int64_t kDefaultConsoleBytes = 64 * 1024;
constexpr int64_t kMaxConsoleBytes = 1024 * 1024;

// The caller's instance named by InstanceId; another account's instance is reported as missing.
Result<store::InstanceRecord> OwnedInstance(store::Database& db, const api::RequestContext& ctx,
                                            const json& p) {
  auto it = p.find("InstanceId");
  if (it == p.end()) return Status(err::kMissingParameter, "InstanceId is missing.");
  if (!it->is_string()) {
    return Status(err::kInvalidParameterValue, "InstanceId must be a string.");
  }
  const std::string& id = it->get_ref<const std::string&>();
  if (!IsWellFormedId("ins", id)) {
    return Status(err::kInvalidInstanceIdMalformed,
                  "The instance id `" + id.substr(0, 32) +
                      "` is malformed; expected ins-xxxxxxxx (x: lower-case letter or digit).");
  }
  auto inst = store::LoadInstance(db, ScopeOf(ctx), id);
  if (!inst.ok()) return inst.status();
  if (!inst->has_value()) {
    return Status(err::kInvalidInstanceIdNotFound, "The instance " + id + " does not exist.");
  }
  return **inst;
}

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence, so a chunk
// boundary never splits a character between two reads.
size_t CompleteUtf8Prefix(const std::string& s) {
  size_t n = s.size();
  // A sequence is at most 4 bytes: look back at most 3 for its lead byte.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

// Well-formed UTF-8 (JSON needs it): each invalid byte becomes U+FFFD.
std::string SanitizeUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= s.size();
    uint32_t cp = ok ? (c & (0x7F >> len)) : 0;
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace

void RegisterCvmLoginEndpointHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  auto& engine = deps.engine;

  router.RegisterExtension(
      "DescribeInstanceLoginEndpoint", kService, kVersion,
      [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
        CVM_RETURN_IF_ERROR(CheckKnownParams(p, {"InstanceId"}));
        auto inst = OwnedInstance(db, ctx, p);
        if (!inst.ok()) return inst.status();
        if (inst->state != "RUNNING") {
          return Status(WrongStateCode(inst->state), "The instance " + inst->instance_id + " is " +
                                                         inst->state +
                                                         "; only a RUNNING instance has a login "
                                                         "endpoint.");
        }
        if (inst->ssh_port <= 0) {
          return Status(err::kResourceUnavailable,
                        "The instance " + inst->instance_id + " has no SSH port forwarded.");
        }
        std::string user = "root";
        auto img = store::FindImage(db, inst->image_id);
        if (!img.ok()) return img.status();
        if (*img && !(*img)->default_user.empty()) user = (*img)->default_user;
        return json{{"InstanceId", inst->instance_id},
                    {"Host", "127.0.0.1"},
                    {"Port", inst->ssh_port},
                    {"User", user}};
      });

  // Reads the log file the engine's QEMU writes. A read-only look at a file is the one place a
  // handler touches the file system: the alternative, an operation per read, would make
  // `cvm console --follow` queue behind lifecycle work.
  router.RegisterExtension(
      "GetInstanceConsoleOutput", kService, kVersion,
      [&db, &engine](const api::RequestContext& ctx, json& p) -> Result<json> {
        CVM_RETURN_IF_ERROR(CheckKnownParams(p, {"InstanceId", "Offset", "Limit"}));
        auto offset = IntParam(p, "Offset", -1);
        if (!offset.ok()) return offset.status();
        if (p.contains("Offset") && *offset < 0) {
          return Status(err::kInvalidParameterValue, "Offset must not be negative.");
        }
        auto limit = IntParam(p, "Limit", kDefaultConsoleBytes);
        if (!limit.ok()) return limit.status();
        if (*limit < 1 || *limit > kMaxConsoleBytes) {
          return Status(err::kInvalidParameterValue,
                        "Limit must be between 1 and " + std::to_string(kMaxConsoleBytes) + ".");
        }
        auto inst = OwnedInstance(db, ctx, p);
        if (!inst.ok()) return inst.status();

        fs::path path = engine.ConsoleLog(inst->instance_id);
        std::error_code ec;
        auto size = static_cast<int64_t>(fs::file_size(path, ec));
        if (ec) size = 0;  // nothing printed yet
        // Without an Offset: the tail. An Offset past the end means the log was rotated at a
        // restart, so reading starts over at the new file's beginning.
        int64_t start = *offset < 0 ? std::max<int64_t>(0, size - *limit) : *offset;
        if (start > size) start = 0;
        int64_t want = std::min<int64_t>(*limit, size - start);
        std::string bytes;
        if (want > 0) {
          std::ifstream in(path, std::ios::binary);
          in.seekg(start);
          bytes.resize(static_cast<size_t>(want));
          in.read(bytes.data(), want);
          bytes.resize(static_cast<size_t>(in.gcount()));
        }
        // The tail starts wherever the byte count fell: skip a partial character there.
        size_t skip = 0;
        if (*offset < 0) {
          while (skip < bytes.size() && skip < 3 &&
                 (static_cast<unsigned char>(bytes[skip]) & 0xC0) == 0x80) {
            ++skip;
          }
        }
        // A character cut at the end is left for the next read, which starts at its first byte.
        size_t keep = CompleteUtf8Prefix(bytes);
        // ...unless a tiny Limit holds nothing else; then always make progress.
        if (keep <= skip) keep = bytes.size();
        std::string text = SanitizeUtf8(bytes.substr(skip, keep - skip));
        return json{{"InstanceId", inst->instance_id},
                    {"Output", std::move(text)},
                    {"Offset", start + static_cast<int64_t>(keep)}};
      });
}

}  // namespace cvm::services
