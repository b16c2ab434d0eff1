// Starts a real cvmd on a free loopback port with its own data directory and HOME, and builds
// official-SDK clients pointed at it. Tests talk to cvmd only through these clients and `cvm`.
"use strict";
const { spawn, spawnSync, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const tencentcloud = require("tencentcloud-sdk-nodejs");

const BUILD_DIR = process.env.CVM_BUILD_DIR || path.resolve(__dirname, "../../../build/release");
// With CVM_TEST_PG (the socket directory of a throw-away PostgreSQL cluster, see
// scripts/test-postgres), every daemon keeps its state in a database of its own there instead
// of the SQLite file in its data directory.
const PG_SOCKET_DIR = process.env.CVM_TEST_PG || "";
const CVMD = path.join(BUILD_DIR, "src/cvmd");
const CVM = path.join(BUILD_DIR, "src/cvm");

class Daemon {
  constructor(opts = {}) {
    this.dir = opts.dir || fs.mkdtempSync(path.join(os.tmpdir(), "cvmd-it-"));
    this.dataDir = path.join(this.dir, "data");
    this.home = path.join(this.dir, "home");
    // Each daemon its own network namespace, uplink and public pool, so that daemons of
    // different test files (or test runs) never share a data path.
    const n = (process.pid * 7 + Daemon.count++) % 16000;
    this.netns = `cvmt${n}`;
    this.publicPool = `198.18.${n % 250}.0/24`;
    this.extraArgs = ["--network-namespace", this.netns,
                      "--uplink-cidr", `169.254.${64 + (n % 120)}.${(Math.floor(n / 120) % 64) * 4}/30`,
                      "--public-ip-pool", this.publicPool, ...(opts.args || [])];
    this.env = opts.env || {};
    this.log = "";
    this.storeArgs = [];
    if (PG_SOCKET_DIR) {
      // Kept in the directory, so a daemon built on another's directory shares its database.
      const file = path.join(this.dir, "store-url");
      if (!fs.existsSync(file)) {
        const db = `cvmt_${process.pid}_${Daemon.count}_${Date.now() % 100000}`;
        execFileSync("createdb", ["-h", PG_SOCKET_DIR, "-U", "postgres", db]);
        fs.writeFileSync(file, `postgresql:///${db}?host=${PG_SOCKET_DIR}&user=postgres`);
      }
      this.storeUrl = fs.readFileSync(file, "utf8");
      this.storeArgs = ["--store-url", this.storeUrl];
    }
  }

  // Runs one SQL statement on the daemon's store (SQLite or PostgreSQL) and returns its output,
  // one row per line, columns separated by '|'. For tests that must reach past the API.
  sql(statement) {
    if (this.storeUrl) {
      return execFileSync("psql", [this.storeUrl, "-qAt", "-v", "ON_ERROR_STOP=1",
                                   "-c", statement]).toString();
    }
    return execFileSync("sqlite3", ["-cmd", ".timeout 5000", path.join(this.dataDir, "cvmd.db"),
                                    statement]).toString();
  }

  async start() {
    fs.mkdirSync(this.home, { recursive: true });
    this.proc = spawn(CVMD, ["--data-dir", this.dataDir, ...this.storeArgs,
                             "--port", String(this.port || 0), ...this.extraArgs], {
      env: { ...process.env, HOME: this.home, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stderr.on("data", (d) => { this.log += d; });
    // What this start printed, newest last: a failure report shows why this start failed,
    // not the first start's launch lines.
    const since = this.log.length;
    const thisStart = () => this.log.slice(since).split("\n").slice(-60).join("\n");
    const ready = await new Promise((resolve, reject) => {
      let out = "";
      // Generous: a restart re-attaches to every running guest over QMP, which a loaded TCG
      // guest may answer slowly.
      const timer = setTimeout(() => reject(new Error("cvmd did not start within 60 s; the end of " +
                                                      "what it printed:\n" + thisStart())), 60000);
      this.proc.stdout.on("data", (d) => {
        out += d;
        this.log += d;
        const m = out.match(/cvmd ready on (https?):\/\/([\d.]+):(\d+)/);
        if (m) { clearTimeout(timer); resolve({ scheme: m[1], host: m[2], port: Number(m[3]) }); }
      });
      this.proc.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`cvmd exited with ${code}:\n${thisStart()}`));
      });
    });
    this.port = ready.port;
    this.scheme = ready.scheme;
    this.endpoint = `${ready.host}:${ready.port}`;
    this.admin = JSON.parse(fs.readFileSync(path.join(this.dataDir, "admin-credentials.json")));
    return this;
  }

  async stop(signal = "SIGTERM") {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill(signal);
    await exited;
  }

  // A further root account (tenant), created with the admin command.
  createAccount(name) {
    const out = execFileSync(CVMD, ["--data-dir", this.dataDir, ...this.storeArgs, "account",
                                    "create", name],
                             { env: { ...process.env, HOME: this.home } });
    const a = JSON.parse(out.toString());
    return { secretId: a.SecretId, secretKey: a.SecretKey, uin: a.Uin, appId: a.AppId };
  }

  client(service, creds = this.admin, profile = {}) {
    const versions = { cvm: "v20170312", cbs: "v20170312", vpc: "v20170312", cam: "v20190116",
                       tag: "v20180813", tat: "v20201028" };
    const Client = tencentcloud[service][versions[service]].Client;
    return new Client({
      credential: { secretId: creds.secretId, secretKey: creds.secretKey },
      region: profile.region === undefined ? "ap-guangzhou" : profile.region,
      profile: {
        ...profile.extra,
        httpProfile: { endpoint: this.endpoint, protocol: "http://", reqTimeout: 60,
                       ...(profile.httpProfile || {}) },
      },
    });
  }

  // Runs the `cvm` CLI with this daemon's client files (HOME) and returns {code, stdout, stderr}.
  cli(args, opts = {}) {
    const r = spawnSync(CVM, args, { env: { ...process.env, HOME: this.home, ...(opts.env || {}) },
                                     encoding: "utf8", timeout: opts.timeout || 120000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  cleanup() {
    spawnSync("ip", ["netns", "del", this.netns]);
    if (this.storeUrl) {
      const url = new URL(this.storeUrl);
      spawnSync("dropdb", ["-h", url.searchParams.get("host"), "-U", "postgres", "--if-exists",
                           "--force", url.pathname.slice(1)]);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Expects `promise` to reject with a TencentCloudSDKException of the given code.
async function expectCode(promise, code) {
  try {
    await promise;
  } catch (e) {
    if (e.code !== code) {
      throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    }
    if (!/^[0-9a-f-]{36}$/.test(e.requestId || "")) throw new Error("error without RequestId");
    return e;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

Daemon.count = 0;

module.exports = { Daemon, expectCode, CVMD, CVM, BUILD_DIR };
