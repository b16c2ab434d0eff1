// TAT, `cvm exec`, online password resets, frozen snapshots and guest metrics on a real tiny
// guest: commands run through the guest agent with their output, exit code,
// the 24 KB output cap, timeouts and cancels; CAM per instance; and a guest whose agent stops
// answering is reported Offline and refuses new commands clearly. One guest for every case.
"use strict";
const { test, before, after } = require("node:test");
const { execFileSync } = require("node:child_process");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const L = require("./lib");

let d, cvm, tat, cam, owner, id;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64 = (s) => Buffer.from(s).toString("base64");
const FINISHED = new Set(["SUCCESS", "FAILED", "TIMEOUT", "CANCELLED", "TERMINATED",
                          "DELIVER_FAILED", "START_FAILED"]);

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  tat = d.client("tat");
  cam = d.client("cam");
  owner = d.admin.uin;
  const image = await L.tinyImageId(cvm);
  id = (await cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                 InstanceType: "T1.NANO1",
                                 LoginSettings: { Password: "Tat-e2e-First1" } })).InstanceIdSet[0];
  await L.waitState(cvm, [id], "RUNNING");
  const deadline = Date.now() + 240000;
  while (Date.now() < deadline) {
    const s = await tat.DescribeAutomationAgentStatus({ InstanceIds: [id] });
    if (s.AutomationAgentSet[0].AgentStatus === "Online") return;
    await sleep(1000);
  }
  throw new Error("the guest agent never came online");
});

after(async () => {
  try {
    if (id) {
      await cvm.TerminateInstances({ InstanceIds: [id] }).catch(() => {});
      await L.waitState(cvm, [id], "GONE", 120000).catch(() => {});
    }
  } finally {
    await d.stop();
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-e2e-tat.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

// Runs `script` and waits for its one task to finish.
async function run(script, extra = {}) {
  const r = await tat.RunCommand({ Content: b64(script), InstanceIds: [id], ...extra });
  assert.match(r.InvocationId, /^inv-/);
  assert.match(r.CommandId, /^cmd-/);
  return { invocation: r.InvocationId, task: await finished(r.InvocationId) };
}

async function finished(invocation, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await tat.DescribeInvocationTasks({
      Filters: [{ Name: "invocation-id", Values: [invocation] }] });
    assert.equal(r.TotalCount, 1);
    const t = r.InvocationTaskSet[0];
    if (FINISHED.has(t.TaskStatus)) return t;
    await sleep(200);
  }
  throw new Error(`invocation ${invocation} did not finish`);
}

const output = (t) => Buffer.from(t.TaskResult.Output, "base64").toString();

test("a command's output, exit code and status", async () => {
  const { invocation, task } = await run("echo hello; echo oops >&2; exit 3");
  assert.equal(task.TaskStatus, "FAILED");
  assert.equal(task.TaskResult.ExitCode, 3);
  assert.equal(output(task), "hello\noops\n");
  assert.equal(task.TaskResult.Dropped, 0);
  assert.equal(task.InstanceId, id);
  const inv = await tat.DescribeInvocations({ InvocationIds: [invocation] });
  assert.equal(inv.InvocationSet[0].InvocationStatus, "FAILED");

  const ok = (await run("true")).task;
  assert.equal(ok.TaskStatus, "SUCCESS");
  assert.equal(ok.TaskResult.ExitCode, 0);
  assert.equal(output(ok), "");

  const dir = (await run("pwd; id -un", { WorkingDirectory: "/tmp" })).task;
  assert.equal(output(dir), "/tmp\nroot\n");
});

test("cvm exec prints the output and exits with the command's status", async () => {
  let r = d.cli(["exec", id, "--", "sh", "-c", "echo \"it's here\"; exit 5"]);
  assert.equal(r.stdout, "it's here\n", r.stderr);
  assert.equal(r.code, 5);
  r = d.cli(["exec", id, "--", "uname -s | tr A-Z a-z"]);
  assert.equal(r.stdout, "linux\n", r.stderr);
  assert.equal(r.code, 0);
  r = d.cli(["exec", "--timeout", "1", id, "--", "sleep 30"]);
  assert.equal(r.code, 124, r.stderr);
});

test("output beyond 24 KB is cut and counted in Dropped", async () => {
  const { task } = await run("head -c 30000 /dev/zero | tr '\\0' a");
  assert.equal(task.TaskStatus, "SUCCESS");
  assert.equal(output(task), "a".repeat(24 * 1024));
  assert.equal(task.TaskResult.Dropped, 30000 - 24 * 1024);
});

test("a command that outlives its Timeout is stopped as TIMEOUT; a cancel stops one", async () => {
  const slow = (await run("sleep 600", { Timeout: 2 })).task;
  assert.equal(slow.TaskStatus, "TIMEOUT");

  const r = await tat.RunCommand({ Content: b64("sleep 600"), InstanceIds: [id] });
  await sleep(1500);
  await tat.CancelInvocation({ InvocationId: r.InvocationId });
  const t = await finished(r.InvocationId);
  assert.ok(["TERMINATED", "CANCELLED"].includes(t.TaskStatus), t.TaskStatus);
  // Nothing of it runs on in the guest.
  const left = (await run("ps | grep -c '[s]leep 600' || true")).task;
  assert.equal(output(left).trim(), "0");
});

test("bad requests are refused clearly", async () => {
  await L.expectCode(tat.RunCommand({ Content: "not base64!", InstanceIds: [id] }),
                     "InvalidParameterValue.InvalidContent");
  await L.expectCode(tat.RunCommand({ Content: b64("true"), InstanceIds: ["ins-00000000"] }),
                     "ResourceNotFound.InstanceNotFound");
  await L.expectCode(tat.RunCommand({ Content: b64("true"), InstanceIds: ["nonsense"] }),
                     "InvalidParameterValue.InvalidInstanceId");
  await L.expectCode(tat.RunCommand({ Content: b64("true"), InstanceIds: [id], Timeout: 0 }),
                     "InvalidParameterValue.Range");
  await L.expectCode(tat.RunCommand({ Content: b64("true"), InstanceIds: [id], Username: "Bad User" }),
                     "InvalidParameterValue.InvalidUsername");
  await L.expectCode(tat.InvokeCommand({ CommandId: "cmd-00000000", InstanceIds: [id] }),
                     "ResourceNotFound.CommandNotFound");
  await L.expectCode(tat.CancelInvocation({ InvocationId: "inv-00000000" }),
                     "ResourceNotFound.InvocationNotFound");
});

test("saved commands: create, invoke, list, delete", async () => {
  const c = await tat.CreateCommand({ CommandName: "hello", Content: b64("echo saved") });
  const listed = await tat.DescribeCommands({ CommandIds: [c.CommandId] });
  assert.equal(listed.TotalCount, 1);
  assert.equal(listed.CommandSet[0].CommandName, "hello");
  const inv = await tat.InvokeCommand({ CommandId: c.CommandId, InstanceIds: [id] });
  assert.equal(output(await finished(inv.InvocationId)), "saved\n");
  await tat.DeleteCommand({ CommandId: c.CommandId });
  assert.equal((await tat.DescribeCommands({ CommandIds: [c.CommandId] })).TotalCount, 0);
});

test("a sub-user without rights on the instance cannot run commands on it", async () => {
  const u = await cam.AddUser({ Name: "tatuser", UseApi: 1 });
  const p = await cam.CreatePolicy({
    PolicyName: "tatotherinstance",
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [
      { effect: "allow", action: ["tat:*"],
        resource: `qcs::cvm:ap-guangzhou:uin/${owner}:instance/ins-00000000` }] }),
  });
  await cam.AttachUserPolicy({ PolicyId: p.PolicyId, AttachUin: u.Uin });
  const sub = d.client("tat", { secretId: u.SecretId, secretKey: u.SecretKey });
  const e = await sub.RunCommand({ Content: b64("true"), InstanceIds: [id] }).then(
    () => null, (err) => err);
  assert.ok(e, "the sub-user's RunCommand was accepted");
  assert.match(e.code, /^(AuthFailure|UnauthorizedOperation)/);
});

