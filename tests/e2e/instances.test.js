// Instances end to end on real QEMU guests (TCG), driven by the official SDK. Guests are
// shared between cases: a small pool is launched once and each case changes it as a user would.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const L = require("./lib");

const PASSWORD = "Opencvm-e2e1";
let d, cvm, image, key, keyId;
const ids = {};  // role -> instance id

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  image = await L.tinyImageId(cvm);
  key = L.makeKey(d.dir);
  keyId = (await cvm.ImportKeyPair({ KeyName: "e2e", PublicKey: key.pub, ProjectId: 0 })).KeyId;
  const base = { Placement: { Zone: "ap-guangzhou-3" }, ImageId: image, InstanceType: "T1.NANO1" };
  const a = await cvm.RunInstances({ ...base, InstanceName: "pw", HostName: "pw-host",
                                     LoginSettings: { Password: PASSWORD } });
  const b = await cvm.RunInstances({ ...base, InstanceName: "key-{R:7}", InstanceCount: 1,
                                     LoginSettings: { KeyIds: [keyId] } });
  ids.pw = a.InstanceIdSet[0];
  ids.key = b.InstanceIdSet[0];
  await L.waitState(cvm, [ids.pw, ids.key], "RUNNING");
});

after(async () => {
  try {
    const all = await cvm.DescribeInstances({ Limit: 100 });
    const live = all.InstanceSet.filter((i) => !["TERMINATING"].includes(i.InstanceState))
                                .map((i) => i.InstanceId);
    if (live.length) {
      await cvm.TerminateInstances({ InstanceIds: live }).catch(() => {});
      await L.waitState(cvm, live, "GONE", 120000).catch(() => {});
    }
  } finally {
    await d.stop();
    fs.writeFileSync(path.join(require("node:os").tmpdir(), "opencvm-e2e-instances.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

test("launched instances are RUNNING, described fully, and reachable with password and key",
     async () => {
  const r = await cvm.DescribeInstances({ InstanceIds: [ids.pw, ids.key] });
  assert.equal(r.TotalCount, 2);
  const byId = Object.fromEntries(r.InstanceSet.map((i) => [i.InstanceId, i]));
  const pw = byId[ids.pw];
  assert.equal(pw.InstanceState, "RUNNING");
  assert.equal(pw.InstanceName, "pw");
  assert.equal(pw.LatestOperation, "RunInstances");
  assert.equal(pw.LatestOperationState, "SUCCESS");
  assert.match(pw.LatestOperationRequestId, /^[0-9a-f-]{36}$/);
  assert.equal(pw.CPU, 1);
  assert.equal(pw.Placement.Zone, "ap-guangzhou-3");
  assert.match(pw.CreatedTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(pw.SystemDisk.DiskId, /^disk-[a-z0-9]{8}$/);
  assert.equal(byId[ids.key].InstanceName, "key-7");
  assert.deepEqual(byId[ids.key].LoginSettings.KeyIds, [keyId]);
  // No network asked for: the account's default VPC (172.16.0.0/16), its zone's default subnet,
  // the default security group (which admits SSH), and distinct addresses.
  const vpcs = await d.client("vpc").DescribeVpcs({ Filters: [{ Name: "is-default", Values: ["true"] }] });
  assert.equal(vpcs.VpcSet.length, 1);
  assert.equal(vpcs.VpcSet[0].CidrBlock, "172.16.0.0/16");
  for (const i of [pw, byId[ids.key]]) {
    assert.equal(i.VirtualPrivateCloud.VpcId, vpcs.VpcSet[0].VpcId);
    assert.match(i.PrivateIpAddresses[0], /^172\.16\.\d+\.\d+$/);
    assert.equal(i.PublicIpAddresses, null);
    assert.equal(i.SecurityGroupIds.length, 1);
  }
  assert.notEqual(pw.PrivateIpAddresses[0], byId[ids.key].PrivateIpAddresses[0]);
  assert.equal((await L.ssh(d, ids.pw, "hostname", { password: PASSWORD })).trim(), "pw-host");
  assert.equal((await L.ssh(d, ids.key, "hostname", { key: key.key })).trim(), ids.key);
});

test("filters, paging and the status list agree", async () => {
  const running = await cvm.DescribeInstances({
    Filters: [{ Name: "instance-state", Values: ["RUNNING"] },
              { Name: "instance-name", Values: ["pw"] }] });
  assert.deepEqual(running.InstanceSet.map((i) => i.InstanceId), [ids.pw]);
  const page = await cvm.DescribeInstances({ Limit: 1, Offset: 1 });
  assert.equal(page.InstanceSet.length, 1);
  assert.ok(page.TotalCount >= 2);
  const st = await cvm.DescribeInstancesStatus({ InstanceIds: [ids.pw] });
  assert.deepEqual(st.InstanceStatusSet, [{ InstanceId: ids.pw, InstanceState: "RUNNING" }]);
  await L.expectCode(cvm.DescribeInstances({ InstanceIds: [ids.pw],
                                             Filters: [{ Name: "zone", Values: ["x"] }] }),
                     "InvalidParameterCombination");
});

test("wrong-state, malformed and unknown ids give Tencent's codes", async () => {
  await L.expectCode(cvm.StartInstances({ InstanceIds: [ids.pw] }),
                     "UnsupportedOperation.InstanceStateRunning");
  await L.expectCode(cvm.StopInstances({ InstanceIds: ["ins-1122"] }), "InvalidInstanceId.Malformed");
  await L.expectCode(cvm.StopInstances({ InstanceIds: ["ins-zzzzzzzz"] }),
                     "InvalidInstanceId.NotFound");
  await L.expectCode(cvm.RunInstances({ Placement: { Zone: "ap-shanghai-2" }, ImageId: image,
                                        InstanceType: "T1.NANO1" }), "InvalidZone.MismatchRegion");
  await L.expectCode(cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: "img-zzzzzzzz",
                                        InstanceType: "T1.NANO1" }), "InvalidImageId.NotFound");
  await L.expectCode(cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                        InstanceType: "T1.NANO1", SystemDisk: { DiskSize: 0 } }),
                     "InvalidParameterValue");
  await L.expectCode(cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                        InstanceType: "S5.2XLARGE32", InstanceCount: 100 }),
                     "ResourceInsufficient.SpecifiedInstanceType");
  await L.expectCode(cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                        InstanceType: "T1.NANO1",
                                        LoginSettings: { Password: "short" } }), "InvalidPassword");
  await L.expectCode(cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                        InstanceType: "T1.NANO1", DryRun: true }), "DryRunOperation");
  const none = await cvm.DescribeInstances({ Filters: [{ Name: "instance-name", Values: ["never"] }] });
  assert.equal(none.TotalCount, 0);  // DryRun and failures created nothing
});

