// api_load: closed-loop HTTP/1.1 keep-alive load generator for the API request path. Each row
// runs N connections for a fixed time against a running cvmd on 127.0.0.1, once with
// TC3-signed DescribeZones and once with GET /healthz (the unsigned no-op baseline), and prints
// requests/s, p50 and p99 latency and the signed/no-op ratio. Any non-200 answer, a signed
// answer without "ZoneSet", or a dropped connection counts as an error and fails the run.
//
// A row's time is cut into slices that alternate between the workloads, so both see the same
// machine: on a shared machine the rate drifts by tens of percent within a minute, and a ratio
// of two rows measured one after the other carried that drift.
//
// bench/run-api-bench starts a throw-away cvmd and runs this against it.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/signing.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// The network rule of these machines: load goes to loopback only, so there is no host option.
constexpr const char* kLoopback = "127.0.0.1";

struct Credentials {
  std::string secret_id, secret_key, region;
  uint16_t port = 0;
};

// kSignedToHealthz sends the signed request's exact bytes to /healthz: the HTTP cost of a signed
// request (its headers parsed, its body read) without the pipeline, to tell the two apart.
enum class Workload { kNoop, kSigned, kSignedToHealthz };

const char* Name(Workload w) {
  switch (w) {
    case Workload::kNoop:
      return "no-op GET /healthz";
    case Workload::kSigned:
      return "signed DescribeZones";
    case Workload::kSignedToHealthz:
      return "signed bytes /healthz";
  }
  return "?";
}

// Builds the raw bytes of one request. Requests are pre-serialized (and pre-signed) so the client
// spends its share of the two cores on I/O, not on formatting and hashing.
class RequestSource {
 public:
  RequestSource(Workload workload, const Credentials& creds)
      : workload_(workload),
        creds_(creds),
        host_(std::string(kLoopback) + ":" + std::to_string(creds.port)) {
    Refresh();
  }

  // Re-signs when the wall-clock second has moved on, so X-TC-Timestamp always stays far inside
  // the server's 300 s window however long the run is.
  void Refresh() {
    if (workload_ == Workload::kNoop) {
      if (!current_) {
        current_ = std::make_shared<const std::string>("GET /healthz HTTP/1.1\r\nHost: " + host_ +
                                                       "\r\n\r\n");
      }
      return;
    }
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (current_ && now == signed_at_) return;
    signed_at_ = now;
    constexpr std::string_view kBody = "{}";
    constexpr std::string_view kContentType = "application/json";
    std::string auth = cvm::api::SignTc3(creds_.secret_id, creds_.secret_key, "cvm", "POST", host_,
                                         "", kContentType, kBody, now);
    std::string req;
    req.reserve(512);
    req.append(workload_ == Workload::kSigned ? "POST / HTTP/1.1" : "POST /healthz HTTP/1.1");
    req.append("\r\nHost: ").append(host_);
    req.append("\r\nContent-Type: ").append(kContentType);
    req.append("\r\nX-TC-Action: DescribeZones\r\nX-TC-Version: 2017-03-12\r\nX-TC-Region: ");
    req.append(creds_.region);
    req.append("\r\nX-TC-Timestamp: ").append(std::to_string(now));
    req.append("\r\nAuthorization: ").append(auth);
    req.append("\r\nContent-Length: ").append(std::to_string(kBody.size()));
    req.append("\r\n\r\n").append(kBody);
    current_ = std::make_shared<const std::string>(std::move(req));
    ++signatures_;
  }

  // Shared so a connection keeps its bytes alive while a refresh swaps in new ones.
  const std::shared_ptr<const std::string>& current() const { return current_; }
  Workload workload() const { return workload_; }
  int signatures() const { return signatures_; }

 private:
  Workload workload_;
  const Credentials& creds_;
  std::string host_;
  std::shared_ptr<const std::string> current_;
  int64_t signed_at_ = 0;
  int signatures_ = 0;
};

// What one client thread saw inside the measured window.
struct Tally {
  std::vector<int64_t> latencies_ns;
  int64_t errors = 0;
  std::string first_error;

  void Error(std::string what) {
    if (errors++ == 0) first_error = std::move(what);
  }
};

class Worker;

