// cvm: the OpenCVM command line. `cvm api ACTION --json '{...}'` calls any action, signed;
// friendlier verbs build on the same client.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/api_client.h"
#include "cli/output.h"

namespace {

int ReportError(const cvm::Status& st) {
  std::cerr << "error: " << st.code() << ": " << st.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cvm - command line for OpenCVM (Tencent Cloud API 3.0 compatible)"};
  std::string output = "table";
  std::string region;
  app.add_option("-o,--output", output, "table or json")->check(CLI::IsMember({"table", "json"}));
  app.add_option("--region", region, "region (default: the one in the client file)");
  app.require_subcommand(1);

  auto* api_cmd = app.add_subcommand("api", "call any API action");
  std::string action, params_json = "{}";
  api_cmd->add_option("action", action, "action name, e.g. DescribeZones")->required();
  api_cmd->add_option("--json", params_json, "request parameters as a JSON object");
  CLI11_PARSE(app, argc, argv);

  auto config = cvm::cli::LoadClientConfig();
  if (!config.ok()) return ReportError(config.status());
  if (!region.empty()) config->region = region;
  cvm::cli::ApiClient client(*config);

  if (api_cmd->parsed()) {
    auto params = nlohmann::json::parse(params_json, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      return ReportError(cvm::Status("InvalidParameter", "--json must be a JSON object"));
    }
    auto r = client.Call(action, params);
    if (!r.ok()) return ReportError(r.status());
    if (output == "json") {
      std::cout << r->dump(2) << "\n";
    } else {
      cvm::cli::PrintTable(std::cout, *r);
    }
  }
  return 0;
}