test("another account can neither see nor touch these instances", async () => {
  const eve = d.client("cvm", d.createAccount("eve"));
  const seen = await eve.DescribeInstances({});
  assert.equal(seen.TotalCount, 0);
  const byId = await eve.DescribeInstances({ InstanceIds: [ids.pw] });
  assert.equal(byId.TotalCount, 0);
  await L.expectCode(eve.StopInstances({ InstanceIds: [ids.pw] }), "InvalidInstanceId.NotFound");
  await L.expectCode(eve.TerminateInstances({ InstanceIds: [ids.pw] }), "InvalidInstanceId.NotFound");
});

// A websocket client in a few lines (Node 20 has none built in): upgrade, then read one frame.
function vncFirstFrame(url) {
  const net = require("node:net");
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    sock.setTimeout(20000, () => { sock.destroy(); reject(new Error("vnc timeout")); });
    sock.on("connect", () => sock.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        if (!head.startsWith("HTTP/1.1 101")) { sock.destroy(); return resolve({ status: head }); }
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      if (buf.length >= 2 && buf.length >= 2 + (buf[1] & 0x7f)) {
        sock.destroy();
        resolve({ opcode: buf[0] & 0x0f, payload: buf.subarray(2, 2 + (buf[1] & 0x7f)).toString() });
      }
    });
    sock.on("error", reject);
  });
}

test("DescribeInstanceVncUrl gives a one-time websocket URL to the guest's VNC display",
     async () => {
  const r = await cvm.DescribeInstanceVncUrl({ InstanceId: ids.key });
  const url = decodeURIComponent(r.InstanceVncUrl);
  assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/vnc\/ins-[a-z0-9]{8}\?token=\w+$/);
  const frame = await vncFirstFrame(url);
  assert.equal(frame.opcode, 2);  // binary
  assert.match(frame.payload, /^RFB 003\.00\d\n$/);
  const reused = await vncFirstFrame(url);
  assert.match(reused.status, /^HTTP\/1\.1 403/);
  await L.expectCode(cvm.DescribeInstanceVncUrl({ InstanceId: "ins-1" }),
                     "InvalidInstanceId.Malformed");
});

