// Moving a running single-host deployment from SQLite to PostgreSQL: cvmd is stopped (its
// guests keep running), `cvmd store copy` copies the whole state, and cvmd started on
// PostgreSQL finds every guest still running and every resource listed and usable.
// The PostgreSQL cluster is this test's own (scripts/test-postgres), Unix socket only.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync, spawnSync } = require("node:child_process");
const os = require("node:os");
const path = require("node:path");
const L = require("./lib");
const { CVMD } = require("../integration/lib/daemon");

const PASSWORD = "Opencvm-copy1";
const auth = { password: PASSWORD };
const REPO = path.resolve(__dirname, "../..");
const pgDir = path.join(os.tmpdir(), `cvm-copy-pg-${process.pid}`);
let d, cvm, cbs, cam, id, diskId, keyId;

before(async () => {
  execFileSync(path.join(REPO, "scripts/test-postgres"), ["start", pgDir]);
  execFileSync("createdb", ["-h", pgDir, "-U", "postgres", "moved"]);
  // SQLite first, whatever backend the other suites use.
  d = new (require("../integration/lib/daemon").Daemon)({
    args: ["--public-images", process.env.CVM_PUBLIC_IMAGES || "/var/cache/opencvm/public-images"],
    env: { OPENCVM_ACCEL: "tcg" } });
  d.storeUrl = undefined;
  d.storeArgs = [];
  await d.start();
  cvm = d.client("cvm");
  cbs = d.client("cbs");
  cam = d.client("cam");
});

after(async () => {
  try {
    if (id) {
      await cvm.TerminateInstances({ InstanceIds: [id] }).catch(() => {});
      await L.waitState(cvm, [id], "GONE", 120000).catch(() => {});
    }
    await d.stop();
  } finally {
    d.cleanup();
    spawnSync(path.join(REPO, "scripts/test-postgres"), ["stop", pgDir]);
  }
});

const pgUrl = () => `postgresql:///moved?host=${pgDir}&user=postgres`;
const copy = (to) => spawnSync(CVMD, ["store", "copy", "--from",
                                      `sqlite:${path.join(d.dataDir, "cvmd.db")}`, "--to", to],
                               { encoding: "utf8" });
const listed = async () => ({
  instances: (await cvm.DescribeInstances({})).InstanceSet
    .map((i) => [i.InstanceId, i.InstanceState, i.PrivateIpAddresses, i.LoginSettings.KeyIds,
                 i.Tags]),
  disks: (await cbs.DescribeDisks({})).DiskSet.map((x) => [x.DiskId, x.DiskState, x.DiskSize]),
  keys: (await cvm.DescribeKeyPairs({})).KeyPairSet.map((k) => [k.KeyId, k.KeyName]),
  users: (await cam.ListUsers({})).Data.map((u) => [u.Uin, u.Name]),
  policies: (await cam.ListPolicies({ Scope: "Local" })).List.map((p) => [p.PolicyId, p.PolicyName]),
});

test("a running deployment moves from SQLite to PostgreSQL with its guests running", async () => {
  const image = await L.tinyImageId(cvm);
  keyId = (await cvm.CreateKeyPair({ KeyName: "moved_key", ProjectId: 0 })).KeyPair.KeyId;
  id = (await cvm.RunInstances({
    Placement: { Zone: "ap-guangzhou-3" }, ImageId: image, InstanceType: "T1.NANO1",
    InstanceName: "moved", LoginSettings: { Password: PASSWORD },
    TagSpecification: [{ ResourceType: "instance", Tags: [{ Key: "team", Value: "db" }] }],
  })).InstanceIdSet[0];
  await L.waitState(cvm, [id], "RUNNING");
  diskId = (await cbs.CreateDisks({ Placement: { Zone: "ap-guangzhou-3" }, DiskType: "CLOUD_SSD",
                                    DiskSize: 20, DiskName: "moved-disk",
                                    DiskChargeType: "POSTPAID_BY_HOUR" })).DiskIdSet[0];
  await cam.AddUser({ Name: "moved-user", ConsoleLogin: 0, UseApi: 0 });
  await cam.CreatePolicy({ PolicyName: "moved-policy", PolicyDocument: JSON.stringify({
    version: "2.0", statement: [{ effect: "allow", action: ["cvm:Describe*"], resource: ["*"] }] }) });
  await L.sleep(1000);
  const before = await listed();
  assert.equal(before.disks.length, 2);  // the system disk and the data disk
  const bootUptime = await L.uptime(d, id, auth);

  await d.stop();
  const r = copy(pgUrl());
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /copied \d+ rows of \d+ tables from sqlite to postgresql/);
  // Into a store that holds a deployment already: refused, and that store is left as it was.
  const again = copy(pgUrl());
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /already holds accounts/);

  d.storeUrl = pgUrl();
  d.storeArgs = ["--store-url", pgUrl()];
  await d.start();
  assert.deepEqual(await listed(), before);
  // The same boot of the same guest: it was never restarted.
  assert.ok((await L.uptime(d, id, auth)) > bootUptime);
  // Writes work on the new store: new ids continue, the moved guest stops and starts.
  await cam.AddUser({ Name: "after-move", ConsoleLogin: 0, UseApi: 0 });
  await cvm.StopInstances({ InstanceIds: [id] });
  await L.waitState(cvm, [id], "STOPPED");
  await cvm.StartInstances({ InstanceIds: [id] });
  await L.waitState(cvm, [id], "RUNNING");
  await cbs.AttachDisks({ DiskIds: [diskId], InstanceId: id });
  await L.waitDisks(cbs, [diskId], (x) => x.DiskState === "ATTACHED");
});
