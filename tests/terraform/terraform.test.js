// The official Terraform provider for Tencent Cloud drives a real cvmd unchanged: init from a
// filesystem mirror, apply of main.tf (one of each resource, tags on each, a running guest), a
// second plan with no changes, a change made outside Terraform planned back, and a destroy
// after which the account holds nothing but its defaults.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const L = require("../e2e/lib");
const TF = require("./lib");

let d, cvm, cbs, vpc, ws, vars;
let destroyed = false;
let imageSnapshots = [];  // the snapshots CreateImage made, which DeleteImages keeps

// Runs one terraform command and fails with what it printed and the calls that failed.
async function tf(args, { expect = [0] } = {}) {
  const r = await TF.terraform(ws, args, vars);
  if (!expect.includes(r.code)) {
    assert.fail(`terraform ${args.join(" ")} exited with ${r.code}, expected ${expect}:\n` +
                `${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}\n` +
                `failed API calls:\n${TF.failedCalls(ws)}`);
  }
  return r;
}

before(async () => {
  TF.checkPrerequisites();
  d = await L.startDaemon();
  cvm = d.client("cvm");
  cbs = d.client("cbs");
  vpc = d.client("vpc");
  ws = TF.workspace(path.join(d.dir, "terraform"), path.join(__dirname, "main.tf"));
  vars = { secret_id: d.admin.secretId, secret_key: d.admin.secretKey,
           domain: `${TF.DOMAIN}:${d.port}`, public_key: L.makeKey(d.dir).pub };
});

