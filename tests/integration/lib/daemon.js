// Starts a real cvmd on a free loopback port with its own data directory and HOME, and builds
// official-SDK clients pointed at it. Tests talk to cvmd only through these clients and `cvm`.
"use strict";
const { spawn, spawnSync, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const tencentcloud = require("tencentcloud-sdk-nodejs");

const BUILD_DIR = process.env.CVM_BUILD_DIR || path.resolve(__dirname, "../../../build/release");
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
  }

  async start() {
    fs.mkdirSync(this.home, { recursive: true });
    this.proc = spawn(CVMD, ["--data-dir", this.dataDir, "--port", String(this.port || 0),
                             ...this.extraArgs], {
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
    const out = execFileSync(CVMD, ["--data-dir", this.dataDir, "account", "create", name],
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