// One keep-alive connection: send, read the whole answer, check it, repeat until the end.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(Worker& worker);
  void Start(const tcp::endpoint& ep);

 private:
  void Send();
  void OnRead(beast::error_code ec);

  Worker& w_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::shared_ptr<const std::string> request_;
  Clock::time_point sent_at_;
};

// One client thread with its own io_context, so threads share nothing while running.
class Worker {
 public:
  Worker(Workload workload, const Credentials& creds, int connections)
      : source_(workload, creds), refresh_timer_(io_), connections_(connections) {}

  // Connects, then runs until `end`; only exchanges that start at or after `begin` and finish by
  // `end` are counted, so warm-up and the tail are left out.
  void Run(Clock::time_point begin, Clock::time_point end) {
    begin_ = begin;
    end_ = end;
    tcp::endpoint ep(asio::ip::make_address(kLoopback), port_);
    for (int i = 0; i < connections_; ++i) std::make_shared<Connection>(*this)->Start(ep);
    ScheduleRefresh();
    io_.run();
  }

  void set_port(uint16_t port) { port_ = port; }
  Tally& tally() { return tally_; }
  const RequestSource& source() const { return source_; }

 private:
  friend class Connection;

  void ScheduleRefresh() {
    refresh_timer_.expires_after(std::chrono::milliseconds(100));
    refresh_timer_.async_wait([this](beast::error_code ec) {
      if (ec || Clock::now() >= end_) return;
      source_.Refresh();
      ScheduleRefresh();
    });
  }

  void Record(Clock::time_point sent, Clock::time_point done) {
    if (sent >= begin_ && done <= end_) tally_.latencies_ns.push_back((done - sent).count());
  }

  asio::io_context io_{1};
  RequestSource source_;
  asio::steady_timer refresh_timer_;
  int connections_;
  uint16_t port_ = 0;
  Clock::time_point begin_, end_;
  Tally tally_;
};

Connection::Connection(Worker& worker) : w_(worker), socket_(worker.io_) {}

void Connection::Start(const tcp::endpoint& ep) {
  socket_.async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->w_.tally_.Error("connect: " + ec.message());
    self->socket_.set_option(tcp::no_delay(true), ec);
    self->Send();
  });
}

void Connection::Send() {
  if (Clock::now() >= w_.end_) {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    return;
  }
  request_ = w_.source_.current();
  parser_.emplace();
  parser_->body_limit(1 << 20);
  sent_at_ = Clock::now();
  asio::async_write(socket_, asio::buffer(*request_),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return self->w_.tally_.Error("write: " + ec.message());
                      http::async_read(self->socket_, self->buffer_, *self->parser_,
                                       [self](beast::error_code ec, size_t) { self->OnRead(ec); });
                    });
}

void Connection::OnRead(beast::error_code ec) {
  auto done = Clock::now();
  if (ec) return w_.tally_.Error("read: " + ec.message());
  const auto& res = parser_->get();
  if (res.result_int() != 200) {
    return w_.tally_.Error("HTTP " + std::to_string(res.result_int()) + ": " +
                           res.body().substr(0, 200));
  }
  if (w_.source_.workload() == Workload::kSigned &&
      res.body().find("ZoneSet") == std::string::npos) {
    // Keep going: one bad answer should not hide whether the rest are good.
    w_.tally_.Error("answer without ZoneSet: " + res.body().substr(0, 300));
  } else {
    w_.Record(sent_at_, done);
  }
  if (!res.keep_alive()) return w_.tally_.Error("server closed the keep-alive connection");
  Send();
}

// One workload at one concurrency, summed over its slices.
struct RowResult {
  Workload workload;
  int connections = 0;
  std::vector<int64_t> latencies_ns;  // one per counted exchange
  double seconds = 0;
  double server_cpu_s = 0, client_cpu_s = 0;  // CPU used during the measured windows
  bool cpu_known = true;
  int64_t errors = 0;
  std::string first_error;
  int64_t requests() const { return static_cast<int64_t>(latencies_ns.size()); }
  double rate() const { return seconds > 0 ? static_cast<double>(requests()) / seconds : 0; }
  double UsPerRequest(double cpu_s) const {
    return cpu_known && requests() > 0 ? cpu_s * 1e6 / static_cast<double>(requests()) : -1;
  }
};