// The kernel's boot id, not uptime: a guest that has just booted has a small uptime either way.
const bootId = async () => (await L.ssh(d, ids.key, "cat /proc/sys/kernel/random/boot_id",
                                        { key: key.key })).trim();

test("a hard reboot restarts the guest and it stays RUNNING", async () => {
  const before = await bootId();
  await cvm.RebootInstances({ InstanceIds: [ids.key], StopType: "HARD" });
  await L.waitState(cvm, [ids.key], "RUNNING");
  await L.sleep(2000);
  const after = await bootId();
  assert.notEqual(after, before, "the guest did not boot again");
});

test("a guest that reboots itself stays RUNNING", async () => {
  const before = await bootId();
  await L.ssh(d, ids.key, "reboot", { key: key.key }).catch(() => {});
  // SSH may answer from the old boot while the guest shuts down: wait for a new boot id.
  let after = before;
  for (let i = 0; i < 60 && after === before; ++i) {
    await L.sleep(3000);
    after = await bootId();
  }
  assert.notEqual(after, before, "the guest did not boot again");
  const st = await cvm.DescribeInstancesStatus({ InstanceIds: [ids.key] });
  assert.equal(st.InstanceStatusSet[0].InstanceState, "RUNNING");
});

test("soft stop, a new instance type, and start: the guest sees 2 vCPUs and more memory",
     async () => {
  const memBefore = await L.ssh(d, ids.pw, "grep MemTotal /proc/meminfo", { password: PASSWORD });
  await cvm.StopInstances({ InstanceIds: [ids.pw], StopType: "SOFT" });
  const stopped = await L.waitState(cvm, [ids.pw], "STOPPED");
  assert.equal(stopped[ids.pw].LatestOperation, "StopInstances");
  await L.expectCode(cvm.StopInstances({ InstanceIds: [ids.pw] }),
                     "UnsupportedOperation.InstanceStateStopped");
  await L.expectCode(cvm.RebootInstances({ InstanceIds: [ids.pw] }),
                     "UnsupportedOperation.InstanceStateStopped");
  await cvm.ResetInstancesType({ InstanceIds: [ids.pw], InstanceType: "T1.SMALL1" });
  await cvm.ModifyInstancesAttribute({ InstanceIds: [ids.pw], InstanceName: "pw2",
                                       HostName: "renamed" });
  await cvm.StartInstances({ InstanceIds: [ids.pw] });
  const started = await L.waitState(cvm, [ids.pw], "RUNNING");
  assert.equal(started[ids.pw].InstanceType, "T1.SMALL1");
  assert.equal(started[ids.pw].InstanceName, "pw2");
  assert.equal((await L.ssh(d, ids.pw, "nproc", { password: PASSWORD })).trim(), "2");
  assert.equal((await L.ssh(d, ids.pw, "hostname", { password: PASSWORD })).trim(), "renamed");
  const memAfter = await L.ssh(d, ids.pw, "grep MemTotal /proc/meminfo", { password: PASSWORD });
  assert.ok(parseInt(memAfter.split(/\s+/)[1]) > parseInt(memBefore.split(/\s+/)[1]),
            `${memBefore} -> ${memAfter}`);
});

test("reset reinstalls the system disk from the image and keeps the instance", async () => {
  await L.ssh(d, ids.pw, "echo hello > /root/marker && sync", { password: PASSWORD });
  await cvm.ResetInstance({ InstanceId: ids.pw, ImageId: image,
                            LoginSettings: { KeyIds: [keyId] } });
  const r = await L.waitState(cvm, [ids.pw], "RUNNING");
  assert.equal(r[ids.pw].LatestOperation, "ResetInstance");
  assert.equal(r[ids.pw].LatestOperationState, "SUCCESS");
  const out = await L.ssh(d, ids.pw, "ls /root/marker 2>/dev/null || echo absent", { key: key.key });
  assert.equal(out.trim(), "absent");
});

test("a guest that powers itself off becomes STOPPED, and starts again", async () => {
  await L.ssh(d, ids.pw, "poweroff", { key: key.key }).catch(() => {});
  const r = await L.waitState(cvm, [ids.pw], "STOPPED", 120000);
  assert.equal(r[ids.pw].InstanceState, "STOPPED");
  await cvm.StartInstances({ InstanceIds: [ids.pw] });
  await L.waitState(cvm, [ids.pw], "RUNNING");
});