test("ResetInstancesPassword on a running guest goes through the agent: no reboot", async () => {
  const before = parseFloat(output((await run("cat /proc/uptime")).task));
  await cvm.ResetInstancesPassword({ InstanceIds: [id], Password: "Tat-e2e-Second2" });
  const inst = (await cvm.DescribeInstances({ InstanceIds: [id] })).InstanceSet[0];
  assert.equal(inst.InstanceState, "RUNNING");
  assert.equal(inst.LatestOperationState, "SUCCESS");
  const up = await L.uptime(d, id, { password: "Tat-e2e-Second2" });
  assert.ok(up > before, `uptime ${up} after ${before}: the guest rebooted`);
  assert.notEqual(L.sshOnce(d, id, "true", { password: "Tat-e2e-First1" }).status, 0);
});

test("a snapshot of a disk being written is consistent: the guest's file system is frozen", async () => {
  const cbs = d.client("cbs");
  const disk = (await cbs.CreateDisks({
    Placement: { Zone: "ap-guangzhou-3" }, DiskChargeType: "POSTPAID_BY_HOUR",
    DiskType: "CLOUD_PREMIUM", DiskSize: 10, DiskName: "frozen" })).DiskIdSet[0];
  await L.waitDisks(cbs, [disk], (x) => x.DiskState === "UNATTACHED");
  await cbs.AttachDisks({ InstanceId: id, DiskIds: [disk] });
  await L.waitDisks(cbs, [disk], (x) => x.DiskState === "ATTACHED");
  // An ext4 with a journal, mounted, and a writer that never stops while the snapshot is taken.
  const dev = `/dev/disk/by-id/virtio-${disk}`;
  const setup = (await run(`for i in $(seq 50); do [ -e ${dev} ] && break; sleep 0.2; done; ` +
                           `mkfs.ext4 -q ${dev} && mkdir -p /mnt/d && mount ${dev} /mnt/d && ` +
                           "(while :; do dd if=/dev/urandom of=/mnt/d/f bs=64k count=8 " +
                           "2>/dev/null; done) >/dev/null 2>&1 & sleep 1; echo started")).task;
  assert.equal(output(setup), "started\n", setup.ErrorInfo);
  const snap = (await cbs.CreateSnapshot({ DiskId: disk, SnapshotName: "live" })).SnapshotId;
  for (const deadline = Date.now() + 120000; ; await sleep(500)) {
    const s = (await cbs.DescribeSnapshots({ SnapshotIds: [snap] })).SnapshotSet[0];
    if (s.SnapshotState === "NORMAL") break;
    assert.ok(Date.now() < deadline && s.SnapshotState === "CREATING", s.SnapshotState);
  }
  // A mounted ext4 carries the "needs recovery" flag (journal replay at the next mount); a
  // frozen one has flushed its journal and cleared it, so the copy mounts as it is.
  const raw = path.join(d.dir, "snap-head.raw");
  execFileSync("qemu-img", ["dd", "-f", "qcow2", "-O", "raw", "bs=1024", "count=2",
                            `if=${path.join(d.dataDir, "snapshots", snap + ".qcow2")}`,
                            `of=${raw}`]);
  const sb = fs.readFileSync(raw).subarray(1024);
  assert.equal(sb.readUInt16LE(56), 0xef53, "no ext4 superblock in the snapshot");
  assert.equal(sb.readUInt32LE(0x60) & 0x4, 0, "the snapshot's ext4 needs journal recovery");
  // And the guest runs on, thawed: it can still write.
  const after = (await run("touch /mnt/d/after && echo written")).task;
  assert.equal(output(after), "written\n");
  const frozenFor = /file systems frozen for (\d+) ms/.exec(d.log);
  assert.ok(frozenFor, "cvmd did not log a freeze");
  console.log(`# guest file systems frozen for ${frozenFor[1]} ms`);
});

