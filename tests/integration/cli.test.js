// The `cvm` CLI as a person uses it: tables, JSON output, errors, OpenCVM's extension actions,
// and (when CVM_PUBLIC_IMAGES names the public images) one real VM from `cvm run` to `cvm rm`.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { Daemon, expectCode, CVM } = require("./lib/daemon");

const IMAGES = process.env.CVM_PUBLIC_IMAGES;
const VM_TIMEOUT_MS = 180000;

let d;
before(async () => {
  d = new Daemon({ args: IMAGES ? ["--public-images", IMAGES] : [],
                   env: { OPENCVM_ACCEL: "tcg" } });
  await d.start();
});

// Pids of processes whose command line mentions this test's directory (its QEMUs).
function processesOf(dir) {
  const pids = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes(dir) && cmd.includes("qemu")) pids.push(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

after(async () => {
  // Terminate whatever a failed test left behind, then stop the daemon; no QEMU may remain.
  try {
    const cvm = d.client("cvm");
    const left = (await cvm.DescribeInstances({ Limit: 100 })).InstanceSet
      .filter((i) => ["RUNNING", "STOPPED", "LAUNCH_FAILED", "SHUTDOWN"].includes(i.InstanceState))
      .map((i) => i.InstanceId);
    if (left.length) await cvm.TerminateInstances({ InstanceIds: left });
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline &&
           (await cvm.DescribeInstances({ Limit: 100 })).TotalCount > 0) {
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await d.stop();
    const stray = processesOf(d.dir);
    for (const pid of stray) { try { process.kill(pid, "SIGKILL"); } catch { /* exited */ } }
    d.cleanup();
    assert.deepEqual(stray, [], "QEMU processes outlived the test");
  }
});

// Runs `cvm` without blocking the event loop (a long `cvm run` must not stall reading cvmd's
// log pipe). Resolves to {code, stdout, stderr}.
function cliAsync(args, timeoutMs = VM_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const p = spawn(CVM, args, { env: { ...process.env, HOME: d.home } });
    let stdout = "", stderr = "";
    p.stdout.on("data", (b) => { stdout += b; });
    p.stderr.on("data", (b) => { stderr += b; });
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`cvm ${args.join(" ")} timed out:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    p.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test("cvm ls on an empty account prints the header only", () => {
  const r = d.cli(["ls"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stdout);
  assert.match(lines[0], /^ID\s+NAME\s+STATE\s+TYPE\s+IMAGE\s+PRIVATE IP\s+CREATED$/);
  const json = d.cli(["ls", "-o", "json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), []);
});

test("cvm api DescribeZones prints a table, and JSON with -o json", () => {
  const table = d.cli(["api", "DescribeZones"]);
  assert.equal(table.code, 0, table.stderr);
  const [header, ...rows] = table.stdout.trimEnd().split("\n");
  assert.match(header, /\bZone\b/);
  assert.ok(rows.length >= 1 && rows.every((l) => /ap-guangzhou-\d/.test(l)), table.stdout);
  for (const args of [["-o", "json", "api", "DescribeZones"], ["api", "DescribeZones", "-o", "json"]]) {
    const r = d.cli(args);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.equal(body.TotalCount, body.ZoneSet.length);
    assert.match(body.RequestId, /^[0-9a-f-]{36}$/);
  }
});

test("cvm ssh of an unknown instance fails with InvalidInstanceId.NotFound", () => {
  const r = d.cli(["ssh", "ins-00000000"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: InvalidInstanceId\.NotFound: /);
  assert.equal(r.stdout, "");
  const c = d.cli(["console", "ins-00000000"]);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /^error: InvalidInstanceId\.NotFound: /);
});

test("the extension actions validate their parameters themselves", async () => {
  for (const action of ["DescribeInstanceLoginEndpoint", "GetInstanceConsoleOutput"]) {
    const r = d.cli(["api", action, "--json", '{"InstanceId":"ins-BAD"}']);
    assert.equal(r.code, 1, action);
    assert.match(r.stderr, /^error: InvalidInstanceId\.Malformed: /, action);
    const missing = d.cli(["api", action]);
    assert.match(missing.stderr, /^error: MissingParameter: /, action);
  }
  assert.match(d.cli(["ssh", "i-123"]).stderr, /^error: InvalidInstanceId\.Malformed: /);
  assert.match(d.cli(["console", "nope"]).stderr, /^error: InvalidInstanceId\.Malformed: /);

  // Through the official SDK too: names, types and values are checked without a schema.
  const cvm = d.client("cvm");
  await expectCode(cvm.request("DescribeInstanceLoginEndpoint", { InstanceId: 7 }),
                   "InvalidParameterValue");
  await expectCode(cvm.request("DescribeInstanceLoginEndpoint",
                               { InstanceId: "ins-00000000", Port: 22 }), "UnknownParameter");
  await expectCode(cvm.request("GetInstanceConsoleOutput",
                               { InstanceId: "ins-00000000", Limit: 0 }), "InvalidParameterValue");
  await expectCode(cvm.request("GetInstanceConsoleOutput",
                               { InstanceId: "ins-00000000", Offset: -1 }), "InvalidParameterValue");
  await expectCode(cvm.request("GetInstanceConsoleOutput", { InstanceId: "ins-00000000" }),
                   "InvalidInstanceId.NotFound");
  // GET and signature v1 carry only strings: numbers in decimal are accepted, others are not.
  for (const extra of [{ httpProfile: { reqMethod: "GET" } }, { extra: { signMethod: "HmacSHA256" } }]) {
    const c = d.client("cvm", d.admin, extra);
    await expectCode(c.request("GetInstanceConsoleOutput", { InstanceId: "ins-00000000", Limit: 10 }),
                     "InvalidInstanceId.NotFound");
    await expectCode(c.request("GetInstanceConsoleOutput", { InstanceId: "ins-00000000", Limit: "x" }),
                     "InvalidParameterValue");
  }
  // A Tencent action name is never taken over: unknown actions stay InvalidAction.
  assert.match(d.cli(["api", "DescribeUnicorns"]).stderr, /^error: InvalidAction: /);
});

test("cvm images and cvm keys print their tables", () => {
  const images = d.cli(["images"]);
  assert.equal(images.code, 0, images.stderr);
  assert.match(images.stdout.split("\n")[0], /^ID\s+NAME\s+TYPE\s+OS\s+SIZE\s+STATE\s+CREATED$/);
  if (IMAGES) assert.match(images.stdout, /img-[a-z0-9]{8}\s+OpenCVM Tiny Linux\s+PUBLIC_IMAGE/);
  const keys = d.cli(["keys"]);
  assert.equal(keys.code, 0, keys.stderr);
  assert.match(keys.stdout.split("\n")[0], /^ID\s+NAME\s+KEY\s+CREATED$/);
});

test("cvm run, ssh, console, stop and rm drive one real VM", { skip: !IMAGES && "CVM_PUBLIC_IMAGES not set", timeout: 4 * VM_TIMEOUT_MS }, async () => {
  const run = await cliAsync(["run", "--type", "T1.NANO1", "--name", "clitest"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^ins-[a-z0-9]{8}$/, run.stdout);
  assert.match(run.stderr, new RegExp(`cvm ssh ${id}`));
  // The key landed in the daemon's HOME and was imported once, under this machine's name.
  assert.ok(fs.existsSync(path.join(d.home, ".ssh/id_ed25519")));
  const pub = fs.readFileSync(path.join(d.home, ".ssh/id_ed25519.pub"), "utf8").trim();
  const pairs = (await d.client("cvm").DescribeKeyPairs({})).KeyPairSet;
  assert.equal(pairs.length, 1);
  assert.match(pairs[0].KeyName, /^cvm_\w+$/);
  assert.equal(pairs[0].PublicKey, pub);

  // Another account cannot learn where the instance listens.
  const other = d.client("cvm", d.createAccount("cli-other"));
  await expectCode(other.request("DescribeInstanceLoginEndpoint", { InstanceId: id }),
                   "InvalidInstanceId.NotFound");
  const endpoint = await d.client("cvm").request("DescribeInstanceLoginEndpoint", { InstanceId: id });
  assert.equal(endpoint.Host, "127.0.0.1");
  assert.equal(endpoint.User, "root");
  assert.ok(Number.isInteger(endpoint.Port) && endpoint.Port > 0);

  const ls = d.cli(["ls"]);
  assert.match(ls.stdout, new RegExp(`^${id}\\s+clitest\\s+RUNNING\\s+T1\\.NANO1\\s+img-`, "m"));

  // The tiny image sets the host name to the instance id when none is given.
  const ssh = await cliAsync(["ssh", id, "--", "hostname"]);
  assert.equal(ssh.code, 0, ssh.stderr);
  assert.equal(ssh.stdout.trim(), id);
  // The remote command's exit code is cvm's; as with ssh, the words form one shell command line.
  const exit = await cliAsync(["ssh", id, "--", "echo", "out;", "exit", "7"]);
  assert.equal(exit.stdout, "out\n");
  assert.equal(exit.code, 7, exit.stderr);

  const consoleOut = await cliAsync(["console", id]);
  assert.equal(consoleOut.code, 0, consoleOut.stderr);
  assert.match(consoleOut.stdout, /opencvm-tiny/);
  // Paging: reading from an offset continues exactly where the previous read ended.
  const cvm = d.client("cvm");
  const first = await cvm.request("GetInstanceConsoleOutput", { InstanceId: id, Offset: 0, Limit: 100 });
  const next = await cvm.request("GetInstanceConsoleOutput",
                                 { InstanceId: id, Offset: first.Offset, Limit: 100 });
  assert.ok(first.Offset > 0 && first.Offset <= 100);
  assert.equal(next.Offset > first.Offset, true);

  const stop = await cliAsync(["stop", id, "--hard", "--wait"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`^${id} STOPPED$`, "m"));
  const stopped = d.cli(["ssh", id, "--", "true"]);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /^error: UnsupportedOperation\.InstanceStateStopped: /);

  // Captured while stopped: the verb waits with a progress bar until the image is NORMAL.
  const capture = await cliAsync(["image", "create", id, "--name", "cli-capture"]);
  assert.equal(capture.code, 0, capture.stderr);
  const image = capture.stdout.trim();
  assert.match(image, /^img-[a-z0-9]{8}$/);
  assert.match(capture.stderr, /\[#+\] 100%/);
  assert.match(d.cli(["image", "ls"]).stdout,
               new RegExp(`^${image}\\s+cli-capture\\s+PRIVATE_IMAGE\\s.*\\sNORMAL\\s`, "m"));
  const dup = await cliAsync(["image", "create", id, "--name", "cli-capture"]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /^error: InvalidImageName\.Duplicate: /);
  assert.equal((await cliAsync(["image", "rm", image])).code, 0);

  const rm = await cliAsync(["rm", id, "--wait"]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(rm.stdout, new RegExp(`^${id} TERMINATED$`, "m"));
  assert.equal(d.cli(["ls"]).stdout.trimEnd().split("\n").length, 1);
  assert.deepEqual(processesOf(d.dir), []);
});