after(async () => {
  if (!d) return;
  try {
    // A failed run leaves its resources: a best-effort destroy, then whatever still runs.
    if (!destroyed && ws) {
      await TF.terraform(ws, ["destroy", "-auto-approve"], vars, { timeoutMs: 180000 });
    }
    const left = (await cvm.DescribeInstances({ Limit: 100 })).InstanceSet.map((i) => i.InstanceId);
    if (left.length) {
      await cvm.TerminateInstances({ InstanceIds: left }).catch(() => {});
      await L.waitState(cvm, left, "GONE", 120000).catch(() => {});
    }
  } finally {
    await d.stop();
    for (const f of ["terraform.log"]) {
      if (ws && fs.existsSync(path.join(ws.dir, f))) {
        fs.copyFileSync(path.join(ws.dir, f), path.join(os.tmpdir(), "opencvm-terraform.log"));
      }
    }
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-terraform-cvmd.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

const tagMap = (tags) => Object.fromEntries((tags || []).map((t) => [t.Key, t.Value]));
const wanted = { team: "tf", env: "test" };

test("init installs the provider from the mirror", async () => {
  const r = await tf(["init", "-input=false"]);
  assert.match(r.stdout, /Installed tencentcloudstack\/tencentcloud v1\.83\.25/);
});

test("apply creates every resource, tagged, with a running guest", async () => {
  await tf(["apply", "-auto-approve", "-input=false"]);

  const ins = (await cvm.DescribeInstances({
    Filters: [{ Name: "instance-name", Values: ["tf-web"] }] })).InstanceSet;
  assert.equal(ins.length, 1);
  assert.equal(ins[0].InstanceState, "RUNNING");
  assert.deepEqual(tagMap(ins[0].Tags), wanted);

  const [v] = (await vpc.DescribeVpcs({ Filters: [{ Name: "vpc-name", Values: ["tf-vpc"] }] }))
    .VpcSet;
  assert.deepEqual(tagMap(v.TagSet), wanted);
  assert.equal(ins[0].VirtualPrivateCloud.VpcId, v.VpcId);

  const disks = (await cbs.DescribeDisks({ Filters: [{ Name: "disk-name", Values: ["tf-data"] }] }))
    .DiskSet;
  assert.equal(disks.length, 1);
  assert.equal(disks[0].InstanceId, ins[0].InstanceId);
  assert.equal(disks[0].Attached, true);
  assert.deepEqual(tagMap(disks[0].Tags), wanted);

  const snaps = (await cbs.DescribeSnapshots({
    Filters: [{ Name: "snapshot-name", Values: ["tf-snap"] }] })).SnapshotSet;
  assert.deepEqual(snaps.map((s) => [s.DiskId, s.SnapshotState]), [[disks[0].DiskId, "NORMAL"]]);

  const imgs = (await cvm.DescribeImages({
    Filters: [{ Name: "image-name", Values: ["tf-web-image"] }] })).ImageSet;
  assert.deepEqual(imgs.map((i) => i.ImageState), ["NORMAL"]);
  imageSnapshots = imgs[0].SnapshotSet.map((s) => s.SnapshotId).sort();
  assert.ok(imgs[0].SnapshotSet.some((s) => s.DiskUsage === "SYSTEM_DISK"));

  const rtbs = (await vpc.DescribeRouteTables({
    Filters: [{ Name: "route-table-name", Values: ["tf-rtb"] }] })).RouteTableSet;
  assert.equal(rtbs.length, 1);
  assert.equal(rtbs[0].VpcId, v.VpcId);
  const route = rtbs[0].RouteSet.find((r) => r.DestinationCidrBlock === "10.9.0.0/16");
  assert.ok(route, JSON.stringify(rtbs[0].RouteSet));
  assert.deepEqual([route.GatewayType, route.GatewayId],
                   ["NORMAL_CVM", ins[0].PrivateIpAddresses[0]]);
});

test("a second plan finds nothing to change", async () => {
  const r = await tf(["plan", "-detailed-exitcode", "-input=false"], { expect: [0, 2] });
  assert.equal(r.code, 0, `the plan after apply is not empty:\n${r.stdout.slice(-4000)}`);
});

test("changes made outside Terraform are planned back", async () => {
  const [v] = (await vpc.DescribeVpcs({ Filters: [{ Name: "vpc-name", Values: ["tf-vpc"] }] }))
    .VpcSet;
  const [sg] = (await vpc.DescribeSecurityGroups({
    Filters: [{ Name: "security-group-name", Values: ["tf-sg"] }] })).SecurityGroupSet;
  await vpc.ModifyVpcAttribute({ VpcId: v.VpcId, VpcName: "renamed-vpc" });
  await vpc.ModifySecurityGroupAttribute({ SecurityGroupId: sg.SecurityGroupId,
                                           GroupName: "renamed-sg" });

  const plan = await tf(["plan", "-detailed-exitcode", "-input=false"], { expect: [2] });
  assert.match(plan.stdout, /"renamed-vpc" -> "tf-vpc"/);
  assert.match(plan.stdout, /"renamed-sg" -> "tf-sg"/);
  assert.match(plan.stdout, /0 to add, 2 to change, 0 to destroy/);

  await tf(["apply", "-auto-approve", "-input=false"]);
  assert.equal((await vpc.DescribeVpcs({ VpcIds: [v.VpcId] })).VpcSet[0].VpcName, "tf-vpc");
  await tf(["plan", "-detailed-exitcode", "-input=false"]);
});

test("destroy leaves nothing behind", async () => {
  await tf(["destroy", "-auto-approve", "-input=false"]);
  destroyed = true;

  assert.deepEqual((await cvm.DescribeInstances({ Limit: 100 })).InstanceSet, []);
  assert.deepEqual((await cbs.DescribeDisks({ Limit: 100 })).DiskSet.map((x) => x.DiskId), []);
  // The provider deletes an image without DeleteBindedSnap, so, as on Tencent Cloud, the
  // snapshots the image was made of stay: those and no other.
  assert.deepEqual((await cbs.DescribeSnapshots({ Limit: 100 })).SnapshotSet
    .map((s) => s.SnapshotId).sort(), imageSnapshots);
  if (imageSnapshots.length) await cbs.DeleteSnapshots({ SnapshotIds: imageSnapshots });
  assert.deepEqual((await cbs.DescribeSnapshots({ Limit: 100 })).SnapshotSet, []);
  assert.deepEqual((await cvm.DescribeImages({
    Filters: [{ Name: "image-type", Values: ["PRIVATE_IMAGE"] }] })).ImageSet.map((i) => i.ImageId),
                   []);
  assert.deepEqual((await cvm.DescribeKeyPairs({ Limit: 100 })).KeyPairSet, []);
  const vpcs = (await vpc.DescribeVpcs({ Limit: "100" })).VpcSet;
  assert.deepEqual(vpcs.filter((x) => !x.IsDefault).map((x) => x.VpcId), []);
  const defaults = new Set(vpcs.map((x) => x.VpcId));
  assert.deepEqual((await vpc.DescribeSubnets({ Limit: "100" })).SubnetSet
    .filter((s) => !defaults.has(s.VpcId)).map((s) => s.SubnetId), []);
  assert.deepEqual((await vpc.DescribeSecurityGroups({ Limit: "100" })).SecurityGroupSet
    .filter((g) => !g.IsDefault).map((g) => g.SecurityGroupId), []);
  assert.deepEqual((await vpc.DescribeRouteTables({ Limit: "100" })).RouteTableSet
    .filter((t) => !defaults.has(t.VpcId) || !t.Main).map((t) => t.RouteTableId), []);
});