test("a soft stop sent the moment RUNNING is seen stops the still-booting guest", async () => {
  await cvm.StopInstances({ InstanceIds: [ids.pw], StopType: "HARD" });
  await L.waitState(cvm, [ids.pw], "STOPPED");
  await cvm.StartInstances({ InstanceIds: [ids.pw] });
  await L.waitState(cvm, [ids.pw], "RUNNING");
  // The guest is still booting: its ACPI handler is not listening for the first press yet.
  await cvm.StopInstances({ InstanceIds: [ids.pw], StopType: "SOFT" });
  let i;
  do {
    await L.sleep(500);
    i = (await cvm.DescribeInstances({ InstanceIds: [ids.pw] })).InstanceSet[0];
  } while (i.LatestOperationState === "OPERATING");
  assert.equal(i.LatestOperation, "StopInstances");
  assert.equal(i.LatestOperationState, "SUCCESS", i.LatestOperationErrorMsg);
  assert.equal(i.InstanceState, "STOPPED");
  await cvm.StartInstances({ InstanceIds: [ids.pw] });
  await L.waitState(cvm, [ids.pw], "RUNNING");
});

test("kill -9 of a QEMU process is noticed: the instance becomes STOPPED", async () => {
  const pidFile = path.join(d.dataDir, "run/instances", ids.pw, "qemu.pid");
  const pid = Number(fs.readFileSync(pidFile, "utf8"));
  process.kill(pid, "SIGKILL");
  await L.waitState(cvm, [ids.pw], "STOPPED", 60000);
  await cvm.StartInstances({ InstanceIds: [ids.pw] });
  await L.waitState(cvm, [ids.pw], "RUNNING");
});

test("a running VM keeps its uptime across a kill -9 of cvmd", async () => {
  const before = await L.uptime(d, ids.key, { key: key.key });
  await d.stop("SIGKILL");
  await d.start();
  cvm = d.client("cvm");
  const r = await L.waitState(cvm, [ids.key], "RUNNING", 30000);
  assert.equal(r[ids.key].InstanceState, "RUNNING");
  const after = await L.uptime(d, ids.key, { key: key.key });
  assert.ok(after > before, `uptime went from ${before} to ${after}`);
});

test("kill -9 of cvmd during 5 launches: all converge, nothing is orphaned", async () => {
  const r = await cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-4" }, ImageId: image,
                                     InstanceType: "T1.NANO1", InstanceCount: 5,
                                     InstanceName: "crash-{R:1}", ClientToken: "crash-test" });
  assert.equal(r.InstanceIdSet.length, 5);
  await L.sleep(300);
  await d.stop("SIGKILL");
  await d.start();
  cvm = d.client("cvm");
  // The same ClientToken answers with the same instances and launches nothing new.
  const again = await cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-4" }, ImageId: image,
                                         InstanceType: "T1.NANO1", InstanceCount: 5,
                                         ClientToken: "crash-test" });
  assert.deepEqual(again.InstanceIdSet, r.InstanceIdSet);
  const final = await L.waitState(cvm, r.InstanceIdSet, ["RUNNING", "LAUNCH_FAILED"], 400000);
  assert.equal(Object.keys(final).length, 5);
  await cvm.TerminateInstances({ InstanceIds: r.InstanceIdSet });
  await L.waitState(cvm, r.InstanceIdSet, "GONE", 120000);
  for (const id of r.InstanceIdSet) {
    assert.ok(!fs.existsSync(path.join(d.dataDir, "run/instances", id)), `${id} run dir left`);
    assert.equal(L.qemuPids(path.join(d.dataDir, "run/instances", id)).length, 0);
  }
  const disks = fs.readdirSync(path.join(d.dataDir, "disks"));
  assert.equal(disks.length, 2, `disk files left: ${disks}`);  // the two pool instances only
});

test("terminate removes the instance, its QEMU and its system disk", async () => {
  await cvm.TerminateInstances({ InstanceIds: [ids.key] });
  await L.waitState(cvm, [ids.key], "GONE", 120000);
  assert.equal(L.qemuPids(path.join(d.dataDir, "run/instances", ids.key)).length, 0);
  await L.expectCode(cvm.StartInstances({ InstanceIds: [ids.key] }), "InvalidInstanceId.NotFound");
  delete ids.key;
});
