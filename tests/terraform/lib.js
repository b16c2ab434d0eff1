// Runs the official Terraform provider for Tencent Cloud against a local cvmd: installs the
// prebuilt provider as a filesystem mirror (no registry), and runs `terraform` in a private
// mount namespace whose /etc/hosts sends every <service>.<domain> name to loopback.
"use strict";
const { spawn, spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const VERSION = "1.83.25";
const PROVIDER_XZ = process.env.CVM_TERRAFORM_PROVIDER ||
  `/work/shared/tools/terraform/terraform-provider-tencentcloud_v${VERSION}_linux_amd64.xz`;
const PROVIDER_SHA256 = "51db567450ad4caf45209a32afb7a85db825e3b20ab85c44a32e10798f1ee5fa";
// The provider is 366 MB uncompressed: unpacked once and kept across runs.
const CACHE = process.env.CVM_TERRAFORM_CACHE || "/var/cache/opencvm/terraform-provider";
const DOMAIN = "opencvm.test";
// Every service the provider may address; each name resolves to cvmd.
const SERVICES = ["cvm", "cbs", "vpc", "tag", "cam", "sts", "api", "region", "tat", "monitor"];

function sha256(file) {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 22);
  try {
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

// Throws with what to do when a prerequisite is missing.
function checkPrerequisites() {
  if (spawnSync("sh", ["-c", "command -v terraform"]).status !== 0) {
    throw new Error("terraform is not installed (not on PATH). Debian has no package for it: " +
                    "install HashiCorp's build (https://developer.hashicorp.com/terraform/install, " +
                    "1.11 or later) so that `terraform` is on PATH.");
  }
  if (!fs.existsSync(PROVIDER_XZ)) {
    throw new Error(`the prebuilt tencentcloud provider ${VERSION} is missing: ${PROVIDER_XZ} ` +
                    "(set CVM_TERRAFORM_PROVIDER to the .xz of terraform-provider-tencentcloud " +
                    `v${VERSION} for linux_amd64)`);
  }
}

// The mirror directory holding the unpacked provider, unpacked on first use and checked by
// sha256 on every use (a partial or foreign file is replaced).
function installProvider() {
  checkPrerequisites();
  const mirror = path.join(CACHE, "mirror");
  const dir = path.join(mirror, "registry.terraform.io/tencentcloudstack/tencentcloud", VERSION,
                        "linux_amd64");
  const bin = path.join(dir, `terraform-provider-tencentcloud_v${VERSION}`);
  if (fs.existsSync(bin) && sha256(bin) === PROVIDER_SHA256) return mirror;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = spawnSync("sh", ["-c", 'xz -dc "$0" > "$1"', PROVIDER_XZ, tmp], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`unpacking ${PROVIDER_XZ} failed: ${r.stderr}`);
  const got = sha256(tmp);
  if (got !== PROVIDER_SHA256) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${PROVIDER_XZ} unpacks to sha256 ${got}, not ${PROVIDER_SHA256}`);
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, bin);
  return mirror;
}

// A Terraform working directory `dir` holding `configFile` as main.tf, with its CLI
// configuration (the mirror, no registry, no checkpoint) and hosts file beside it.
function workspace(dir, configFile) {
  const mirror = installProvider();
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(configFile, path.join(dir, "main.tf"));
  const rc = path.join(dir, "terraformrc");
  const provider = "registry.terraform.io/tencentcloudstack/tencentcloud";
  fs.writeFileSync(rc, `provider_installation {
  filesystem_mirror {
    path    = "${mirror}"
    include = ["${provider}"]
  }
  direct {
    exclude = ["${provider}"]
  }
}
disable_checkpoint = true
`);
  const hosts = path.join(dir, "hosts");
  fs.writeFileSync(hosts, ["127.0.0.1 localhost", ...SERVICES.map((s) => `127.0.0.1 ${s}.${DOMAIN}`)]
    .join("\n") + "\n");
  return { dir, rc, hosts, log: path.join(dir, "terraform.log") };
}

// Runs `terraform ARGS` in the workspace with `vars` as TF_VAR_* (and `env` added), the debug
// log in ws.log unless `log` is false; resolves to {code, stdout, stderr}. The whole process
// group is killed after `timeoutMs`.
function terraform(ws, args, vars = {},
                   { timeoutMs = 10 * 60000, env: extra = {}, log = true } = {}) {
  const env = { ...process.env, TF_CLI_CONFIG_FILE: ws.rc, CHECKPOINT_DISABLE: "1",
                TF_IN_AUTOMATION: "1", TF_INPUT: "0", ...extra };
  if (log) Object.assign(env, { TF_LOG: "DEBUG", TF_LOG_PATH: ws.log });
  for (const [k, v] of Object.entries(vars)) env[`TF_VAR_${k}`] = String(v);
  return new Promise((resolve) => {
    const p = spawn("unshare", ["-m", "sh", "-c",
                                'mount --bind "$0" /etc/hosts && exec terraform "$@"', ws.hosts,
                                ...args, "-no-color"],
                    { cwd: ws.dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    p.stdout.on("data", (d) => { stdout += d; });
    p.stderr.on("data", (d) => { stderr += d; });
    const timer = setTimeout(() => {
      stderr += `\n(terraform ${args[0]} killed after ${timeoutMs / 1000} s)`;
      try { process.kill(-p.pid, "SIGKILL"); } catch { /* already gone */ }
    }, timeoutMs);
    p.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

// The provider's failed API calls from the debug log: what to look at when a step fails.
function failedCalls(ws) {
  if (!fs.existsSync(ws.log)) return "";
  const lines = fs.readFileSync(ws.log, "utf8").split("\n").filter((l) => /\[CRITAL\]/.test(l));
  const calls = lines.map((l) => l.replace(/^.*?\[CRITAL\]\S*\s*/, "")
    .replace(/RequestId=[0-9a-f-]+/g, "").slice(0, 400));
  return [...new Set(calls)]
    .slice(-15).join("\n");
}

module.exports = { DOMAIN, installProvider, workspace, terraform, failedCalls, checkPrerequisites };