// CPU seconds (user + system) a process has used so far, from /proc/PID/stat; -1 if unknown.
// Sampled around each row so the figures also say what a request costs, which stays meaningful
// when other work on the machine steals cycles and skews the rates.
double ProcessCpuSeconds(int pid) {
  std::ifstream in("/proc/" + (pid > 0 ? std::to_string(pid) : std::string("self")) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  long long utime = 0, stime = 0;
  // Fields 3..13 precede utime (14) and stime (15).
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoll(f);
    if (i == 15) stime = std::stoll(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double PercentileMs(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

// Runs one slice of `row`'s workload on fresh connections and adds what it saw to `row`.
void RunSlice(RowResult& row, const Credentials& creds, int threads, double warmup_s,
              double duration_s, int server_pid) {
  const Workload workload = row.workload;
  const int connections = row.connections;
  threads = std::max(1, std::min(threads, connections));
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) {
    // Spread connections evenly over the client threads.
    int n = connections / threads + (t < connections % threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(workload, creds, n));
    workers.back()->set_port(creds.port);
  }
  auto begin = Clock::now() +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup_s));
  auto end = begin +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_s));
  std::vector<std::thread> running;
  for (auto& w : workers) running.emplace_back([&w, begin, end] { w->Run(begin, end); });
  std::this_thread::sleep_until(begin);
  double server0 = server_pid > 0 ? ProcessCpuSeconds(server_pid) : -1;
  double client0 = ProcessCpuSeconds(0);
  std::this_thread::sleep_until(end);
  double server1 = server_pid > 0 ? ProcessCpuSeconds(server_pid) : -1;
  double client1 = ProcessCpuSeconds(0);
  for (auto& t : running) t.join();

  if (server0 < 0 || server1 < 0 || client0 < 0 || client1 < 0) row.cpu_known = false;
  row.server_cpu_s += server1 - server0;
  row.client_cpu_s += client1 - client0;
  row.seconds += duration_s;
  for (auto& w : workers) {
    auto& t = w->tally();
    row.latencies_ns.insert(row.latencies_ns.end(), t.latencies_ns.begin(), t.latencies_ns.end());
    if (t.errors > 0 && row.errors == 0) row.first_error = t.first_error;
    row.errors += t.errors;
  }
}

