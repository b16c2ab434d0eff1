// CAM policy decision cost: a sub-user with 50 policies of 20 statements each (1,000
// statements, every one with actions, resource patterns and a third of them with conditions).
//   BM_PolicySetEvaluate   the compiled PolicySet alone, for one instance resource; /0 with
//                          wildcard resource types that defeat the per-resource index
//   BM_PolicySetCompile    compiling the 50 parsed policies (what a cache miss costs)
//   BM_AuthorizeRequest    the pipeline's whole decision: resources read from the request
//                          parameters, the user's cached PolicySet, evaluation per resource
//   BM_AuthorizeRoot       the same call for a root account (resources read, no policies)
//   BM_AuditRecord         one audit record queued and stored (batches of 512 in SQLite)
// Figures are kept in docs/benchmarks.md ("CAM policy decision").
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "iam/accounts.h"
#include "iam/audit_log.h"
#include "iam/authorizer.h"
#include "iam/cam_store.h"
#include "iam/policy.h"
#include "store/sqlite/sqlite_database.h"

namespace {

using nlohmann::json;
constexpr int kPolicies = 50;
constexpr int kStatements = 20;

std::string Id(const char* prefix, int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%08d", prefix, n);
  return buf;
}

// Policy `p`: statements over varied actions and resources; only the last statement of the
// last policy grants StopInstances on the benchmarked instance, so evaluation cannot stop early.
// With `indexable` false every resource pattern has a wildcard in its type, so no statement can
// be found by resource and all candidates for the action are matched one by one.
std::string PolicyDocument(int p, const std::string& owner, bool indexable = true) {
  static const char* kActions[] = {
      "cvm:Describe*",   "cvm:StartInstances", "cvm:RebootInstances", "cvm:StopInstances",
      "cbs:AttachDisks", "vpc:Describe*",      "cvm:Modify*",         "name/cvm:ResetInstance"};
  json statements = json::array();
  for (int s = 0; s < kStatements; ++s) {
    int n = p * kStatements + s;
    json st = {
        {"effect", n % 7 == 0 ? "deny" : "allow"},
        {"action", {kActions[n % 8], kActions[(n + 3) % 8], "cbs:Describe*"}},
        {"resource",
         {"qcs::cvm:ap-guangzhou:uin/" + owner + (indexable ? ":instance/" : ":*/") + Id("ins", n),
          "qcs::cvm::uin/" + owner + ":volume/" + Id("disk", n) + "*"}}};
    if (n % 3 == 0) st["condition"] = {{"ip_equal", {{"qcs:ip", {"10.0.0.0/8", "127.0.0.1"}}}}};
    statements.push_back(st);
  }
  if (p == kPolicies - 1) {
    statements.back() = {
        {"effect", "allow"},
        {"action", {"cvm:StopInstances"}},
        {"resource", {"qcs::cvm:ap-guangzhou:uin/" + owner + ":instance/ins-target00"}},
        {"condition", {{"ip_equal", {{"qcs:ip", "127.0.0.0/8"}}}}}};
  }
  return json{{"version", "2.0"}, {"statement", statements}}.dump();
}

std::vector<cvm::iam::ParsedPolicy> Parsed(const std::string& owner, bool indexable = true) {
  std::vector<cvm::iam::ParsedPolicy> out;
  for (int p = 0; p < kPolicies; ++p) {
    auto parsed = cvm::iam::ParsePolicyDocument(PolicyDocument(p, owner, indexable));
    if (!parsed.ok()) std::abort();
    out.push_back(std::move(*parsed));
  }
  return out;
}

const std::string kOwner = "100000000001";

void BM_PolicySetEvaluate(benchmark::State& state) {
  auto parsed = Parsed(kOwner, state.range(0) == 1);
  std::vector<const cvm::iam::ParsedPolicy*> ptrs;
  for (const auto& p : parsed) ptrs.push_back(&p);
  auto set = cvm::iam::PolicySet::Compile(ptrs, {"200000000001", kOwner, 1250000001});
  std::string account = "uin/" + kOwner;
  cvm::iam::ResourceRef res{"cvm", "ap-guangzhou", account, "instance/ins-target00"};
  cvm::iam::RequestFacts facts{"127.0.0.1", 1800000000, "ap-guangzhou", "", "", nullptr};
  for (auto _ : state) {
    auto d = set.Evaluate("cvm:StopInstances", res, facts);
    if (d != cvm::iam::Decision::kAllow) state.SkipWithError("not allowed");
    benchmark::DoNotOptimize(d);
  }
  state.counters["statements"] = static_cast<double>(set.statement_count());
}
// Arg 1: resources indexable by type and id (the usual shape); arg 0: none is.
BENCHMARK(BM_PolicySetEvaluate)->Arg(1)->Arg(0);

void BM_PolicySetCompile(benchmark::State& state) {
  auto parsed = Parsed(kOwner);
  std::vector<const cvm::iam::ParsedPolicy*> ptrs;
  for (const auto& p : parsed) ptrs.push_back(&p);
  for (auto _ : state) {
    auto set = cvm::iam::PolicySet::Compile(ptrs, {"200000000001", kOwner, 1250000001});
    benchmark::DoNotOptimize(set);
  }
}
BENCHMARK(BM_PolicySetCompile)->Unit(benchmark::kMicrosecond);

void BM_AuthorizeRequest(benchmark::State& state) {
  namespace fs = std::filesystem;
  std::string t = "/tmp/cvm-cam-bench-XXXXXX";
  fs::path dir = ::mkdtemp(t.data());
  {
    auto db = cvm::store::OpenSqliteDatabase(dir / "cvmd.db");
    if (!db.ok()) std::abort();
    cvm::iam::AccountStore accounts(**db, cvm::iam::SecretBox(std::string(32, 'm')));
    cvm::iam::CamStore cam(**db, accounts);
    auto root = accounts.CreateRootAccount("bench", false);
    cvm::iam::SubUser u;
    u.owner_uin = root->uin;
    u.name = "bench";
    auto user = cam.AddUser(u);
    for (int p = 0; p < kPolicies; ++p) {
      auto id =
          cam.CreatePolicy(root->uin, "p" + std::to_string(p), "", PolicyDocument(p, root->uin));
      if (!id.ok()) std::abort();
      if (!cam.Attach(root->uin, *id, cvm::iam::Principal::kUser, user->uin, root->uin).ok()) {
        std::abort();
      }
    }
    cvm::iam::Authorizer authorizer(cam);
    json params = {{"InstanceIds", {"ins-target00"}}, {"StopType", "SOFT"}};
    cvm::iam::AccessRequest req{"cvm",        "StopInstances", "ap-guangzhou", root->uin, user->uin,
                                root->app_id, "127.0.0.1",     1800000000,     &params};
    for (auto _ : state) {
      auto outcome = authorizer.Authorize(req);
      if (!outcome.status.ok()) state.SkipWithError(outcome.status.ToString().c_str());
      benchmark::DoNotOptimize(outcome);
    }
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_AuthorizeRequest);

void BM_AuthorizeRoot(benchmark::State& state) {
  namespace fs = std::filesystem;
  std::string t = "/tmp/cvm-cam-bench-XXXXXX";
  fs::path dir = ::mkdtemp(t.data());
  {
    auto db = cvm::store::OpenSqliteDatabase(dir / "cvmd.db");
    if (!db.ok()) std::abort();
    cvm::iam::AccountStore accounts(**db, cvm::iam::SecretBox(std::string(32, 'm')));
    cvm::iam::CamStore cam(**db, accounts);
    cvm::iam::Authorizer authorizer(cam);
    json params = {{"InstanceIds", {"ins-target00"}}, {"StopType", "SOFT"}};
    cvm::iam::AccessRequest req{"cvm",      "StopInstances", "ap-guangzhou", kOwner, kOwner,
                                1250000001, "127.0.0.1",     1800000000,     &params};
    for (auto _ : state) {
      auto outcome = authorizer.Authorize(req);
      benchmark::DoNotOptimize(outcome);
    }
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_AuthorizeRoot);

void BM_AuditRecord(benchmark::State& state) {
  namespace fs = std::filesystem;
  std::string t = "/tmp/cvm-cam-bench-XXXXXX";
  fs::path dir = ::mkdtemp(t.data());
  {
    auto db = cvm::store::OpenSqliteDatabase(dir / "cvmd.db");
    if (!db.ok()) std::abort();
    cvm::iam::AuditLog audit(**db);  // not started: batches are stored here, measured
    int64_t n = 0;
    for (auto _ : state) {
      audit.Record({1800000000000 + n,
                    "6f1c2a7e-0d51-4b8e-9a4c-3b0e1f2d3c4b",
                    kOwner,
                    "200000000001",
                    "AKIDabcdefghijklmnopqrstuvwxyz012345",
                    "cvm",
                    "StopInstances",
                    "ap-guangzhou",
                    {"ins-target00"},
                    "127.0.0.1",
                    ""});
      if (++n % 512 == 0 && !audit.Flush().ok()) state.SkipWithError("flush failed");
    }
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_AuditRecord);

}  // namespace

BENCHMARK_MAIN();
