// Everything cvmd makes is its own alone: the database and its WAL, disks, snapshots, private
// images, exports and the directories holding them carry no group or world permission, even
// where the data directory's own mode would not protect them (the export directory).
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");

const TINY = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
let d, work, exportDir, cvm, cbs;

async function until(what, pick) {
  for (let i = 0; i < 600; i++) {
    const v = await pick();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("never settled: " + what);
}

// Every file and directory under `dir` (symlinks not followed) with group or world bits.
function exposed(dir) {
  const found = [];
  const walk = (p) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.mode & 0o077) found.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
  return found;
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-modes-"));
  fs.chmodSync(work, 0o755);
  exportDir = path.join(work, "export");  // made by cvmd
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, `[images]\nimport_dir = "${work}/import"\nexport_dir = "${exportDir}"\n`);
  d = new Daemon({ args: ["--config", conf] });
  await d.start();
  cvm = d.client("cvm");
  cbs = d.client("cbs");
});

after(async () => {
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

test("state, disks, snapshots, images and exports are neither group- nor world-accessible",
     async () => {
  const appId = String((await d.client("cam").GetUserAppId({})).AppId);
  const own = path.join(work, "import", appId);
  fs.mkdirSync(own, { recursive: true });
  const disk = Buffer.alloc(1 << 20);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  fs.writeFileSync(path.join(own, "mbr.raw"), disk);
  const image = (await cvm.ImportImage({ ...TINY, ImageName: "m",
                                         ImageUrl: `file://${own}/mbr.raw` })).ImageId;
  await until(image, async () =>
    (await cvm.DescribeImages({ ImageIds: [image] })).ImageSet[0].ImageState === "NORMAL");
  const exp = await cvm.ExportImages({ BucketName: "b", ImageIds: [image] });
  await until("export", async () => {
    const t = (await cvm.request("DescribeImageTasks", { ImageId: image })).TaskSet
      .find((x) => x.Action === "ExportImages");
    return t && t.State === "SUCCESS";
  });
  assert.ok(fs.existsSync(exp.CosPaths[0]));

  const diskId = (await createDisks(cbs, { Placement: { Zone: "ap-guangzhou-3" },
                                          DiskChargeType: "POSTPAID_BY_HOUR",
                                          DiskType: "CLOUD_PREMIUM", DiskSize: 10 }))
    .DiskIdSet[0];
  await until(diskId, async () =>
    (await cbs.DescribeDisks({ DiskIds: [diskId] })).DiskSet[0].DiskState === "UNATTACHED");
  const snap = (await cbs.CreateSnapshot({ DiskId: diskId })).SnapshotId;
  await until(snap, async () =>
    (await cbs.DescribeSnapshots({ SnapshotIds: [snap] })).SnapshotSet[0].SnapshotState ===
      "NORMAL");

  // The files this test is about are there, so an empty walk proves nothing away.
  const data = fs.readdirSync(d.dataDir);
  const stateFiles = d.storeUrl ? [] : ["cvmd.db", "cvmd.db-wal"];  // PostgreSQL: no state file
  for (const f of [...stateFiles, "admin-credentials.json"]) assert.ok(data.includes(f), f);
  assert.ok(fs.existsSync(path.join(d.dataDir, "disks", `${diskId}.qcow2`)));
  assert.ok(fs.existsSync(path.join(d.dataDir, "images/private", `${image}.qcow2`)));
  assert.ok(fs.readdirSync(path.join(d.dataDir, "snapshots")).length > 0);

  assert.deepEqual(exposed(d.dataDir), []);
  assert.deepEqual(exposed(exportDir), []);
});
