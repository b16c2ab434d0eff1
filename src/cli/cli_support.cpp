#include "cli/cli_support.h"

#include "cli/output.h"
#include "common/error_codes.h"

namespace cvm::cli {

using nlohmann::json;

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// Every item of a paged Describe action's `set_name`, following Offset/Limit to the end.
Result<json> DescribeAll(ApiClient& client, const std::string& action, json params,
                         const std::string& set_name) {
  json all = json::array();
  for (int64_t offset = 0;;) {
    params["Offset"] = offset;
    params["Limit"] = 100;
    auto r = client.Call(action, params);
    if (!r.ok()) return r.status();
    auto set = r->find(set_name);
    if (set == r->end() || !set->is_array() || set->empty()) break;
    for (auto& item : *set) all.push_back(std::move(item));
    offset += static_cast<int64_t>(set->size());
    if (offset >= r->value("TotalCount", int64_t{0})) break;
  }
  return all;
}

int ListItems(ApiClient& client, const std::string& action, const std::string& set_name,
              const std::string& output, const std::vector<std::string>& headers,
              const std::function<std::vector<std::string>(const json&)>& row) {
  auto all = DescribeAll(client, action, json::object(), set_name);
  if (!all.ok()) return ReportError(all.status());
  if (output == "json") {
    std::cout << all->dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : *all) rows.push_back(row(item));
  PrintColumns(std::cout, headers, rows);
  return 0;
}

Status TimedOut(const std::string& what, double seconds) {
  return Status(
      err::kFailedOperation,
      "timed out after " + std::to_string(static_cast<int>(seconds)) + " s waiting for " + what);
}

void AddWaitOptions(CLI::App* cmd, bool& no_wait, double& timeout_s, const std::string& what,
                    int default_s) {
  cmd->add_flag("--no-wait", no_wait, "return at once, do not wait for the " + what);
  cmd->add_option("--timeout", timeout_s,
                  "seconds to wait (default " + std::to_string(default_s) + ")");
}

Result<std::string> DefaultZone(ApiClient& client) {
  auto r = client.Call("DescribeZones", json::object());
  if (!r.ok()) return r.status();
  for (const auto& z : r->value("ZoneSet", json::array())) {
    if (Str(z, "ZoneState") == "AVAILABLE") return Str(z, "Zone");
  }
  return Status(err::kInvalidParameterValueZoneNotSupported,
                "the region offers no available zone; give one with --zone");
}

}  // namespace cvm::cli
