// cvm: the OpenCVM command line. `cvm api ACTION --json '{...}'` calls any action, signed;
// friendlier verbs (run, ls, ssh, ...) build on the same client (cli/instance_commands.h).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/api_client.h"
#include "cli/audit_command.h"
#include "cli/disk_commands.h"
#include "cli/exec_command.h"
#include "cli/image_commands.h"
#include "cli/instance_commands.h"
#include "cli/network_commands.h"
#include "cli/output.h"
#include "common/error_codes.h"

using cvm::cli::ReportError;

int main(int argc, char** argv) {
  CLI::App app{"cvm - command line for OpenCVM (Tencent Cloud API 3.0 compatible)"};
  // Global options work after the verb too (`cvm ls -o json`): subcommands inherit this.
  app.fallthrough();
  std::string output = "table";
  std::string region;
  app.add_option("-o,--output", output, "table or json")->check(CLI::IsMember({"table", "json"}));
  app.add_option("--region", region, "region (default: the one in the client file)");
  app.require_subcommand(1);

  auto* api_cmd = app.add_subcommand("api", "call any API action");
  std::string action, params_json = "{}";
  api_cmd->add_option("action", action, "action name, e.g. DescribeZones")->required();
  api_cmd->add_option("--json", params_json, "request parameters as a JSON object");
  cvm::cli::InstanceCommands verbs(app);
  cvm::cli::DiskCommands disk_verbs(app);
  cvm::cli::NetworkCommands network_verbs(app);
  cvm::cli::ImageCommands image_verbs(app);
  cvm::cli::AuditCommand audit(app);
  cvm::cli::ExecCommand exec(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a command line that does not parse exits 2, as with most tools.
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto config = cvm::cli::LoadClientConfig();
  if (!config.ok()) return ReportError(config.status());
  if (!region.empty()) config->region = region;
  cvm::cli::ApiClient client(*config);

  if (api_cmd->parsed()) {
    auto params = nlohmann::json::parse(params_json, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      return ReportError(cvm::Status(cvm::err::kInvalidParameter, "--json must be a JSON object"));
    }
    auto r = client.Call(action, params);
    if (!r.ok()) return ReportError(r.status());
    if (output == "json") {
      std::cout << r->dump(2) << "\n";
    } else {
      cvm::cli::PrintTable(std::cout, *r);
    }
    return 0;
  }
  if (auto code = disk_verbs.Run(client, output)) return *code;
  if (auto code = network_verbs.Run(client, output)) return *code;
  if (auto code = image_verbs.Run(client, output)) return *code;
  if (auto rc = audit.Run(client, output)) return *rc;
  if (auto rc = exec.Run(client)) return *rc;
  return verbs.Run(client, output).value_or(0);
}
