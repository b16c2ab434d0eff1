// The API request path without HTTP: RequestPipeline::Handle on a signed DescribeZones, as cvmd
// assembles it (real handlers, CAM authorizer, audit log with its writer thread, SQLite store).
// CPU time is the whole process's, so the audit writer's share is counted.
//   BM_SignedDescribeZones  the whole pipeline for a root account's request
//   BM_SignedDescribeZonesShared  the same on two threads sharing one daemon, as cvmd serves
//                           (one thread per core): what they share shows up here
//   BM_Tc3Verify            the signature check alone (parse the header, verify)
//   BM_EmptyHandler         the pipeline around a handler that answers {} (the fixed cost)
//   BM_ParseRequest         the HTTP layer before it: the request's bytes into an HttpRequest
// Figures are kept in docs/benchmarks.md ("API request path").
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <filesystem>
#include <memory>

#include "api/http_request_parser.h"
#include "api/request_pipeline.h"
#include "api/signing.h"
#include "common/time_format.h"
#include "engine/engine.h"
#include "iam/cam_store.h"
#include "services/service_deps.h"
#include "store/sqlite/sqlite_database.h"

namespace {

namespace fs = std::filesystem;
using cvm::api::HttpRequest;

constexpr char kHost[] = "127.0.0.1:9480";
constexpr char kJson[] = "application/json; charset=utf-8";

// cvmd's request-serving half, on a throw-away data directory.
class Daemon {
 public:
  Daemon() {
    std::string t = "/tmp/cvm-pipeline-bench-XXXXXX";
    dir_ = ::mkdtemp(t.data());
    config_ = cvm::DefaultConfig();
    config_.data_dir = dir_;
    auto db = cvm::store::OpenSqliteDatabase(dir_ / "cvmd.db");
    if (!db.ok()) std::abort();
    db_ = std::move(*db);
    accounts_ =
        std::make_unique<cvm::iam::AccountStore>(*db_, cvm::iam::SecretBox(std::string(32, 'm')));
    auto root = accounts_->CreateRootAccount("bench", true);
    key_ = *accounts_->CreateAccessKey(root->uin, root->uin);
    cvm::engine::EngineOptions options;
    options.data_dir = dir_;
    engine_ = std::make_unique<cvm::engine::Engine>(*db_, config_, options);  // never started
    cam_ = std::make_unique<cvm::iam::CamStore>(*db_, *accounts_);
    audit_ = std::make_unique<cvm::iam::AuditLog>(*db_);
    audit_->Start();
    authorizer_ = std::make_unique<cvm::iam::Authorizer>(*cam_);
    tokens_ = std::make_unique<cvm::api::ConsoleTokens>(*db_);
    deps_ = std::make_unique<cvm::services::ServiceDeps>(
        cvm::services::ServiceDeps{config_, *db_, *accounts_, *engine_, *tokens_, *cam_, *audit_});
    cvm::services::RegisterAllHandlers(router_, *deps_);
    router_.RegisterExtension(
        "BenchEmpty", "cvm", "2017-03-12",
        [](const cvm::api::RequestContext&, nlohmann::json&) -> cvm::Result<nlohmann::json> {
          return nlohmann::json::object();
        });
    pipeline_ = std::make_unique<cvm::api::RequestPipeline>(router_, *accounts_, config_);
    pipeline_->SetAccessControl(authorizer_.get(), audit_.get());
  }
  ~Daemon() {
    audit_->Stop();
    pipeline_.reset();
    engine_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  // A TC3 POST as the SDKs send it.
  HttpRequest Signed(const std::string& action) const {
    int64_t now = cvm::NowUnix();
    HttpRequest req;
    req.method = "POST";
    req.target = "/";
    req.body = "{}";
    req.peer_address = "127.0.0.1";
    req.headers["host"] = kHost;
    req.headers["content-type"] = kJson;
    req.headers["x-tc-action"] = action;
    req.headers["x-tc-version"] = "2017-03-12";
    req.headers["x-tc-region"] = config_.regions.front().region;
    req.headers["x-tc-timestamp"] = std::to_string(now);
    req.headers["x-tc-language"] = "en-US";
    req.headers["user-agent"] = "TencentCloud-SDK-NODEJS";
    req.headers["authorization"] = cvm::api::SignTc3(key_.secret_id, key_.secret_key, "cvm", "POST",
                                                     kHost, "", kJson, req.body, now);
    return req;
  }

  cvm::api::RequestPipeline& pipeline() { return *pipeline_; }
  const cvm::iam::AccessKey& key() const { return key_; }

 private:
  fs::path dir_;
  cvm::Config config_;
  std::unique_ptr<cvm::store::Database> db_;
  std::unique_ptr<cvm::iam::AccountStore> accounts_;
  cvm::iam::AccessKey key_;
  std::unique_ptr<cvm::engine::Engine> engine_;
  std::unique_ptr<cvm::iam::CamStore> cam_;
  std::unique_ptr<cvm::iam::AuditLog> audit_;
  std::unique_ptr<cvm::iam::Authorizer> authorizer_;
  std::unique_ptr<cvm::api::ConsoleTokens> tokens_;
  std::unique_ptr<cvm::services::ServiceDeps> deps_;
  cvm::api::Router router_;
  std::unique_ptr<cvm::api::RequestPipeline> pipeline_;
};

void RunPipeline(benchmark::State& state, const std::string& action) {
  Daemon daemon;
  HttpRequest req = daemon.Signed(action);
  int64_t signed_at = cvm::NowUnix();
  for (auto _ : state) {
    if (cvm::NowUnix() - signed_at > 60) {  // stay inside the 300 s window on long runs
      state.PauseTiming();
      req = daemon.Signed(action);
      signed_at = cvm::NowUnix();
      state.ResumeTiming();
    }
    auto resp = daemon.pipeline().Handle(req);
    if (resp.body.find("\"Error\"") != std::string::npos) {
      state.SkipWithError(resp.body.c_str());
      break;
    }
    benchmark::DoNotOptimize(resp);
  }
}

void BM_SignedDescribeZones(benchmark::State& state) { RunPipeline(state, "DescribeZones"); }
BENCHMARK(BM_SignedDescribeZones)->MeasureProcessCPUTime();

void BM_SignedDescribeZonesShared(benchmark::State& state) {
  static std::unique_ptr<Daemon> daemon;
  static HttpRequest req;
  // Thread 0 sets up; the loop's start is a barrier for all threads, its end another.
  if (state.thread_index() == 0) {
    daemon = std::make_unique<Daemon>();
    req = daemon->Signed("DescribeZones");
  }
  for (auto _ : state) {
    auto resp = daemon->pipeline().Handle(req);
    if (resp.body.find("\"Error\"") != std::string::npos) {
      state.SkipWithError(resp.body.c_str());
      break;
    }
    benchmark::DoNotOptimize(resp);
  }
  if (state.thread_index() == 0) daemon.reset();
}
BENCHMARK(BM_SignedDescribeZonesShared)->MeasureProcessCPUTime()->Threads(2)->UseRealTime();

void BM_EmptyHandler(benchmark::State& state) { RunPipeline(state, "BenchEmpty"); }
BENCHMARK(BM_EmptyHandler)->MeasureProcessCPUTime();

void BM_Tc3Verify(benchmark::State& state) {
  Daemon daemon;
  HttpRequest req = daemon.Signed("DescribeZones");
  for (auto _ : state) {
    auto cred = cvm::api::ParseTc3Authorization(req.Header("authorization"));
    auto st = cvm::api::VerifyTc3(req, *cred, daemon.key().secret_key, cvm::NowUnix());
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
  }
}
BENCHMARK(BM_Tc3Verify);

// The request's bytes as an SDK sends them, parsed into an HttpRequest (the server's HTTP layer
// before the pipeline).
void BM_ParseRequest(benchmark::State& state) {
  Daemon daemon;
  HttpRequest req = daemon.Signed("DescribeZones");
  std::string wire = "POST / HTTP/1.1\r\n";
  for (const auto& [name, value] : req.headers) wire += name + ": " + value + "\r\n";
  wire += "content-length: " + std::to_string(req.body.size()) + "\r\n\r\n" + req.body;
  for (auto _ : state) {
    cvm::api::HttpRequestParser parser;
    boost::beast::error_code ec;
    parser.eager(true);
    parser.put(boost::asio::buffer(wire), ec);
    if (ec || !parser.is_done()) {
      state.SkipWithError("parse failed");
      break;
    }
    HttpRequest parsed = std::move(parser.request());
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseRequest);

}  // namespace

BENCHMARK_MAIN();
