// Custom images end to end on real QEMU guests (TCG): capture a stopped instance and launch
// from the capture, capture a running one point-in-time, share with another account (launch
// only), delete an image a running instance still uses, import image files (and refuse hostile
// ones). One daemon; at most two guests run at a time.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const L = require("./lib");

const PASSWORD = "Opencvm-image1";
const ZONE = "ap-guangzhou-3";
const auth = { password: PASSWORD };
let d, cvm, tiny, tenant, tenantCvm, importDir, exportDir;
let a;        // the instance captured while stopped
let b;        // launched from the capture
let captured; // its image
let marker;

const ssh = (id, cmd) => L.ssh(d, id, cmd, auth);
const imageFile = (id) => path.join(d.dataDir, "images/private", `${id}.qcow2`);
const run = (client, image, name, extra = {}) =>
  client.RunInstances({ Placement: { Zone: ZONE }, ImageId: image, InstanceType: "T1.NANO1",
                        InstanceName: name, LoginSettings: { Password: PASSWORD }, ...extra })
    .then((r) => r.InstanceIdSet[0]);

async function describeImage(client, id) {
  const r = await client.DescribeImages({ ImageIds: [id] });
  return r.ImageSet[0];
}

// Polls DescribeImages until the image leaves its transitional state.
async function waitImage(client, id, timeoutMs = 180000) {
  const deadline = Date.now() + timeoutMs;
  let img;
  while (Date.now() < deadline) {
    img = await describeImage(client, id);
    if (img && img.ImageState !== "CREATING" && img.ImageState !== "IMPORTING") return img;
    await L.sleep(300);
  }
  throw new Error(`image ${id} stuck: ${JSON.stringify(img)}`);
}

// The engine frees a file just after the operation that made it unused is recorded.
async function waitFileGone(file) {
  for (let i = 0; i < 100 && fs.existsSync(file); i++) await L.sleep(100);
  return !fs.existsSync(file);
}

// The tiny public image converted into the import directory as `name` in `format`.
function stageImport(name, format = "qcow2") {
  const source = path.join(process.env.CVM_PUBLIC_IMAGES || "/var/cache/opencvm/public-images",
                           "tiny-linux.qcow2");
  execFileSync("qemu-img", ["convert", "-O", format, source, path.join(importDir, name)]);
}

async function terminate(client, ids) {
  await client.TerminateInstances({ InstanceIds: ids });
  await L.waitState(client, ids, "GONE", 120000);
}

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-img-conf-"));
  exportDir = path.join(dir, "export");
  const conf = path.join(dir, "cvmd.toml");
  fs.writeFileSync(conf, `[images]\nimport_dir = "${dir}/import"\nexport_dir = "${exportDir}"\n` +
                         "max_virtual_gb = 64\n");
  d = await L.startDaemon({ args: ["--config", conf] });
  cvm = d.client("cvm");
  // Each account imports from its own directory, <import_dir>/<AppId>.
  importDir = path.join(dir, "import", String((await d.client("cam").GetUserAppId({})).AppId));
  fs.mkdirSync(importDir, { recursive: true });
  tiny = await L.tinyImageId(cvm);
  tenant = d.createAccount("image-tenant");
  tenantCvm = d.client("cvm", tenant);
  a = await run(cvm, tiny, "image-source",
                { DataDisks: [{ DiskType: "CLOUD_PREMIUM", DiskSize: 10 }] });
  await L.waitState(cvm, [a], "RUNNING");
});