Credentials ReadCredentials(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  auto j = nlohmann::json::parse(in);
  Credentials c;
  c.secret_id = j.at("secretId").get<std::string>();
  c.secret_key = j.at("secretKey").get<std::string>();
  c.region = j.at("region").get<std::string>();
  std::string endpoint = j.at("endpoint").get<std::string>();
  std::string prefix = std::string(kLoopback) + ":";
  if (endpoint.rfind(prefix, 0) != 0) {
    throw std::runtime_error("endpoint " + endpoint + " is not on " + kLoopback +
                             "; this benchmark only loads loopback");
  }
  c.port = static_cast<uint16_t>(std::stoi(endpoint.substr(prefix.size())));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"api_load - request-path load generator for cvmd (loopback only)"};
  std::string credentials_file;
  double duration_s = 5, warmup_s = 0.3;
  int slices = 5;
  std::vector<int> connections = {1, 8, 64};
  int threads = 1;
  std::vector<std::string> workload_names = {"noop", "signed"};
  int server_pid = 0;
  double goal_rate = 20000, goal_p99_ms = 2, goal_ratio = 0.8;
  app.add_option("--credentials", credentials_file,
                 "cvmd's admin-credentials.json (secretId, secretKey, region, endpoint)")
      ->required();
  app.add_option("--duration", duration_s, "measured seconds per row")->check(CLI::PositiveNumber);
  app.add_option("--slices", slices, "slices per row, the workloads taking turns")
      ->check(CLI::Range(1, 100));
  app.add_option("--warmup", warmup_s, "unmeasured seconds before each slice")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--connections", connections, "concurrent connections, one row each")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  app.add_option("--threads", threads, "client threads (they share the machine with cvmd)")
      ->check(CLI::Range(1, 64));
  app.add_option("--server-pid", server_pid, "cvmd's pid, to report its CPU time per request");
  app.add_option("--workloads", workload_names,
                 "noop, signed, signed-to-healthz (the signed request's bytes sent to /healthz: "
                 "its HTTP cost without the pipeline); the ratio needs noop and signed")
      ->delimiter(',')
      ->check(CLI::IsMember({"noop", "signed", "signed-to-healthz"}));
  CLI11_PARSE(app, argc, argv);

  std::vector<Workload> workloads;
  for (const auto& name : workload_names) {
    Workload w = name == "noop"     ? Workload::kNoop
                 : name == "signed" ? Workload::kSigned
                                    : Workload::kSignedToHealthz;
    if (std::find(workloads.begin(), workloads.end(), w) == workloads.end()) workloads.push_back(w);
  }

  Credentials creds;
  try {
    creds = ReadCredentials(credentials_file);
  } catch (const std::exception& e) {
    std::cerr << "api_load: " << e.what() << "\n";
    return 2;
  }

  std::printf(
      "api_load: cvmd at %s:%u, %.1f s per row in %d alternating slices (%.1f s warm-up each), "
      "%d client thread(s)\n",
      kLoopback, creds.port, duration_s, slices, warmup_s, threads);
  std::printf("%-22s %6s %9s %8s %8s %8s %10s %10s %6s\n", "workload", "conns", "requests", "req/s",
              "p50 ms", "p99 ms", "srv us/req", "cli us/req", "errors");
  // Per connection count that ran both no-op and signed: the signed row against the goal.
  struct Ratio {
    int connections;
    double rate, p99_ms, ratio;
  };
  std::vector<Ratio> ratios;
  int64_t total_errors = 0;
  for (int n : connections) {
    std::vector<RowResult> rows;
    for (Workload w : workloads) rows.push_back(RowResult{w, n});
    for (int k = 0; k < slices; ++k) {
      // Each slice reverses the order, so neither workload always runs first.
      for (size_t i = 0; i < rows.size(); ++i) {
        RowResult& row = rows[k % 2 == 0 ? i : rows.size() - 1 - i];
        RunSlice(row, creds, threads, warmup_s, duration_s / slices, server_pid);
      }
    }
    auto find = [&](Workload w) -> RowResult* {
      for (auto& row : rows) {
        if (row.workload == w) return &row;
      }
      return nullptr;
    };
    for (auto& row : rows) {
      std::printf("%-22s %6d %9lld %8.0f %8.3f %8.3f %10.1f %10.1f %6lld\n", Name(row.workload),
                  row.connections, static_cast<long long>(row.requests()), row.rate(),
                  PercentileMs(row.latencies_ns, 0.50), PercentileMs(row.latencies_ns, 0.99),
                  row.UsPerRequest(row.server_cpu_s), row.UsPerRequest(row.client_cpu_s),
                  static_cast<long long>(row.errors));
      if (row.errors > 0) std::printf("    first error: %s\n", row.first_error.c_str());
      total_errors += row.errors;
    }
    Ratio r{n, 0, 0, -1};
    if (auto* noop = find(Workload::kNoop), *sig = find(Workload::kSigned); noop && sig) {
      r.rate = sig->rate();
      r.p99_ms = PercentileMs(sig->latencies_ns, 0.99);
      if (noop->rate() > 0) r.ratio = sig->rate() / noop->rate();
    }
    std::fflush(stdout);
    if (r.ratio >= 0) ratios.push_back(r);
  }

  if (!ratios.empty()) {
    std::printf("\nsigned/no-op throughput ratio:");
    for (const auto& r : ratios) std::printf("  %d conn %.2f", r.connections, r.ratio);
    std::printf("\n");
  }
  // The goal is a property of the server at some concurrency; report each row against it.
  for (const auto& r : ratios) {
    bool met = r.rate >= goal_rate && r.p99_ms < goal_p99_ms && r.ratio >= goal_ratio;
    std::printf("goal (>= %.0f signed req/s, p99 < %.1f ms, >= %.1f of no-op) at %d conn: %s\n",
                goal_rate, goal_p99_ms, goal_ratio, r.connections, met ? "met" : "not met");
  }
  if (total_errors > 0) {
    std::printf("FAILED: %lld error(s)\n", static_cast<long long>(total_errors));
    return 1;
  }
  return 0;
}
