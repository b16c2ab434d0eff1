// Shared pieces of the instance benchmarks: a throw-away cvmd (own data dir and HOME under one
// short temporary directory), official-SDK and raw keep-alive clients, SSH probes, statistics.
// Everything talks to 127.0.0.1 only.
"use strict";
const { spawn, spawnSync, execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const REPO = path.resolve(__dirname, "../..");
const NODE_MODULES = path.join(REPO, "tests/integration/node_modules");
const tencentcloud = require(path.join(NODE_MODULES, "tencentcloud-sdk-nodejs"));
const { tc3Authorization } = require(path.join(REPO, "tests/integration/lib/raw.js"));

const IMAGES = process.env.CVM_PUBLIC_IMAGES || "/var/cache/opencvm/public-images";
const PASSWORD = "Opencvm-bench1";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();  // ms, wall clock, sub-ms

// ---------------------------------------------------------------- statistics

function pct(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  // nearest rank: the smallest value with at least p% of the samples at or below it
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const fmtS = (ms) => (ms / 1000).toFixed(2) + " s";
const fmtMs = (ms) => ms.toFixed(ms < 10 ? 2 : 1) + " ms";

// ---------------------------------------------------------------- cvmd

class Cvmd {
  constructor(dir, buildDir, { config, args = [] } = {}) {
    this.dir = dir;
    this.dataDir = path.join(dir, "data");
    this.home = path.join(dir, "home");
    this.exe = path.join(buildDir, "src/cvmd");
    this.config = config;
    this.extraArgs = args;  // e.g. --store-url
    this.lines = [];  // {t: arrival ms, text}
    this.logFile = path.join(dir, "cvmd.log");
  }

  async start() {
    fs.mkdirSync(this.home, { recursive: true });
    // A network namespace of the benchmark's own, removed when the process exits.
    this.netns = this.netns || `cvmbench${process.pid % 10000}`;
    process.once("exit", () => spawnSync("ip", ["netns", "del", this.netns]));
    const args = ["--data-dir", this.dataDir, "--listen", "127.0.0.1", "--port", "0",
                  "--public-images", IMAGES, "--network-namespace", this.netns,
                  "--uplink-cidr", "169.254.250.0/30", "--public-ip-pool", "198.18.250.0/24"];
    if (this.config) args.push("--config", this.config);
    args.push(...this.extraArgs);
    this.proc = spawn(this.exe, args, {
      env: { ...process.env, HOME: this.home,
             OPENCVM_ACCEL: process.env.BENCH_ACCEL || "tcg" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = fs.createWriteStream(this.logFile, { flags: "a" });
    let partial = "";
    const onData = (d) => {
      log.write(d);
      const t = now();
      partial += d;
      const parts = partial.split("\n");
      partial = parts.pop();
      for (const text of parts) this.lines.push({ t, text });
    };
    this.proc.stdout.on("data", onData);
    this.proc.stderr.on("data", onData);
    const from = this.lines.length;  // a restart: ignore the previous run's lines
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("cvmd did not start; see " + this.logFile)),
                               60000);
      const iv = setInterval(() => {
        for (const l of this.lines.slice(from)) {
          const m = l.text.match(/^cvmd ready on http:\/\/127\.0\.0\.1:(\d+)/);
          if (m) { clearTimeout(timer); clearInterval(iv); resolve(Number(m[1])); }
        }
      }, 20);
      this.proc.on("exit", (code) => {
        clearTimeout(timer); clearInterval(iv);
        reject(new Error(`cvmd exited with ${code}; see ${this.logFile}`));
      });
    });
    this.port = port;
    this.endpoint = `127.0.0.1:${port}`;
    this.creds = JSON.parse(fs.readFileSync(path.join(this.dataDir, "admin-credentials.json")));
    this.cvm = this.client();
    return this;
  }

  get pid() { return this.proc && this.proc.exitCode === null ? this.proc.pid : null; }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 20000);
    await exited;
    clearTimeout(t);
  }

  client() {
    const Client = tencentcloud.cvm.v20170312.Client;
    return new Client({
      credential: { secretId: this.creds.secretId, secretKey: this.creds.secretKey },
      region: this.creds.region || "ap-guangzhou",
      profile: { httpProfile: { endpoint: this.endpoint, protocol: "http://", reqTimeout: 60 } },
    });
  }

  db(sql) {
    return execFileSync("sqlite3", ["-cmd", ".timeout 5000", path.join(this.dataDir, "cvmd.db"),
                                    sql], { encoding: "utf8", maxBuffer: 64 << 20 });
  }

  sshPort(id) { return Number(this.db(`select ssh_port from instances where instance_id='${id}'`)); }
  runDir(id) { return path.join(this.dataDir, "run/instances", id); }

  qemuPid(id) {
    try { return Number(fs.readFileSync(path.join(this.runDir(id), "qemu.pid"), "utf8")); }
    catch (_) { return 0; }
  }

  // spdlog's "[YYYY-MM-DD HH:MM:SS.mmm]" prefix (local time) as epoch ms.
  static logTime(text) {
    const m = text.match(/^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\]/);
    if (!m) return NaN;
    return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]).getTime();
  }

  // The first log line matching `re` (from index `from` on).
  find(re, from = 0) {
    for (let i = from; i < this.lines.length; ++i) if (re.test(this.lines[i].text)) return this.lines[i];
    return null;
  }
}

