// cvmd: the OpenCVM daemon. With no arguments it runs on its embedded defaults; `cvmd account`
// administers root accounts (tenants) directly in the store.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "api/http_server.h"
#include "api/request_pipeline.h"
#include "api/router.h"
#include "api/schema.h"
#include "config/config.h"
#include "cvmd/bootstrap.h"
#include "drivers/qemu/accel_probe.h"
#include "engine/engine.h"
#include "iam/accounts.h"
#include "iam/audit_log.h"
#include "iam/authorizer.h"
#include "iam/cam_store.h"
#include "services/cvm/image_catalog.h"
#include "services/service_deps.h"
#include "services/tat/tat_handlers.h"
#include "store/open_database.h"
#include "store/store_copy.h"

namespace {

std::filesystem::path DefaultDataDir() {
  if (::geteuid() == 0) return "/var/lib/opencvm";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : ".") / ".local/share/opencvm";
}

struct Opened {
  std::unique_ptr<cvm::store::Database> db;
  std::unique_ptr<cvm::iam::AccountStore> accounts;
};

cvm::Result<Opened> OpenState(const cvm::Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  auto db = cvm::store::OpenDatabase(config.store_url, config.data_dir / "cvmd.db");
  if (!db.ok()) return db.status();
  auto box = cvm::iam::SecretBox::LoadOrCreate(config.data_dir / "master.key");
  if (!box.ok()) return box.status();
  Opened o;
  o.db = std::move(*db);
  o.accounts = std::make_unique<cvm::iam::AccountStore>(*o.db, std::move(*box));
  return o;
}

// A service is often started with a soft limit of 1,024 descriptors; every connection and
// every instance's QMP socket takes one, so take all the hard limit allows.
void RaiseDescriptorLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rlim_t was = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("cvmd: cannot raise the descriptor limit from {}: {}", was, std::strerror(errno));
  }
}

int Fail(const cvm::Status& st) {
  std::cerr << "cvmd: " << st.ToString() << "\n";
  return 1;
}