test("guest metrics come from the guest through its agent", async () => {
  const r = await cvm.request("DescribeInstancesGuestMetrics", { InstanceIds: [id] });
  assert.equal(r.TotalCount, 1);
  const m = r.GuestMetricsSet[0];
  assert.equal(m.AgentStatus, "Online");
  assert.ok(m.MemTotal > 64 && m.MemTotal <= 128, `MemTotal ${m.MemTotal}`);
  assert.ok(m.MemUsed > 0 && m.MemUsed < m.MemTotal, `MemUsed ${m.MemUsed}`);
  assert.ok(m.MemUsage > 0 && m.MemUsage < 100);
  assert.ok(m.CpuLoadavg >= 0);
  assert.ok(m.TcpCurrEstab >= 0);
  await L.expectCode(cvm.request("DescribeInstancesGuestMetrics", { InstanceIds: ["ins-00000000"] }),
                     "InvalidInstanceId.NotFound");
});

// One command on an instance's guest agent socket, as a cvmd killed mid-copy would have left
// it (tests only).
function qga(execute) {
  const net = require("node:net");
  const sock = path.join(d.dataDir, "run/instances", id, "qga.sock");
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock, () => c.write(JSON.stringify({ execute }) + "\n"));
    let buf = "";
    c.setTimeout(10000, () => reject(new Error(`no answer to ${execute}`)));
    c.on("data", (chunk) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      c.end();
      const msg = JSON.parse(buf.slice(0, nl));
      return msg.error ? reject(new Error(msg.error.desc)) : resolve(msg.return);
    });
    c.on("error", reject);
  });
}

test("cvmd killed while the guest is frozen: the restarted cvmd thaws it", async () => {
  await d.stop("SIGKILL");
  assert.ok((await qga("guest-fsfreeze-freeze")) >= 1);
  assert.equal(await qga("guest-fsfreeze-status"), "frozen");
  await d.start();
  cvm = d.client("cvm");
  tat = d.client("tat");
  let status;
  for (const deadline = Date.now() + 60000; Date.now() < deadline; await sleep(500)) {
    status = await qga("guest-fsfreeze-status");
    if (status === "thawed") break;
  }
  assert.equal(status, "thawed");
  assert.equal(output((await run("echo alive")).task), "alive\n");
});

// Last: it silences the agent for good.
test("an agent that stops answering is Offline and RunCommand says so", async () => {
  // The agent stops itself after answering (SIGSTOP: it stays there, silent).
  const { task } = await run("(sleep 1; kill -STOP $(pidof opencvm-ga)) >/dev/null 2>&1 &");
  assert.equal(task.TaskStatus, "SUCCESS");
  const deadline = Date.now() + 60000;
  let status;
  while (Date.now() < deadline) {
    status = (await tat.DescribeAutomationAgentStatus({ InstanceIds: [id] })).AutomationAgentSet[0];
    if (status.AgentStatus === "Offline") break;
    await sleep(500);
  }
  assert.equal(status.AgentStatus, "Offline");
  await L.expectCode(tat.RunCommand({ Content: b64("true"), InstanceIds: [id] }),
                     "ResourceUnavailable.AgentStatusNotOnline");
});