// A keep-alive TC3-signed client for request-path figures without the SDK's own overhead.
class RawClient {
  constructor(endpoint, creds) {
    this.endpoint = endpoint;
    this.creds = creds;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  call(action, params, { service = "cvm", version = "2017-03-12" } = {}) {
    const [hostname, port] = this.endpoint.split(":");
    const body = Buffer.from(JSON.stringify(params));
    const timestamp = Math.floor(Date.now() / 1000);
    const contentType = "application/json";
    const headers = {
      "Content-Type": contentType, Host: this.endpoint, "X-TC-Action": action,
      "X-TC-Version": version, "X-TC-Timestamp": String(timestamp),
      "X-TC-Region": this.creds.region || "ap-guangzhou", "Content-Length": body.length,
      Authorization: tc3Authorization({ secretId: this.creds.secretId,
                                        secretKey: this.creds.secretKey, service,
                                        host: this.endpoint, method: "POST", query: "",
                                        contentType, body, timestamp }),
    };
    return new Promise((resolve, reject) => {
      const req = http.request({ hostname, port, method: "POST", path: "/", headers,
                                 agent: this.agent }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const r = JSON.parse(Buffer.concat(chunks).toString()).Response;
          if (r.Error) reject(new Error(`${action}: ${r.Error.Code}: ${r.Error.Message}`));
          else resolve(r);
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  close() { this.agent.destroy(); }
}

// ---------------------------------------------------------------- guests

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on("error", reject);
  });
}

function run(cmd, args, { timeout = 30000 } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (d) => { out += d; });
    p.stderr.on("data", (d) => { err += d; });
    const t = setTimeout(() => p.kill("SIGKILL"), timeout);
    p.on("close", (code) => { clearTimeout(t); resolve({ code, out, err }); });
  });
}

function sshArgs(port, cmd, connectTimeout = 3) {
  return ["-p", PASSWORD, "ssh", "-o", "PubkeyAuthentication=no",
          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
          "-o", "LogLevel=ERROR", "-o", `ConnectTimeout=${connectTimeout}`,
          "-p", String(port), "root@127.0.0.1", cmd];
}

function ssh(port, cmd, opts = {}) {
  return run("sshpass", sshArgs(port, cmd, opts.connectTimeout || 10), opts);
}

// Resolves with the wall time (ms) at which the first `ssh ... true` to `port` succeeded.
// A new probe starts every `everyMs` while at most `inFlight` are running, so one probe stuck in
// a retransmitting SYN (the guest's NIC not up yet) does not delay noticing the guest's login.
// `port` may be a function (cvmd only knows the port once QEMU runs).
function waitSsh(port, { everyMs = 250, inFlight = 4, timeoutMs = 300000 } = {}) {
  const deadline = now() + timeoutMs;
  return new Promise((resolve, reject) => {
    let running = 0, done = false;
    const tick = async () => {
      if (done) return;
      if (now() > deadline) { done = true; clearInterval(iv); reject(new Error("ssh timeout")); return; }
      if (running >= inFlight) return;
      const p = typeof port === "function" ? port() : port;
      if (!p) return;
      running++;
      const r = await run("sshpass", sshArgs(p, "true"), { timeout: 8000 });
      running--;
      if (r.code === 0 && !done) { done = true; clearInterval(iv); resolve(now()); }
    };
    const iv = setInterval(tick, everyMs);
    tick();
  });
}

// Polls DescribeInstances until every id is in `state`; resolves {id: wall ms first seen}.
async function waitState(cvm, ids, state, { everyMs = 100, timeoutMs = 300000 } = {}) {
  const seen = {};
  const deadline = now() + timeoutMs;
  while (Object.keys(seen).length < ids.length) {
    if (now() > deadline) throw new Error(`timeout waiting for ${state}: ${JSON.stringify(seen)}`);
    const want = ids.filter((id) => !seen[id]);
    const r = await cvm.DescribeInstances({ InstanceIds: want, Limit: 100 });
    const t = now();
    const found = new Set(r.InstanceSet.map((i) => i.InstanceId));
    for (const i of r.InstanceSet) {
      if (i.InstanceState === state) seen[i.InstanceId] = t;
      if (i.InstanceState === "LAUNCH_FAILED") {
        throw new Error(`${i.InstanceId} LAUNCH_FAILED: ${i.LatestOperationErrorMsg}`);
      }
    }
    if (state === "GONE") for (const id of want) if (!found.has(id)) seen[id] = t;
    if (Object.keys(seen).length < ids.length) await sleep(everyMs);
  }
  return seen;
}

// A process's resident memory by mapping, from /proc/PID/smaps: [{range, name, sizeKiB, rssKiB}].
function smaps(pid) {
  const out = [];
  let cur = null;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = line.match(/^([0-9a-f]+-[0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/);
    if (head) { cur = { range: head[1], name: head[2] || "[anon]", sizeKiB: 0, rssKiB: 0 }; out.push(cur); continue; }
    const m = line.match(/^(Size|Rss):\s+(\d+) kB/);
    if (m && cur) cur[m[1] === "Size" ? "sizeKiB" : "rssKiB"] = Number(m[2]);
  }
  return out;
}

function procStatus(pid, field) {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : NaN;  // KiB
}

// Processes whose command line mentions `dir` (ours: every path we hand out lives under it).
function pidsUnder(dir) {
  const r = spawnSync("pgrep", ["-f", dir], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number).filter((p) => p !== process.pid);
}

function makeWorkDir() {
  // Short: QEMU's unix sockets live under it and sun_path holds 107 bytes.
  return fs.mkdtempSync(path.join(os.tmpdir(), "cvm-ib-"));
}

function randomId(prefix) {
  const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
  const b = crypto.randomBytes(8);
  return prefix + "-" + Array.from(b, (x) => abc[x % abc.length]).join("");
}

module.exports = { Cvmd, RawClient, PASSWORD, IMAGES, sleep, now, pct, mean, fmtS, fmtMs,
                   freePort, run, ssh, waitSsh, waitState, procStatus, smaps, pidsUnder, makeWorkDir,
                   randomId };
