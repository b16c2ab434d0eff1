// Helpers for the end-to-end tests on real VMs: waiting for states, logging in over SSH.
"use strict";
const { spawnSync, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { Daemon, expectCode } = require("../integration/lib/daemon");

const IMAGES = process.env.CVM_PUBLIC_IMAGES || "/var/cache/opencvm/public-images";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startDaemon(opts = {}) {
  const d = new Daemon({ ...opts, args: ["--public-images", IMAGES, ...(opts.args || [])],
                         env: { OPENCVM_ACCEL: "tcg", ...(opts.env || {}) } });
  await d.start();
  return d;
}

async function tinyImageId(cvm) {
  const r = await cvm.DescribeImages({ Filters: [{ Name: "image-name", Values: ["Tiny"] }] });
  if (!r.ImageSet.length) throw new Error("tiny image not registered; run images/install-public");
  return r.ImageSet[0].ImageId;
}

// Polls DescribeInstances until every id is in one of `states` (or gone, for "GONE").
async function waitState(cvm, ids, states, timeoutMs = 240000) {
  const want = new Set([].concat(states));
  const deadline = Date.now() + timeoutMs;
  let last = {};
  while (Date.now() < deadline) {
    const r = await cvm.DescribeInstances({ InstanceIds: ids, Limit: 100 });
    last = Object.fromEntries(r.InstanceSet.map((i) => [i.InstanceId, i]));
    const done = ids.every((id) => (last[id] ? want.has(last[id].InstanceState) : want.has("GONE")));
    if (done) return last;
    await sleep(500);
  }
  throw new Error(`timeout waiting for ${[...want]}: ` +
                  JSON.stringify(Object.values(last).map((i) => [i.InstanceId, i.InstanceState,
                                                                 i.LatestOperationErrorMsg])));
}

// The loopback port cvmd relays to the guest's SSH (the management path behind `cvm ssh`).
function sshPort(d, id) {
  return Number(d.sql(`select ssh_port from instances where instance_id='${id}'`).trim());
}

// One SSH attempt as root with a password or a key (only that method); returns spawnSync's
// result (status 0: logged in and `cmd` succeeded).
// `host` (with port 22) instead of the management forward: e.g. a public address.
function sshOnce(d, id, cmd, { password, key, host } = {}) {
  const base = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-o", "IdentitiesOnly=yes",
                "-o", "NumberOfPasswordPrompts=1", "-p", host ? "22" : String(sshPort(d, id))];
  const args = key ? ["ssh", "-i", key, "-o", "PasswordAuthentication=no",
                      "-o", "KbdInteractiveAuthentication=no", ...base]
                   : ["sshpass", "-p", password, "ssh", "-o", "PubkeyAuthentication=no", ...base];
  return spawnSync(args[0], [...args.slice(1), `root@${host || "127.0.0.1"}`, cmd],
                   { encoding: "utf8", timeout: 30000 });
}

// Runs `cmd` in the guest as root, retrying until SSH answers; returns stdout.
async function ssh(d, id, cmd, { password, key, host, timeoutMs = 180000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = sshOnce(d, id, cmd, { password, key, host });
    if (last.status === 0) return last.stdout;
    await sleep(1000);
  }
  throw new Error(`ssh to ${id} failed: ${last && (last.stderr || last.error)}`);
}

async function uptime(d, id, auth) {
  return parseFloat((await ssh(d, id, "cat /proc/uptime", auth)).split(" ")[0]);
}

function qemuPids(dir) {
  const r = spawnSync("pgrep", ["-f", `qemu-system-x86_64.*${dir}`], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

function makeKey(dir) {
  const key = path.join(dir, "id_ed25519");
  if (!fs.existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  return { key, pub: fs.readFileSync(key + ".pub", "utf8").trim() };
}

// One QMP command on an instance's monitor, as an operator would send it (tests only).
function qmp(d, id, execute, args = {}) {
  const net = require("node:net");
  const sock = path.join(d.dataDir, "run/instances", id, "qmp.sock");
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = "";
    let sent = false;
    c.on("data", (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.QMP) {
          c.write(JSON.stringify({ execute: "qmp_capabilities" }) + "\n");
        } else if (!sent && "return" in msg) {
          sent = true;
          c.write(JSON.stringify({ execute, arguments: args }) + "\n");
        } else if ("return" in msg || "error" in msg) {
          c.end();
          return msg.error ? reject(new Error(msg.error.desc)) : resolve(msg.return);
        }
      }
    });
    c.on("error", reject);
  });
}

// Polls DescribeDisks until `pred(disk)` holds for every id.
async function waitDisks(cbs, ids, pred, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  let last = [];
  while (Date.now() < deadline) {
    last = (await cbs.DescribeDisks({ DiskIds: ids, Limit: 100 })).DiskSet;
    if (last.length === ids.length && last.every(pred)) return last;
    await sleep(300);
  }
  throw new Error("timeout waiting for disks: " +
                  JSON.stringify(last.map((x) => [x.DiskId, x.DiskState, x.InstanceId,
                                                  x.ErrorPrompt])));
}

// Terminates `ids` and waits until they are gone (best effort: a test's teardown), then stops
// the daemon whatever happened.
async function terminateThenStop(d, cvm, ids) {
  try {
    await cvm.TerminateInstances({ InstanceIds: ids }).catch(() => {});
    await waitState(cvm, ids, "GONE", 120000).catch(() => {});
  } finally {
    await d.stop();
  }
}

module.exports = { terminateThenStop, startDaemon, tinyImageId, waitState, ssh, sshOnce, uptime, sshPort, qemuPids,
                   makeKey, sleep, expectCode, qmp, waitDisks };
