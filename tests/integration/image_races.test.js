// Image work that races or waits, through the official SDK: two exports to one file (or one
// export sent twice) never leave a file holding other bytes than the one export that answered
// success; and ImportImage never holds an API thread while the engine reads the file.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");

const TINY = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
let d, cvm, other, work, importDir, bucketDir;
const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitImage(id) {
  for (let i = 0; i < 600; i++) {
    const [img] = (await cvm.DescribeImages({ ImageIds: [id] })).ImageSet;
    if (img.ImageState !== "IMPORTING" && img.ImageState !== "CREATING") return img;
    await sleep(100);
  }
  throw new Error("image never settled: " + id);
}

async function exportTasks(id) {
  for (let i = 0; i < 600; i++) {
    const tasks = (await cvm.request("DescribeImageTasks", { ImageId: id })).TaskSet
      .filter((t) => t.Action === "ExportImages");
    if (tasks.every((t) => t.State === "SUCCESS" || t.State === "FAILED")) return tasks;
    await sleep(100);
  }
  throw new Error("the exports of " + id + " never ended");
}

// A 1 MiB raw disk with a boot signature and random bytes: each one's export is told apart.
async function importRaw(name) {
  const disk = Buffer.alloc(1 << 20);
  crypto.randomFillSync(disk, 512, 64 << 10);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  const file = path.join(importDir, `${name}.raw`);
  fs.writeFileSync(file, disk);
  const id = (await cvm.ImportImage({ ...TINY, ImageName: name, ImageUrl: `file://${file}` }))
    .ImageId;
  assert.equal((await waitImage(id)).ImageState, "NORMAL");
  return { id, sha: sha256(file) };
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-races-it-"));
  const exportDir = path.join(work, "export");
  const conf = path.join(work, "cvmd.toml");
  // One API thread: a handler that blocked would stall every other client.
  fs.writeFileSync(conf, `api_threads = 1\n[images]\nimport_dir = "${work}/import"\n` +
                         `export_dir = "${exportDir}"\n`);
  d = new Daemon({ args: ["--config", conf] });
  await d.start();
  cvm = d.client("cvm");
  other = d.client("cvm");
  const appId = String((await d.client("cam").GetUserAppId({})).AppId);
  // The account's own part of the import directory, named by file:// URLs.
  importDir = path.join(work, "import", appId);
  fs.mkdirSync(importDir, { recursive: true });
  bucketDir = path.join(exportDir, appId, "bucket");
});

after(async () => {
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const exportTo = (id, name) =>
  cvm.ExportImages({ BucketName: "bucket", ImageIds: [id], FileNamePrefixList: [name] });

test("two exports to one file: one answers success and the file holds its image's bytes",
     async () => {
  const a = await importRaw("race-a");
  const b = await importRaw("race-b");
  const [ra, rb] = await Promise.allSettled([exportTo(a.id, "same"), exportTo(b.id, "same")]);
  const won = [ra, rb].filter((r) => r.status === "fulfilled");
  const lost = [ra, rb].filter((r) => r.status === "rejected");
  assert.equal(won.length, 1, "both exports to one file answered success");
  assert.ok(["ResourceInUse", "InvalidParameterValue"].includes(lost[0].reason.code),
            lost[0].reason.code);
  assert.match(lost[0].reason.message, /same\.raw/);
  const winner = ra.status === "fulfilled" ? a : b;
  const file = path.join(bucketDir, "same.raw");
  assert.deepEqual(won[0].value.CosPaths, [file]);
  const [task] = await exportTasks(winner.id);
  assert.equal(task.State, "SUCCESS");
  assert.equal(sha256(file), winner.sha);
  assert.deepEqual(fs.readdirSync(bucketDir), ["same.raw"]);  // no partial copy left
});

test("an export sent twice writes once; once done, the file is never replaced", async () => {
  const a = await importRaw("retry-a");
  const [r1, r2] = await Promise.allSettled([exportTo(a.id, "retry"), exportTo(a.id, "retry")]);
  assert.equal([r1, r2].filter((r) => r.status === "fulfilled").length, 1);
  const tasks = await exportTasks(a.id);
  assert.deepEqual(tasks.map((t) => t.State), ["SUCCESS"]);
  const file = path.join(bucketDir, "retry.raw");
  assert.equal(sha256(file), a.sha);
  const b = await importRaw("retry-b");
  await expectCode(exportTo(b.id, "retry"), "InvalidParameterValue");
  assert.equal(sha256(file), a.sha);
});

test("ImportImage answers at once while the engine cannot read the file yet", async () => {
  // A vmdk whose extent is a FIFO: whoever inspects it waits until the test writes to it.
  const fifo = path.join(importDir, "slow-extent");
  execFileSync("mkfifo", [fifo]);
  fs.writeFileSync(path.join(importDir, "slow.vmdk"),
                   '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n' +
                   'createType="monolithicFlat"\nRW 2048 FLAT "slow-extent" 0\n');
  const [imported, zones] = await Promise.all([
    cvm.ImportImage({ ...TINY, ImageName: "slow",
                      ImageUrl: `file://${path.join(importDir, "slow.vmdk")}` }),
    other.DescribeZones({}),
  ]);
  assert.ok(zones.ZoneSet.length > 0);
  // Served to another client while the import is still under way.
  assert.ok((await other.DescribeZones({})).ZoneSet.length > 0);
  const [img] = (await cvm.DescribeImages({ ImageIds: [imported.ImageId] })).ImageSet;
  assert.equal(img.ImageState, "IMPORTING");
  // Let every reader through (qemu-img may open the extent more than once): whenever one
  // waits, a writer that closes at once gives it end of file. The import then fails cleanly,
  // its reason kept.
  let done;
  for (let i = 0; i < 1200 && !done; i++) {
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch (e) {
      if (e.code !== "ENXIO") throw e;  // no reader yet
    }
    const [img] = (await cvm.DescribeImages({ ImageIds: [imported.ImageId] })).ImageSet;
    if (img.ImageState !== "IMPORTING") done = img;
    else await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(done.ImageState, "IMPORTFAILED");
  const [task] = (await cvm.request("DescribeImageTasks", { ImageId: imported.ImageId })).TaskSet;
  assert.equal(task.State, "FAILED");
  assert.equal(task.ErrorCode, "InvalidParameterValue.InvalidImageFormat");
  const left = fs.readdirSync(path.join(d.dataDir, "images/private"))
    .filter((f) => f.startsWith(imported.ImageId));
  assert.deepEqual(left, []);
});
