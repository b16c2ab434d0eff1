// ImportImage's local files are each account's own: <import_dir>/<AppId>/, as exports are
// <export_dir>/<AppId>/<bucket>/. With both settings on one directory an account imports its own
// exports and no other's, and a name that is another account's is answered as a missing one.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");

const TINY = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
let d, work, shared, owner, tenant;

// A raw disk ImportImage takes: 1 MiB with a boot signature and some random bytes.
function rawDisk() {
  const disk = Buffer.alloc(1 << 20);
  crypto.randomFillSync(disk, 512, 64 << 10);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
}

async function settle(client, id, pick) {
  for (let i = 0; i < 600; i++) {
    const v = await pick();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("never settled: " + id);
}

const waitImage = (client, id) => settle(client, id, async () => {
  const [img] = (await client.DescribeImages({ ImageIds: [id] })).ImageSet;
  return img.ImageState !== "IMPORTING" ? img : null;
});

const waitExport = (client, id) => settle(client, id, async () => {
  const t = (await client.request("DescribeImageTasks", { ImageId: id })).TaskSet
    .filter((x) => x.Action === "ExportImages").pop();
  return t && (t.State === "SUCCESS" || t.State === "FAILED") ? t : null;
});

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-import-scope-"));
  shared = path.join(work, "images");  // import_dir and export_dir at once
  fs.mkdirSync(shared);
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, `[images]\nimport_dir = "${shared}"\nexport_dir = "${shared}"\n`);
  d = new Daemon({ args: ["--config", conf] });
  await d.start();
  const make = (name) => {
    const a = d.createAccount(name);
    return { ...a, cvm: d.client("cvm", a), dir: path.join(shared, String(a.appId)) };
  };
  owner = make("scope-owner");
  tenant = make("scope-tenant");
});

after(async () => {
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

test("an account imports its own files and exports, never another account's, even when " +
     "import_dir is export_dir; foreign and missing names get one answer", async () => {
  fs.mkdirSync(owner.dir);
  fs.writeFileSync(path.join(owner.dir, "disk.raw"), rawDisk());
  const id = (await owner.cvm.ImportImage({ ...TINY, ImageName: "own",
                                            ImageUrl: `file://${owner.dir}/disk.raw` })).ImageId;
  assert.equal((await waitImage(owner.cvm, id)).ImageState, "NORMAL");
  const exp = await owner.cvm.ExportImages({ BucketName: "secret", ImageIds: [id],
                                             FileNamePrefixList: ["db"] });
  const exported = path.join(owner.dir, "secret", "db.raw");
  assert.deepEqual(exp.CosPaths, [exported]);
  assert.equal((await waitExport(owner.cvm, id)).State, "SUCCESS");


  // Another account, whatever the spelling, and whether or not it has a directory of its own.
  fs.writeFileSync(path.join(shared, "loose.raw"), rawDisk());  // outside every account's
  const foreign = [
    `${owner.appId}/secret/db.raw`,
    `../${owner.appId}/secret/db.raw`,
    `file://${exported}`,
    `file://${path.join(owner.dir, "disk.raw")}`,
    "loose.raw",
    "../loose.raw",
    `file://${path.join(shared, "loose.raw")}`,
  ];
  const missing = ["nothing.raw", "secret/db.raw", `file://${path.join(shared, "none.raw")}`];
  const answers = new Set();
  for (const withDir of [false, true]) {
    if (withDir) fs.mkdirSync(tenant.dir);
    for (const url of [...foreign, ...missing]) {
      const e = await expectCode(tenant.cvm.ImportImage({ ...TINY, ImageName: "taken",
                                                          ImageUrl: url }),
                                 "InvalidParameter.InvalidParameterUrlError");
      answers.add(e.message);
    }
  }
  assert.equal(answers.size, 1, [...answers].join("\n"));
  assert.ok(!/secret|db\.raw|loose|\d{10}/.test([...answers][0]), [...answers][0]);
  const theirs = await tenant.cvm.DescribeImages({
    Filters: [{ Name: "image-type", Values: ["PRIVATE_IMAGE"] }] });
  assert.equal(theirs.TotalCount, 0);

  // The owner takes its export back by its name inside its own directory.
  const again = (await owner.cvm.ImportImage({ ...TINY, ImageName: "back",
                                               ImageUrl: "secret/db.raw" })).ImageId;
  assert.equal((await waitImage(owner.cvm, again)).ImageState, "NORMAL");
});