after(async () => {
  try {
    for (const client of [cvm, tenantCvm]) {
      const all = await client.DescribeInstances({ Limit: 100 });
      const live = all.InstanceSet.map((i) => i.InstanceId);
      if (live.length) {
        await client.TerminateInstances({ InstanceIds: live }).catch(() => {});
        await L.waitState(client, live, "GONE", 120000).catch(() => {});
      }
    }
  } finally {
    await d.stop();
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-e2e-images.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

test("CreateImage captures a stopped instance's system disk as a flattened private image",
     async () => {
  marker = `marker-${Date.now()}`;
  await ssh(a, `echo ${marker} > /root/marker && sync`);
  await L.expectCode(cvm.CreateImage({ InstanceId: a, ImageName: "captured" }),
                     "UnsupportedOperation.InstanceStateRunning");
  await cvm.StopInstances({ InstanceIds: [a] });
  await L.waitState(cvm, [a], "STOPPED");

  const [inst] = (await cvm.DescribeInstances({ InstanceIds: [a] })).InstanceSet;
  const dataDisk = inst.DataDisks[0].DiskId;
  captured = (await cvm.CreateImage({ InstanceId: a, ImageName: "captured",
                                      ImageDescription: "with a marker",
                                      DataDiskIds: [dataDisk] })).ImageId;
  assert.match(captured, /^img-[a-z0-9]{8}$/);
  await L.expectCode(cvm.CreateImage({ InstanceId: a, ImageName: "captured" }),
                     "InvalidImageName.Duplicate");
  const img = await waitImage(cvm, captured);
  assert.equal(img.ImageState, "NORMAL");
  assert.equal(img.ImageType, "PRIVATE_IMAGE");
  assert.equal(img.ImageSource, "CREATE_IMAGE");
  assert.equal(img.ImageDescription, "with a marker");
  assert.equal(img.ImageSize, 20);
  assert.match(img.ImageCreator, /^\d+$/);
  assert.ok(Date.parse(img.CreatedTime) > 0);
  // Both disks are snapshots of the image, as Tencent lists them: the system disk's first (the
  // image's own file under a second name, no second copy), then the data disk's.
  assert.deepEqual(img.SnapshotSet.map((x) => [x.DiskUsage, x.DiskSize]),
                   [["SYSTEM_DISK", 20], ["DATA_DISK", 10]]);
  const cbs = d.client("cbs");
  const snapIds = img.SnapshotSet.map((x) => x.SnapshotId);
  for (let i = 0; i < 300; i++) {
    const snaps = (await cbs.DescribeSnapshots({ SnapshotIds: snapIds })).SnapshotSet;
    if (snaps.every((x) => x.SnapshotState === "NORMAL")) break;
    await L.sleep(200);
  }
  const snaps = (await cbs.DescribeSnapshots({ SnapshotIds: snapIds, Order: "ASC" })).SnapshotSet;
  const byId = Object.fromEntries(snaps.map((x) => [x.SnapshotId, x]));
  assert.equal(byId[snapIds[0]].DiskId, inst.SystemDisk.DiskId);
  assert.equal(byId[snapIds[1]].DiskId, dataDisk);
  assert.ok(snaps.every((x) => x.SnapshotState === "NORMAL"));
  assert.equal(fs.statSync(path.join(d.dataDir, "snapshots", `${snapIds[0]}.qcow2`)).ino,
               fs.statSync(imageFile(captured)).ino);

  const privates = await cvm.DescribeImages({
    Filters: [{ Name: "image-type", Values: ["PRIVATE_IMAGE"] }] });
  assert.deepEqual(privates.ImageSet.map((i) => i.ImageId), [captured]);
  // Flattened: the capture does not depend on the public image.
  const info = JSON.parse(execFileSync("qemu-img", ["info", "-U", "--output=json",
                                                     imageFile(captured)]));
  assert.equal(info.format, "qcow2");
  assert.equal(info["backing-filename"], undefined);

  await cvm.ModifyImageAttribute({ ImageId: captured, ImageName: "captured-2" });
  assert.equal((await describeImage(cvm, captured)).ImageName, "captured-2");
  await L.expectCode(cvm.ModifyImageAttribute({ ImageId: tiny, ImageName: "x" }),
                     "UnauthorizedOperation.ImageNotBelongToAccount");
  await L.expectCode(cvm.DeleteImages({ ImageIds: [tiny] }),
                     "UnauthorizedOperation.ImageNotBelongToAccount");
});

test("an instance launched from the captured image finds the marker", async () => {
  b = await run(cvm, captured, "from-capture");
  const [inst] = Object.values(await L.waitState(cvm, [b], "RUNNING"));
  assert.equal(inst.ImageId, captured);
  assert.equal((await ssh(b, "cat /root/marker")).trim(), marker);
});

test("an image made from a system-disk snapshot boots, after its snapshot is deleted",
     async () => {
  // a is stopped with the marker on its system disk.
  const cbs = d.client("cbs");
  const [inst] = (await cvm.DescribeInstances({ InstanceIds: [a] })).InstanceSet;
  const snap = (await cbs.CreateSnapshot({ DiskId: inst.SystemDisk.DiskId })).SnapshotId;
  for (let i = 0; i < 300; i++) {
    const [s] = (await cbs.DescribeSnapshots({ SnapshotIds: [snap] })).SnapshotSet;
    if (s.SnapshotState === "NORMAL") break;
    await L.sleep(200);
  }
  const [s] = (await cbs.DescribeSnapshots({ SnapshotIds: [snap] })).SnapshotSet;
  assert.equal(s.DiskUsage, "SYSTEM_DISK");
  const fromSnap = (await cvm.CreateImage({ ImageName: "from-snapshot",
                                            SnapshotIds: [snap] })).ImageId;
  const img = await waitImage(cvm, fromSnap);
  assert.equal(img.ImageState, "NORMAL", img.ImageDescription);
  assert.equal(img.OsName, (await describeImage(cvm, tiny)).OsName);
  assert.equal(img.ImageSize, 20);
  await cbs.DeleteSnapshots({ SnapshotIds: [snap] });
  const c = await run(cvm, fromSnap, "from-snapshot");
  await L.waitState(cvm, [c], "RUNNING");
  assert.equal((await ssh(c, "cat /root/marker")).trim(), marker);
  await terminate(cvm, [c]);
  await cvm.DeleteImages({ ImageIds: [fromSnap] });
  assert.ok(await waitFileGone(imageFile(fromSnap)));
});

test("a running instance is captured point-in-time and keeps running", async () => {
  await ssh(b, "echo live > /root/live && sync");
  const live = (await cvm.CreateImage({ InstanceId: b, ImageName: "live",
                                        ForcePoweroff: "true" })).ImageId;
  assert.equal((await waitImage(cvm, live)).ImageState, "NORMAL");
  const [inst] = Object.values(await L.waitState(cvm, [b], "RUNNING"));
  assert.equal(inst.InstanceState, "RUNNING");
  assert.equal((await ssh(b, "cat /root/live")).trim(), "live");
  // Launched nowhere: deleting it frees its file at once; with DeleteBindedSnap its system-disk
  // snapshot goes too (a DryRun changes nothing).
  const [liveSnap] = (await describeImage(cvm, live)).SnapshotSet.map((x) => x.SnapshotId);
  const cbs = d.client("cbs");
  await L.expectCode(cvm.DeleteImages({ ImageIds: [live], DeleteBindedSnap: true, DryRun: true }),
                     "DryRunOperation");
  assert.equal((await cbs.DescribeSnapshots({ SnapshotIds: [liveSnap] })).TotalCount, 1);
  await cvm.DeleteImages({ ImageIds: [live], DeleteBindedSnap: true });
  assert.equal(fs.existsSync(imageFile(live)), false);
  assert.equal((await cbs.DescribeSnapshots({ SnapshotIds: [liveSnap] })).TotalCount, 0);
  assert.equal(fs.existsSync(path.join(d.dataDir, "snapshots", `${liveSnap}.qcow2`)), false);
});

test("a shared image can be launched by the receiver and nothing else", async () => {
  await L.expectCode(cvm.ModifyImageSharePermission({
    ImageId: captured, AccountIds: ["999999999999"], Permission: "SHARE" }),
                     "InvalidAccountId.NotFound");
  await cvm.ModifyImageSharePermission({ ImageId: captured, AccountIds: [tenant.uin],
                                         Permission: "SHARE" });
  await L.expectCode(cvm.ModifyImageSharePermission({
    ImageId: captured, AccountIds: [tenant.uin], Permission: "SHARE" }),
                     "FailedOperation.AccountAlreadyExists");
  const perms = await cvm.DescribeImageSharePermission({ ImageId: captured });
  assert.deepEqual(perms.SharePermissionSet.map((s) => s.AccountId), [tenant.uin]);
  await L.expectCode(cvm.DeleteImages({ ImageIds: [captured] }), "InvalidImageId.InShared");

  const shared = await tenantCvm.DescribeImages({
    Filters: [{ Name: "image-type", Values: ["SHARED_IMAGE"] }] });
  assert.deepEqual(shared.ImageSet.map((i) => i.ImageId), [captured]);
  await L.expectCode(tenantCvm.DeleteImages({ ImageIds: [captured] }),
                     "UnauthorizedOperation.ImageNotBelongToAccount");
  await L.expectCode(tenantCvm.ModifyImageAttribute({ ImageId: captured, ImageName: "mine" }),
                     "UnsupportedOperation.SharedImageModifyUnsupported");
  await L.expectCode(tenantCvm.ModifyImageSharePermission({
    ImageId: captured, AccountIds: [tenant.uin], Permission: "CANCEL" }),
                     "UnauthorizedOperation.ImageNotBelongToAccount");
  await L.expectCode(tenantCvm.DescribeImageSharePermission({ ImageId: captured }),
                     "UnauthorizedOperation.ImageNotBelongToAccount");
  await L.expectCode(tenantCvm.ExportImages({ BucketName: "b", ImageIds: [captured] }),
                     "UnsupportedOperation.SharedImageExportUnsupported");

  const c = await run(tenantCvm, captured, "receiver");
  await L.waitState(tenantCvm, [c], "RUNNING");
  assert.equal((await ssh(c, "cat /root/marker")).trim(), marker);
  await L.expectCode(tenantCvm.CreateImage({ InstanceId: c, ImageName: "copy",
                                             ForcePoweroff: "true" }),
                     "InvalidParameterValue.InvalidImageIdIsShared");
  // ResetInstance reinstalls from the shared image too.
  await ssh(c, "echo scratch > /root/scratch && sync");
  await tenantCvm.ResetInstance({ InstanceId: c, ImageId: captured,
                                  LoginSettings: { Password: PASSWORD } });
  const reset = await L.waitState(tenantCvm, [c], "RUNNING");
  assert.equal(reset[c].LatestOperationState, "SUCCESS");
  assert.equal((await ssh(c, "cat /root/marker; ls /root/scratch 2>/dev/null || echo absent"))
    .trim(), `${marker}\nabsent`);

  // Cancelled: no new launches; the running instance is left alone.
  await cvm.ModifyImageSharePermission({ ImageId: captured, AccountIds: [tenant.uin],
                                         Permission: "CANCEL" });
  await L.expectCode(run(tenantCvm, captured, "too-late"), "InvalidImageId.NotFound");
  assert.equal((await tenantCvm.DescribeImages({ ImageIds: [captured] })).TotalCount, 0);
  await L.waitState(tenantCvm, [c], "RUNNING");
  await terminate(tenantCvm, [c]);
});

test("kill -9 of cvmd during CreateImage and ImportImage: both resume and end NORMAL",
     async () => {
  stageImport("c.qcow2");
  const made = (await cvm.CreateImage({ InstanceId: a, ImageName: "crash-create" })).ImageId;
  const imported = (await cvm.ImportImage({ Architecture: "x86_64", OsType: "TinyLinux",
                                            OsVersion: "1.0", ImageName: "crash-import",
                                            ImageUrl: "c.qcow2" })).ImageId;
  await d.stop("SIGKILL");
  await d.start();
  // Resumed at start on fresh files: both complete (never stuck, never a half-made file).
  for (const id of [made, imported]) {
    assert.equal((await waitImage(cvm, id)).ImageState, "NORMAL");
    assert.ok(fs.existsSync(imageFile(id)));
  }
  const dir = path.join(d.dataDir, "images/private");
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")), []);
  await cvm.DeleteImages({ ImageIds: [made, imported] });
  for (const id of [made, imported]) assert.equal(fs.existsSync(imageFile(id)), false);
});

test("a deleted image in use is gone at once; its file goes with its last instance", async () => {
  await cvm.DeleteImages({ ImageIds: [captured] });
  assert.equal((await cvm.DescribeImages({ ImageIds: [captured] })).TotalCount, 0);
  await L.expectCode(run(cvm, captured, "no-more"), "InvalidImageId.NotFound");
  assert.ok(fs.existsSync(imageFile(captured)), "the file b's disk is an overlay on is kept");
  // b works on through a stop and start.
  await cvm.StopInstances({ InstanceIds: [b] });
  await L.waitState(cvm, [b], "STOPPED");
  await cvm.StartInstances({ InstanceIds: [b] });
  await L.waitState(cvm, [b], "RUNNING");
  assert.equal((await ssh(b, "cat /root/marker")).trim(), marker);
  await terminate(cvm, [b]);
  assert.ok(await waitFileGone(imageFile(captured)), "freed with its last instance");
  await terminate(cvm, [a]);
});

test("ImportImage takes qcow2 and vmdk files from the import directory and boots them",
     async () => {
  stageImport("t.qcow2");
  stageImport("t.vmdk", "vmdk");
  const params = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
  const q = (await cvm.ImportImage({ ...params, ImageName: "imported-qcow2",
                                     ImageUrl: `file://${importDir}/t.qcow2` })).ImageId;
  const v = (await cvm.ImportImage({ ...params, ImageName: "imported-vmdk",
                                     ImageUrl: "t.vmdk" })).ImageId;
  for (const id of [q, v]) {
    const img = await waitImage(cvm, id);
    assert.equal(img.ImageState, "NORMAL");
    assert.equal(img.ImageSource, "EXTERNAL_IMPORT");
    assert.equal(img.ImageType, "PRIVATE_IMAGE");
    assert.equal(img.OsName, "TinyLinux 1.0");
  }
  // Exported as raw (the default format) and as qcow2 into a bucket directory of the account's
  // part of the export directory.
  const appId = String((await d.client("cam").GetUserAppId({})).AppId);
  const raw = await cvm.ExportImages({ BucketName: "bucket", ImageIds: [v],
                                       FileNamePrefixList: ["tiny"] });
  const qc = await cvm.ExportImages({ BucketName: "bucket", ImageIds: [v],
                                      ExportFormat: "QCOW2" });
  assert.deepEqual(raw.CosPaths, [path.join(exportDir, appId, "bucket", "tiny.raw")]);
  assert.deepEqual(qc.CosPaths, [path.join(exportDir, appId, "bucket", `${v}.qcow2`)]);
  for (const [file, format] of [[raw.CosPaths[0], "raw"], [qc.CosPaths[0], "qcow2"]]) {
    for (let n = 0; n < 300 && !fs.existsSync(file); n++) await L.sleep(200);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", file]));
    assert.equal(info.format, format);
  }
  await L.expectCode(cvm.ExportImages({ BucketName: "bucket", ImageIds: [tiny] }),
                     "UnsupportedOperation.PublicImageExportUnsupported");
  await L.expectCode(cvm.ExportImages({ BucketName: "..", ImageIds: [v] }),
                     "InvalidParameterValue");
  const i = await run(cvm, v, "imported");
  await L.waitState(cvm, [i], "RUNNING");
  assert.equal((await ssh(i, "echo up")).trim(), "up");
  await terminate(cvm, [i]);
});

test("ImportImage refuses hostile and foreign files, leaving nothing behind", async () => {
  const params = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
  const refuse = (name, url, code) =>
    L.expectCode(cvm.ImportImage({ ...params, ImageName: name, ImageUrl: url }), code);
  // What a file holds is read by the engine: the image ends IMPORTFAILED with the reason.
  const fails = async (name, url, code) => {
    const id = (await cvm.ImportImage({ ...params, ImageName: name, ImageUrl: url })).ImageId;
    assert.equal((await waitImage(cvm, id)).ImageState, "IMPORTFAILED", name);
    const [task] = (await cvm.request("DescribeImageTasks", { ImageId: id })).TaskSet;
    assert.equal(task.ErrorCode, code, name);
    await cvm.DeleteImages({ ImageIds: [id] });
  };
  fs.writeFileSync(path.join(importDir, "garbage.img"), "not a disk image\n".repeat(1000));
  await fails("garbage", "garbage.img", "InvalidParameterValue.InvalidImageFormat");
  // A backing file pointing at a host file is never followed.
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd",
                            path.join(importDir, "backed.qcow2"), "1G"]);
  await fails("backed", "backed.qcow2", "InvalidParameterValue.InvalidImageFormat");
  // Truncated: a qcow2 cut short.
  const whole = fs.readFileSync(path.join(importDir, "t.qcow2"));
  fs.writeFileSync(path.join(importDir, "cut.qcow2"), whole.subarray(0, 300000));
  await fails("cut", "cut.qcow2", "InvalidParameterValue.InvalidImageFormat");
  // Over the configured virtual size (64 GiB here).
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path.join(importDir, "huge.qcow2"),
                            "100G"]);
  await fails("huge", "huge.qcow2", "InvalidImageId.TooLarge");
  // Nothing outside the import directory, nor through a symlink out of it, nor downloads from
  // hosts other than the configured ones (loopback by default; see images-http.test.js).
  fs.symlinkSync("/etc/passwd", path.join(importDir, "link"));
  await refuse("outside", "file:///etc/passwd", "InvalidParameter.InvalidParameterUrlError");
  await refuse("link", "link", "InvalidParameter.InvalidParameterUrlError");
  await refuse("up", "../cvmd.toml", "InvalidParameter.InvalidParameterUrlError");
  await refuse("web", "http://images.example.invalid/x.qcow2",
               "InvalidParameter.InvalidParameterUrlError");
  await refuse("none", "missing.qcow2", "InvalidParameter.InvalidParameterUrlError");
  const names = (await cvm.DescribeImages({ Filters: [{ Name: "image-type",
                                                        Values: ["PRIVATE_IMAGE"] }] }))
    .ImageSet.map((i) => i.ImageName).sort();
  assert.deepEqual(names, ["imported-qcow2", "imported-vmdk"]);
  const files = fs.readdirSync(path.join(d.dataDir, "images/private")).sort();
  assert.equal(files.length, 2);
});