// `cvmd store copy`: both stores are opened (and so migrated to this version), then every table
// is copied in one transaction on the destination.
int CopyStoreCommand(const std::string& from_url, const std::string& to_url) {
  auto from = cvm::store::OpenDatabase(from_url, {});
  if (!from.ok()) return Fail(from.status());
  auto to = cvm::store::OpenDatabase(to_url, {});
  if (!to.ok()) return Fail(to.status());
  auto report = cvm::store::CopyStore(**from, **to);
  if (!report.ok()) return Fail(report.status());
  int64_t total = 0;
  for (const auto& [table, rows] : report->rows) total += rows;
  std::cout << "copied " << total << " rows of " << report->rows.size() << " tables from "
            << (*from)->BackendName() << " to " << (*to)->BackendName() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything cvmd creates, and what qemu-img and QEMU create for it, is its own alone: state,
  // disks, images, exports, client files (0600 files, 0700 directories).
  ::umask(077);
  CLI::App app{"cvmd - the OpenCVM daemon (Tencent Cloud API 3.0 compatible)"};
  std::string config_file, data_dir, listen, store_url;
  std::string public_images;
  int port = -1;
  app.add_option("-c,--config", config_file, "TOML configuration file");
  app.add_option("--data-dir", data_dir, "data directory (database, disks, images, run state)");
  app.add_option("--store-url", store_url,
                 "where the state lives: sqlite:PATH or postgresql://... "
                 "(default: sqlite in the data directory)");
  app.add_option("--listen", listen, "listen address (default 127.0.0.1)");
  app.add_option("--port", port, "listen port (default 9480; 0 picks a free one)");
  app.add_option("--public-images", public_images,
                 "directory of public image manifests (default DATA_DIR/images/public)");
  std::string network_namespace, uplink_cidr, public_ip_pool;
  app.add_option("--network-namespace", network_namespace,
                 "network namespace holding the data path (default opencvm)");
  app.add_option("--uplink-cidr", uplink_cidr, "the /30 between the host and that namespace");
  app.add_option("--public-ip-pool", public_ip_pool, "CIDR block of the public addresses");
  app.fallthrough();

  auto* account_cmd = app.add_subcommand("account", "administer root accounts (tenants)");
  auto* create_cmd = account_cmd->add_subcommand("create", "create a root account and its key");
  std::string account_name;
  create_cmd->add_option("name", account_name, "account name")->required();
  auto* list_cmd = account_cmd->add_subcommand("list", "list root accounts");
  account_cmd->require_subcommand(1);
  auto* store_cmd = app.add_subcommand("store", "administer the state store");
  auto* copy_cmd = store_cmd->add_subcommand(
      "copy", "copy a stopped deployment's whole state into a new, empty store");
  std::string copy_from, copy_to;
  copy_cmd->add_option("--from", copy_from, "source store URL (sqlite:PATH or postgresql://...)")
      ->required();
  copy_cmd->add_option("--to", copy_to, "destination store URL")->required();
  store_cmd->require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  if (copy_cmd->parsed()) return CopyStoreCommand(copy_from, copy_to);

  cvm::Config config = cvm::DefaultConfig();
  if (!config_file.empty()) {
    auto loaded = cvm::LoadConfig(config_file);
    if (!loaded.ok()) return Fail(loaded.status());
    config = std::move(*loaded);
  } else {
    config.data_dir = DefaultDataDir();
  }
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!store_url.empty()) config.store_url = store_url;
  if (!listen.empty()) config.listen_address = listen;
  if (port >= 0) config.listen_port = static_cast<uint16_t>(port);
  if (!public_images.empty()) config.public_images_dir = public_images;
  if (!network_namespace.empty()) config.network_namespace = network_namespace;
  if (!uplink_cidr.empty()) config.uplink_cidr = uplink_cidr;
  if (!public_ip_pool.empty()) config.public_ip_pool = public_ip_pool;
  if (config.public_images_dir.empty())
    config.public_images_dir = config.data_dir / "images/public";

  // Block the stop signals in every thread; one thread below waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto state = OpenState(config);
  if (!state.ok()) return Fail(state.status());
  auto& accounts = *state->accounts;

  if (create_cmd->parsed()) {
    auto acct = accounts.CreateRootAccount(account_name, false);
    if (!acct.ok()) return Fail(acct.status());
    auto key = accounts.CreateAccessKey(acct->uin, acct->uin);
    if (!key.ok()) return Fail(key.status());
    nlohmann::json out = {{"Name", acct->name},
                          {"Uin", acct->uin},
                          {"AppId", acct->app_id},
                          {"SecretId", key->secret_id},
                          {"SecretKey", key->secret_key}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (list_cmd->parsed()) {
    auto all = accounts.ListAccounts();
    if (!all.ok()) return Fail(all.status());
    for (const auto& a : *all) {
      std::cout << a.uin << "  " << a.app_id << "  " << a.name << (a.is_admin ? "  (admin)" : "")
                << "\n";
    }
    return 0;
  }

  cvm::api::ApiSchema::Embedded();  // parse the schema now, not on the first request
  RaiseDescriptorLimit();
  auto admin_key = cvm::EnsureAdminAccount(accounts);
  if (!admin_key.ok()) return Fail(admin_key.status());

  if (auto st = cvm::services::RegisterPublicImages(*state->db, config.public_images_dir);
      !st.ok()) {
    return Fail(st);
  }
  cvm::engine::EngineOptions engine_options;
  engine_options.data_dir = config.data_dir;
  engine_options.accel = cvm::drivers::qemu::ProbeAccelerator(std::chrono::seconds(3));
  engine_options.soft_stop_timeout = std::chrono::seconds(config.soft_stop_timeout_seconds);
  engine_options.detach_timeout = std::chrono::seconds(config.disk_detach_timeout_seconds);
  cvm::engine::Engine engine(*state->db, config, engine_options);
  if (auto st = engine.Start(); !st.ok()) return Fail(st);

  cvm::api::Router router;
  cvm::api::ConsoleTokens console_tokens(*state->db);
  cvm::iam::CamStore cam(*state->db, accounts);
  if (auto st = cam.EnsurePresetPolicies(); !st.ok()) return Fail(st);
  cvm::iam::AuditLog audit(*state->db);
  audit.Start();
  cvm::iam::Authorizer authorizer(cam);
  cvm::services::ServiceDeps deps{config, *state->db, accounts, engine, console_tokens, cam, audit};
  cvm::services::RegisterAllHandlers(router, deps);
  cvm::engine::TatRunner tat_runner(*state->db, engine);
  cvm::services::RegisterTatHandlers(router, deps, tat_runner);
  tat_runner.Start();
  cvm::api::RequestPipeline pipeline(router, accounts, config);
  pipeline.SetAccessControl(&authorizer, &audit);
  cvm::api::HttpServerOptions http{
      config.listen_address, config.listen_port,  config.max_body_bytes, config.api_threads,
      config.tls_cert_file,  config.tls_key_file, &console_tokens};
  http.limits.max_connections = config.http_max_connections;
  http.limits.max_connections_per_address = config.http_max_connections_per_address;
  http.limits.body_budget_bytes = config.http_body_budget_bytes;
  http.unauthenticated_timeout = std::chrono::seconds(config.http_unauthenticated_timeout_s);
  http.idle_timeout = std::chrono::seconds(config.http_idle_timeout_s);
  cvm::api::HttpServer server(pipeline, std::move(http));
  if (auto st = server.Start(); !st.ok()) return Fail(st);

  // The client files are written at the first initialisation only (or when a start before died
  // before writing them); a secret never goes to the terminal or the log, only its file's name.
  const auto admin_file = cvm::AdminCredentialsPath(config.data_dir);
  std::error_code ec;
  if (admin_key->created || !std::filesystem::exists(admin_file, ec)) {
    cvm::ClientCredentials creds{
        admin_key->key.secret_id, admin_key->key.secret_key, config.regions.front().region,
        config.listen_address + ":" + std::to_string(server.port()), !config.tls_cert_file.empty()};
    if (auto st = cvm::WriteClientFiles(config.data_dir, creds); !st.ok()) {
      spdlog::warn("could not write client files: {}", st.ToString());
    }
  }
  std::cout << "cvmd ready on " << (config.tls_cert_file.empty() ? "http://" : "https://")
            << config.listen_address << ":" << server.port()
            << "\n  admin credentials: " << admin_file.string()
            << "\n  tccli profile: " << cvm::kTccliProfile
            << ", cvm CLI: ~/.config/opencvm/client.json (written at the "
            << "first start, when absent)\n"
            << std::flush;

  // Signals are taken by a thread with sigwait, so stopping runs outside a signal handler.
  std::thread([&server, sigs] {
    int sig = 0;
    sigwait(&sigs, &sig);
    spdlog::info("cvmd: signal {}, stopping", sig);
    server.Stop();
  }).detach();
  server.Wait();
  audit.Stop();  // after the last request: every call of this run is on disk
  tat_runner.Stop();
  engine.Stop();
  spdlog::info("cvmd: stopped (instances keep running)");
  return 0;
}
