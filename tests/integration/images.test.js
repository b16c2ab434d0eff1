// Images without a VM: what ImportImage accepts (DescribeImportImageOs), imports over http from
// a loopback server through the official SDK and the `cvm image` verbs, every hostile download
// refused with its reason visible and nothing left behind, and the service-market catalogue;
// exports uploaded to a loopback PUT receiver (and uploads that fail), images made from
// snapshots, and kill -9 of cvmd in the middle of a download and of an upload.
// (Booting imported, market and snapshot-made images is in tests/e2e/.)
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync, spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode, CVM } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");
const { ImageServer, tinyIn } = require("./lib/image_server");

const IMAGES = process.env.CVM_PUBLIC_IMAGES;
const TINY = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
let d, cvm, cbs, server, work, exportDir, putDir, adminAppId, importDir;

const privateFiles = () => fs.readdirSync(path.join(d.dataDir, "images/private")).sort();
async function waitImage(id, client = cvm) {
  for (let i = 0; i < 600; i++) {
    const [img] = (await client.DescribeImages({ ImageIds: [id] })).ImageSet;
    if (img.ImageState !== "IMPORTING" && img.ImageState !== "CREATING") return img;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("image never settled: " + id);
}

// A raw disk of `size` bytes with a boot signature and `random` bytes of random data after it.
function rawDisk(size, random) {
  const disk = Buffer.alloc(size);
  crypto.randomFillSync(disk, 512, random);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
}

// Waits until the image's task of `action` (whose Target is `target`, if given) has ended.
async function waitTask(id, action, target, client = cvm) {
  for (let i = 0; i < 600; i++) {
    const t = (await client.request("DescribeImageTasks", { ImageId: id })).TaskSet
      .filter((x) => x.Action === action && (!target || x.Target === target)).pop();
    if (t && (t.State === "SUCCESS" || t.State === "FAILED")) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${action} of ${id} never ended`);
}

// Every leftover of an unfinished copy anywhere in the data directory.
function halfMadeFiles() {
  const found = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(tmp|download|export)$/.test(e.name)) found.push(path.relative(d.dataDir, p));
    }
  };
  walk(d.dataDir);
  return found;
}

// `cvm` without blocking the event loop (the image server runs in this process).
function cli(args) {
  return new Promise((resolve) => {
    const p = spawn(CVM, args, { env: { ...process.env, HOME: d.home } });
    let stdout = "", stderr = "";
    p.stdout.on("data", (b) => { stdout += b; });
    p.stderr.on("data", (b) => { stderr += b; });
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-images-it-"));
  exportDir = path.join(work, "export");
  putDir = path.join(work, "put");
  for (const dir of ["import", "srv", "put"]) fs.mkdirSync(path.join(work, dir));
  const srv = path.join(work, "srv");
  fs.writeFileSync(path.join(srv, "junk.img"), "not a disk image\n".repeat(4096));
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd",
                            path.join(srv, "backed.qcow2"), "1G"]);
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path.join(srv, "huge.qcow2"), "100G"]);
  // 48 MiB raw disk (boot signature, 8 MiB of random data): served slowly to be cut by kill -9.
  fs.writeFileSync(path.join(srv, "big.raw"), rawDisk(48 << 20, 8 << 20));
  const files = {
    "/junk.img": path.join(srv, "junk.img"),
    "/backed.qcow2": path.join(srv, "backed.qcow2"),
    "/huge.qcow2": path.join(srv, "huge.qcow2"),
    "/big.raw": path.join(srv, "big.raw"),
  };
  if (IMAGES) {
    for (const f of ["qcow2", "vpc"]) files[`/tiny.${f}`] = tinyIn(srv, f);
    const whole = fs.readFileSync(files["/tiny.qcow2"]);
    fs.writeFileSync(path.join(srv, "cut.qcow2"), whole.subarray(0, 300000));
    files["/cut.qcow2"] = path.join(srv, "cut.qcow2");
  }
  server = await new ImageServer(files).start();
  server.putDir = putDir;
  // A loopback port nothing listens on: an upload there is refused.
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  const closedPort = probe.address().port;
  await new Promise((r) => probe.close(r));
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, `[images]\nimport_dir = "${work}/import"\nexport_dir = "${exportDir}"\n` +
                         'url_hosts = ["127.0.0.1"]\n' +
                         "max_virtual_gb = 64\ndownload_stall_s = 2\nupload_stall_s = 2\n" +
                         "[images.export_targets]\n" +
                         `web-bucket = "${server.url("/put/")}"\n` +
                         // Named "<name>-<AppId>" as COS buckets are: the admin account's alone
                         // (the first account made, so its AppId is known before the start).
                         `admins-1250000001 = "${server.url("/put/")}"\n` +
                         `broken = "${server.url("/put-fail")}"\n` +
                         `stalled = "${server.url("/put-stall")}"\n` +
                         `refused = "http://127.0.0.1:${closedPort}/up"\n`);
  d = new Daemon({ args: ["--config", conf, ...(IMAGES ? ["--public-images", IMAGES] : [])] });
  await d.start();
  cvm = d.client("cvm");
  cbs = d.client("cbs");
  adminAppId = String((await d.client("cam").GetUserAppId({})).AppId);
  importDir = path.join(work, "import", adminAppId);  // each account imports from its own
  fs.mkdirSync(importDir);
});

after(async () => {
  await d.stop();
  await server.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

test("DescribeImportImageOs lists what ImportImage accepts, and nothing else is accepted",
     async () => {
  const r = await cvm.DescribeImportImageOs({});
  assert.deepEqual(r.ImportImageOsListSupported.Windows, []);
  assert.ok(r.ImportImageOsListSupported.Linux.includes("TinyLinux"));
  assert.ok(r.ImportImageOsListSupported.Linux.includes("Debian"));
  const debian = r.ImportImageOsVersionSet.find((o) => o.OsName === "Debian");
  assert.ok(debian.OsVersions.includes("12"));
  assert.deepEqual(debian.Architecture, ["x86_64"]);
  assert.deepEqual(r.ImportImageOsVersionSet.map((o) => o.OsName),
                   r.ImportImageOsListSupported.Linux);

  const url = server.url("/junk.img");
  await expectCode(cvm.ImportImage({ ...TINY, OsType: "Windows", ImageName: "w", ImageUrl: url }),
                   "InvalidImageOsType.Unsupported");
  await expectCode(cvm.ImportImage({ ...TINY, OsType: "Debian", OsVersion: "7", ImageName: "d",
                                     ImageUrl: url }),
                   "InvalidImageOsVersion.Unsupported");
  const r2 = d.cli(["image", "import", url, "--name", "x", "--os-type", "Solaris",
                    "--os-version", "11"]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /^error: InvalidImageOsType\.Unsupported: /);
  assert.equal((await cvm.DescribeImages({ Filters: [{ Name: "image-type",
                                                       Values: ["PRIVATE_IMAGE"] }] })).TotalCount,
               0);
});

test("URLs that are not http(s) on an allowed host are refused at once", async () => {
  const refuse = (name, url) => expectCode(cvm.ImportImage({ ...TINY, ImageName: name,
                                                             ImageUrl: url }),
                                           "InvalidParameter.InvalidParameterUrlError");
  await refuse("ext", "http://images.example.invalid/tiny.qcow2");
  await refuse("private", "http://10.0.0.1/tiny.qcow2");
  await refuse("creds", server.url("/tiny.qcow2").replace("http://", "http://user:pw@"));
  await refuse("ftp", "ftp://127.0.0.1/tiny.qcow2");
  await refuse("file", "file:///etc/passwd");
  assert.deepEqual(privateFiles(), []);
});

test("hostile downloads end IMPORTFAILED with the reason in ImageDescription, leaving no file",
     async () => {
  const cases = [
    ["junk", "/junk.img", /not a disk image|not one of/],
    ["backed", "/backed.qcow2", /backing file/],
    ["huge", "/huge.qcow2", /exceeds the limit/],
    ["redirect-file", "/redirect-file", /only http:\/\/ and https:\/\//],
    ["redirect-host", "/redirect-host", /images\.example\.invalid.*is not one images may be/],
    ["stall", "/stall", /could not be downloaded/],
    ["short", "/short", /could not be downloaded/],
    ["missing", "/missing.qcow2", /could not be downloaded/],
  ];
  if (IMAGES) cases.push(["cut", "/cut.qcow2", /damaged or truncated/]);
  const ids = [];
  for (const [name, route] of cases) {
    const r = await cvm.ImportImage({ ...TINY, ImageName: name, ImageDescription: "mine",
                                      ImageUrl: server.url(route) });
    ids.push(r.ImageId);
  }
  for (let i = 0; i < cases.length; i++) {
    const img = await waitImage(ids[i]);
    assert.equal(img.ImageState, "IMPORTFAILED", cases[i][0]);
    assert.match(img.ImageDescription, /^IMPORTFAILED: /, cases[i][0]);
    assert.match(img.ImageDescription, cases[i][2], cases[i][0]);
    const tasks = await cvm.request("DescribeImageTasks", { ImageId: ids[i] });
    assert.equal(tasks.TaskSet.length, 1);
    assert.equal(tasks.TaskSet[0].Action, "ImportImage");
    assert.equal(tasks.TaskSet[0].State, "FAILED");
    assert.match(tasks.TaskSet[0].ErrorMessage, cases[i][2]);
  }
  assert.deepEqual(privateFiles(), []);
  // The CLI waits and says why.
  const r = await cli(["image", "import", server.url("/junk.img"), "--name", "junk-cli",
                       "--os-type", "TinyLinux", "--os-version", "1.0"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^img-[a-z0-9]{8}\n$/);
  assert.match(r.stderr, /error: FailedOperation: img-[a-z0-9]{8}: IMPORTFAILED: .*not a disk image/);
  await cvm.DeleteImages({ ImageIds: [...ids, r.stdout.trim()] });
  assert.deepEqual(privateFiles(), []);
});

test("DescribeImageTasks validates its parameters and shows only the caller's images", async () => {
  await expectCode(cvm.request("DescribeImageTasks", {}), "MissingParameter");
  await expectCode(cvm.request("DescribeImageTasks", { ImageId: "img-BAD" }),
                   "InvalidImageId.Malformed");
  await expectCode(cvm.request("DescribeImageTasks", { ImageId: "img-00000000", X: 1 }),
                   "UnknownParameter");
  await expectCode(cvm.request("DescribeImageTasks", { ImageId: "img-00000000" }),
                   "InvalidImageId.NotFound");
});

test("cvm image import|ls|export|share|rm over an http URL", { skip: !IMAGES && "CVM_PUBLIC_IMAGES not set" }, async () => {
  const imp = await cli(["image", "import", server.url("/redirect-to/tiny.vpc"), "--name", "web",
                         "--os-type", "TinyLinux", "--os-version", "1.0"]);
  assert.equal(imp.code, 0, imp.stderr);
  const id = imp.stdout.trim();
  assert.match(id, /^img-[a-z0-9]{8}$/);
  assert.match(imp.stderr, /\[#+\] 100%/);
  const ls = await cli(["image", "ls"]);
  assert.match(ls.stdout.split("\n")[0], /^ID\s+NAME\s+TYPE\s+OS\s+SIZE\s+STATE\s+CREATED$/);
  assert.match(ls.stdout, new RegExp(`^${id}\\s+web\\s+PRIVATE_IMAGE\\s+TinyLinux 1\\.0\\s+1 GB\\s+NORMAL`, "m"));
  const json = JSON.parse((await cli(["image", "ls", "-o", "json"])).stdout);
  assert.equal(json.find((i) => i.ImageId === id).ImageSource, "EXTERNAL_IMPORT");
  assert.deepEqual(privateFiles(), [`${id}.qcow2`]);

  const exp = await cli(["image", "export", id, "--bucket", "b", "--format", "raw",
                         "--prefix", "web"]);
  assert.equal(exp.code, 0, exp.stderr);
  const file = path.join(exportDir, adminAppId, "b", "web.raw");
  assert.equal(exp.stdout.trim(), file);
  assert.match(exp.stderr, /100%/);
  assert.equal(JSON.parse(execFileSync("qemu-img", ["info", "--output=json", file])).format, "raw");
  const tasks = (await cvm.request("DescribeImageTasks", { ImageId: id })).TaskSet;
  assert.deepEqual(tasks.map((t) => [t.Action, t.State, t.Progress]),
                   [["ImportImage", "SUCCESS", 100], ["ExportImages", "SUCCESS", 100]]);
  assert.equal(tasks[1].Target, file);

  const tenant = d.createAccount("image-cli-tenant");
  assert.equal((await cli(["image", "share", id, tenant.uin])).code, 0);
  const shares = await cli(["image", "share", id]);
  assert.match(shares.stdout, new RegExp(`^ACCOUNT\\s+SHARED\\n${tenant.uin}\\s+\\d{4}-`));
  const seen = await d.client("cvm", tenant).DescribeImages({ ImageIds: [id] });
  assert.equal(seen.ImageSet[0].ImageType, "SHARED_IMAGE");
  assert.equal((await cli(["image", "share", id, tenant.uin, "--cancel"])).code, 0);
  assert.equal((await cli(["image", "share", id])).stdout.trim(), "ACCOUNT  SHARED");

  const rm = await cli(["image", "rm", id]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await cvm.DescribeImages({ ImageIds: [id] })).TotalCount, 0);
  assert.deepEqual(privateFiles(), []);
  const again = await cli(["image", "rm", id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^error: InvalidImageId\.NotFound: /);
});

test("service-market images: their own type and source, for every account, read-only",
     { skip: !IMAGES && "CVM_PUBLIC_IMAGES not set" }, async () => {
  const market = (await cvm.DescribeImages({ Filters: [{ Name: "image-type",
                                                         Values: ["MARKET_IMAGE"] }] })).ImageSet;
  assert.deepEqual(market.map((i) => i.ImageName).sort(),
                   ["OpenCVM Nginx Web Server", "OpenCVM Redis Server"]);
  for (const img of market) {
    assert.equal(img.ImageSource, "MARKET");
    assert.equal(img.ImageState, "NORMAL");
    assert.equal(img.Platform, "TinyLinux");
  }
  const other = d.client("cvm", d.createAccount("market-viewer"));
  const seen = await other.DescribeImages({ ImageIds: market.map((i) => i.ImageId) });
  assert.deepEqual(seen.ImageSet.map((i) => i.ImageType), ["MARKET_IMAGE", "MARKET_IMAGE"]);
  const id = market[0].ImageId;
  await expectCode(cvm.ModifyImageAttribute({ ImageId: id, ImageName: "mine" }),
                   "UnauthorizedOperation.ImageNotBelongToAccount");
  await expectCode(cvm.DeleteImages({ ImageIds: [id] }),
                   "UnauthorizedOperation.ImageNotBelongToAccount");
  await expectCode(cvm.ModifyImageSharePermission({ ImageId: id, AccountIds: ["1"],
                                                    Permission: "SHARE" }),
                   "UnauthorizedOperation.ImageNotBelongToAccount");
  await expectCode(cvm.ExportImages({ BucketName: "b", ImageIds: [id] }),
                   "UnsupportedOperation.PublicImageExportUnsupported");
});

test("SyncImages copies an image into other configured regions, each copy its own image",
     async () => {
  // The smallest raw disk ImportImage takes: 1 MiB with a boot signature.
  const mbr = path.join(importDir, "mbr.raw");
  const disk = Buffer.alloc(1 << 20);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  fs.writeFileSync(mbr, disk);
  const id = (await cvm.ImportImage({ ...TINY, ImageName: "to-sync", ImageUrl: "mbr.raw" }))
    .ImageId;
  assert.equal((await waitImage(id)).ImageState, "NORMAL");
  const sh = d.client("cvm", d.admin, { region: "ap-shanghai" });

  await expectCode(cvm.SyncImages({ ImageIds: [id], DestinationRegions: ["ap-nowhere"] }),
                   "InvalidRegion.NotFound");
  await expectCode(cvm.SyncImages({ ImageIds: [id], DestinationRegions: ["ap-guangzhou"] }),
                   "InvalidRegion.Unavailable");
  await expectCode(cvm.SyncImages({ ImageIds: [id, id], DestinationRegions: ["ap-shanghai"] }),
                   "InvalidParameterValue");
  await expectCode(sh.SyncImages({ ImageIds: [id], DestinationRegions: ["ap-guangzhou"] }),
                   "InvalidImageId.NotFound");
  await expectCode(cvm.SyncImages({ ImageIds: [id], DestinationRegions: ["ap-shanghai"],
                                    DryRun: true }), "DryRunOperation");

  const r = await cvm.SyncImages({ ImageIds: [id], DestinationRegions: ["ap-shanghai"] });
  assert.equal(r.ImageSet.length, 1);
  const copy = r.ImageSet[0].ImageId;
  assert.equal(r.ImageSet[0].Region, "ap-shanghai");
  assert.notEqual(copy, id);
  // Each region sees its own image only.
  assert.equal((await cvm.DescribeImages({ ImageIds: [copy] })).TotalCount, 0);
  assert.equal((await sh.DescribeImages({ ImageIds: [id] })).TotalCount, 0);
  let img;
  for (let i = 0; i < 300; i++) {
    [img] = (await sh.DescribeImages({ ImageIds: [copy] })).ImageSet;
    if (img.ImageState !== "SYNCING") break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(img.ImageState, "NORMAL");
  assert.equal(img.ImageName, "to-sync");
  assert.equal(img.ImageSource, "EXTERNAL_IMPORT");
  assert.equal(img.SyncPercent, 100);
  const file = (x) => path.join(d.dataDir, "images/private", `${x}.qcow2`);
  assert.ok(fs.readFileSync(file(copy)).equals(fs.readFileSync(file(id))));
  const tasks = (await sh.request("DescribeImageTasks", { ImageId: copy })).TaskSet;
  assert.deepEqual(tasks.map((t) => [t.Action, t.State]), [["SyncImages", "SUCCESS"]]);

  // Names are per region: a second copy there needs another name.
  await expectCode(cvm.SyncImages({ ImageIds: [id], DestinationRegions: ["ap-shanghai"] }),
                   "InvalidImageName.Duplicate");
  await sh.DeleteImages({ ImageIds: [copy] });
  await cvm.DeleteImages({ ImageIds: [id] });
  assert.deepEqual(privateFiles(), []);
});

// An imported raw disk with data in it: what the export and snapshot tests start from.
async function importRaw(name, size = 16 << 20, random = 4 << 20) {
  fs.writeFileSync(path.join(importDir, `${name}.raw`), rawDisk(size, random));
  const id = (await cvm.ImportImage({ ...TINY, ImageName: name, ImageUrl: `${name}.raw` }))
    .ImageId;
  assert.equal((await waitImage(id)).ImageState, "NORMAL");
  return id;
}
const imageFile = (id) => path.join(d.dataDir, "images/private", `${id}.qcow2`);
const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

test("ExportImages to a bucket mapped to an http URL PUTs what qemu-img convert makes, " +
     "in each format, RAW when none is named", async () => {
  const id = await importRaw("to-upload");
  // Tencent's formats and the qemu-img format each is (VHD is qemu's "vpc").
  for (const [format, qemuFormat] of [["raw", "raw"], ["qcow2", "qcow2"], ["vhd", "vpc"],
                                      ["vmdk", "vmdk"]]) {
    const r = await cvm.ExportImages({ BucketName: "web-bucket", ImageIds: [id],
                                       ...(format === "raw" ? {} :
                                           { ExportFormat: format.toUpperCase() }),
                                       FileNamePrefixList: [`up-${format}`] });
    const url = server.url(`/put/up-${format}.${format}`);
    assert.deepEqual(r.CosPaths, [url]);
    const task = await waitTask(id, "ExportImages", url);
    assert.equal(task.State, "SUCCESS", task.ErrorMessage);
    assert.equal(task.Progress, 100);
    // The uploaded bytes are the image converted by qemu-img: the same disk contents and size,
    // in the requested format (raw: the very same bytes).
    const got = path.join(putDir, `up-${format}.${format}`);
    const want = path.join(work, `want.${format}`);
    execFileSync("qemu-img", ["convert", "-O", qemuFormat,
                              ...(qemuFormat === "vpc" ? ["-o", "force_size=on"] : []),
                              imageFile(id), want]);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", got]));
    assert.equal(info.format, qemuFormat);
    assert.equal(info["virtual-size"], fs.statSync(path.join(importDir, "to-upload.raw")).size);
    execFileSync("qemu-img", ["compare", "-q", "-f", qemuFormat, "-F", qemuFormat, got, want]);
    execFileSync("qemu-img", ["compare", "-q", "-f", qemuFormat, "-F", "raw", got,
                              path.join(importDir, "to-upload.raw")]);
    if (format === "raw") assert.equal(sha256(got), sha256(want));
  }
  assert.deepEqual(server.puts.filter(([u]) => u.startsWith("/put/")).map(([, s]) => s),
                   [201, 201, 201, 201]);
  // The dry run and the refusals upload nothing.
  await expectCode(cvm.ExportImages({ BucketName: "web-bucket", ImageIds: [id], DryRun: true }),
                   "DryRunOperation");
  await expectCode(cvm.ExportImages({ BucketName: "web-bucket", ImageIds: [id],
                                      FileNamePrefixList: ["../x"] }),
                   "InvalidParameterValue.InvalidFileNamePrefixList");
  await expectCode(cvm.ExportImages({ BucketName: "web-bucket", ImageIds: [id],
                                      ExportFormat: "VDI" }),
                   "InvalidParameterValue");
  assert.equal(server.puts.length, 4);

  // The CLI draws its progress bar to 100% and prints the URL.
  const cliRun = await cli(["image", "export", id, "--bucket", "web-bucket", "--format", "raw",
                            "--prefix", "by-cli"]);
  assert.equal(cliRun.code, 0, cliRun.stderr);
  assert.equal(cliRun.stdout.trim(), server.url("/put/by-cli.raw"));
  assert.match(cliRun.stderr, /\[#+\] 100%/);
  assert.equal(sha256(path.join(putDir, "by-cli.raw")), sha256(path.join(work, "want.raw")));
  // Only the image itself is left in the data directory: no converted file.
  assert.deepEqual(privateFiles(), [`${id}.qcow2`]);
  assert.deepEqual(halfMadeFiles(), []);
  await cvm.DeleteImages({ ImageIds: [id] });
});

test("an upload answered 500, one the receiver stalls and one refused fail with the reason; " +
     "the converted file is removed", async () => {
  const id = await importRaw("upload-fails");
  const cases = [
    ["broken", /answered HTTP 500/],
    ["stalled", /stalled/],
    ["refused", /failed: .*(refused|connect)/i],
  ];
  const urls = [];
  for (const [bucket] of cases) {
    urls.push((await cvm.ExportImages({ BucketName: bucket, ImageIds: [id],
                                        ExportFormat: "RAW" })).CosPaths[0]);
  }
  // While the stalled upload waits, its task is RUNNING in the upload half of its progress.
  let seen;
  for (let i = 0; i < 100 && !seen; i++) {
    const t = (await cvm.request("DescribeImageTasks", { ImageId: id })).TaskSet
      .find((x) => x.Target === urls[1]);
    if (t.State === "RUNNING" && t.Progress >= 50) seen = t;
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(seen, "the stalled upload was never seen uploading");
  assert.ok(seen.Progress <= 99);
  for (let i = 0; i < cases.length; i++) {
    const task = await waitTask(id, "ExportImages", urls[i]);
    assert.equal(task.State, "FAILED", cases[i][0]);
    assert.equal(task.ErrorCode, "FailedOperation", cases[i][0]);
    assert.match(task.ErrorMessage, cases[i][1], cases[i][0]);
    assert.ok(task.ErrorMessage.includes(urls[i]), task.ErrorMessage);
  }
  // The image is untouched, and nothing but it is left.
  assert.equal((await waitImage(id)).ImageState, "NORMAL");
  assert.deepEqual(privateFiles(), [`${id}.qcow2`]);
  assert.deepEqual(halfMadeFiles(), []);
  // The CLI ends with the reason.
  const r = await cli(["image", "export", id, "--bucket", "broken"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: FailedOperation: img-[a-z0-9]{8}: .*answered HTTP 500/);
  assert.deepEqual(privateFiles(), [`${id}.qcow2`]);
  await cvm.DeleteImages({ ImageIds: [id] });
});

test("export buckets are the account's own: a directory per account, and an upload bucket " +
     "named <name>-<AppId> only for that account", async () => {
  const mine = await importRaw("own-bucket");
  const tenant = d.createAccount("export-tenant");
  const theirs = d.client("cvm", tenant);
  const theirDir = path.join(work, "import", String(tenant.appId));
  fs.mkdirSync(theirDir);
  fs.writeFileSync(path.join(theirDir, "theirs.raw"), rawDisk(16 << 20, 4 << 20));
  const theirId = (await theirs.ImportImage({ ...TINY, ImageName: "theirs",
                                              ImageUrl: "theirs.raw" })).ImageId;
  assert.equal((await waitImage(theirId, theirs)).ImageState, "NORMAL");

  // The same bucket and file name from two accounts: two files, neither in the other's way.
  const ask = { BucketName: "shared-name", FileNamePrefixList: ["disk"] };
  const a = await cvm.ExportImages({ ...ask, ImageIds: [mine] });
  const b = await theirs.ExportImages({ ...ask, ImageIds: [theirId] });
  assert.deepEqual(a.CosPaths, [path.join(exportDir, adminAppId, "shared-name", "disk.raw")]);
  assert.deepEqual(b.CosPaths, [path.join(exportDir, String(tenant.appId), "shared-name",
                                          "disk.raw")]);
  assert.equal((await waitTask(mine, "ExportImages", a.CosPaths[0])).State, "SUCCESS");
  assert.equal((await waitTask(theirId, "ExportImages", b.CosPaths[0], theirs)).State, "SUCCESS");
  assert.equal(sha256(a.CosPaths[0]), sha256(path.join(importDir, "own-bucket.raw")));
  assert.equal(sha256(b.CosPaths[0]), sha256(path.join(theirDir, "theirs.raw")));
  // A name taken in one's own bucket is refused, and only there; so is one name twice.
  await expectCode(cvm.ExportImages({ ...ask, ImageIds: [mine] }), "InvalidParameterValue");
  await expectCode(cvm.ExportImages({ BucketName: "twice", ImageIds: [mine, mine] }),
                   "InvalidParameterValue");
  assert.ok(!fs.existsSync(path.join(exportDir, adminAppId, "twice")));

  // The admin's named upload bucket takes the admin's export and refuses the tenant's.
  assert.equal(adminAppId, "1250000001");
  const puts = server.puts.length;
  const up = await cvm.ExportImages({ BucketName: "admins-1250000001", ImageIds: [mine],
                                      FileNamePrefixList: ["owned"] });
  assert.deepEqual(up.CosPaths, [server.url("/put/owned.raw")]);
  assert.equal((await waitTask(mine, "ExportImages", up.CosPaths[0])).State, "SUCCESS");
  await expectCode(theirs.ExportImages({ BucketName: "admins-1250000001", ImageIds: [theirId],
                                         FileNamePrefixList: ["not-yours"] }),
                   "InvalidParameterValue.BucketNotFound");
  assert.equal(server.puts.length, puts + 1);
  assert.ok(!fs.existsSync(path.join(putDir, "not-yours.raw")));
  await cvm.DeleteImages({ ImageIds: [mine] });
  await theirs.DeleteImages({ ImageIds: [theirId] });
});

test("CreateImage from SnapshotIds: one system-disk snapshot becomes the image's own file; " +
     "deleting the snapshots leaves the image whole", async (t) => {
  const ZONE = "ap-guangzhou-3";
  const disk = async () => (await createDisks(cbs, {
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
    DiskSize: 10 })).DiskIdSet[0];
  const snapshot = async (diskId) => {
    const id = (await cbs.CreateSnapshot({ DiskId: diskId })).SnapshotId;
    for (let i = 0; i < 200; i++) {
      const [s] = (await cbs.DescribeSnapshots({ SnapshotIds: [id] })).SnapshotSet;
      if (s.SnapshotState === "NORMAL") return id;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("snapshot never NORMAL: " + id);
  };
  const [sysDisk, dataDisk, spareDisk] = [await disk(), await disk(), await disk()];
  // Something to find in the copy: a pattern written into the disk the snapshot is taken of.
  // (256 MiB of it, so that copying the snapshot takes a moment: see DeleteSnapshots below.)
  execFileSync("qemu-io", ["-c", "write -P 0xab 1M 256M", path.join(d.dataDir, "disks",
                                                                      `${sysDisk}.qcow2`)]);
  execFileSync("qemu-io", ["-c", "write -P 0xcd 0 1M", path.join(d.dataDir, "disks",
                                                                 `${dataDisk}.qcow2`)]);
  const [sys, data, spare] = [await snapshot(sysDisk), await snapshot(dataDisk),
                              await snapshot(spareDisk)];
  // A system disk exists only with an instance, and instances need a VM (tests/e2e): here the
  // data-disk snapshots `sys` and `spare` are relabelled as system-disk snapshots in the store.
  d.sql(`UPDATE snapshots SET disk_usage = 'SYSTEM_DISK' WHERE snapshot_id ` +
        `IN ('${sys}', '${spare}')`);

  const create = (ids, extra = {}) => cvm.CreateImage({ ImageName: "from-snaps",
                                                        SnapshotIds: ids, ...extra });
  await expectCode(create([data]), "InvalidParameter.SystemSnapshotNotFound");
  await expectCode(create([sys, spare]), "InvalidParameter.DuplicateSystemSnapshots");
  await expectCode(create([sys, "snap-00000000"]), "InvalidParameter.SnapshotNotFound");
  await expectCode(create(["snap-BAD"]), "InvalidParameterValue.SnapshotIdMalformed");
  await expectCode(create([sys], { InstanceId: "ins-00000000" }),
                   "InvalidParameter.SpecifyOneParameter");
  await expectCode(create([sys], { DataDiskIds: [dataDisk] }), "InvalidParameterCombination");
  await expectCode(create([sys, data], { DryRun: true }), "DryRunOperation");
  const tenant = d.client("cvm", d.createAccount("snapshot-image-tenant"));
  await expectCode(tenant.CreateImage({ ImageName: "theirs", SnapshotIds: [sys] }),
                   "InvalidParameter.SnapshotNotFound");
  // Snapshots live in a zone of their region: another region sees none.
  await expectCode(d.client("cvm", d.admin, { region: "ap-shanghai" })
    .CreateImage({ ImageName: "elsewhere", SnapshotIds: [sys] }),
                   "InvalidParameter.SnapshotNotFound");
  assert.equal((await cvm.DescribeImages({ Filters: [{ Name: "image-name",
                                                       Values: ["from-snaps"] }] })).TotalCount,
               0);

  const id = (await create([sys, data], { ImageDescription: "two disks" })).ImageId;
  const img = await waitImage(id);
  assert.equal(img.ImageState, "NORMAL", img.ImageDescription);
  assert.equal(img.ImageSource, "CREATE_IMAGE");
  assert.equal(img.ImageType, "PRIVATE_IMAGE");
  assert.equal(img.ImageSize, 10);
  assert.equal(img.ImageDescription, "two disks");
  // The system disk's snapshot first, as Tencent lists an image's snapshots.
  assert.deepEqual(img.SnapshotSet, [{ SnapshotId: sys, DiskUsage: "SYSTEM_DISK", DiskSize: 10 },
                                     { SnapshotId: data, DiskUsage: "DATA_DISK", DiskSize: 10 }]);
  const tasks = (await cvm.request("DescribeImageTasks", { ImageId: id })).TaskSet;
  assert.deepEqual(tasks.map((t) => [t.Action, t.State, t.Progress]),
                   [["CreateImage", "SUCCESS", 100]]);
  // A flattened qcow2 of its own with the snapshot's contents.
  const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", imageFile(id)]));
  assert.equal(info.format, "qcow2");
  assert.equal(info["backing-filename"], undefined);
  assert.equal(info["virtual-size"], 10 * 2 ** 30);
  execFileSync("qemu-img", ["compare", "-q", imageFile(id),
                            path.join(d.dataDir, "snapshots", `${sys}.qcow2`)]);
  const pattern = execFileSync("qemu-io", ["-r", "-c", "read -P 0xab 1M 2M", imageFile(id)])
    .toString();
  assert.doesNotMatch(pattern, /Pattern verification failed/);

  // Exported, the image brings its data disk along, a file per disk (Tencent's default), or
  // leaves it out when asked to.
  const dirOf = (bucket) => path.join(exportDir, adminAppId, bucket);
  const both = await cvm.ExportImages({ BucketName: "two-disks", ImageIds: [id],
                                        FileNamePrefixList: ["two"] });
  assert.deepEqual(both.CosPaths, [path.join(dirOf("two-disks"), "two.raw"),
                                   path.join(dirOf("two-disks"), `two_data_${data}.raw`)]);
  for (const file of both.CosPaths) {
    assert.equal((await waitTask(id, "ExportImages", file)).State, "SUCCESS");
  }
  execFileSync("qemu-img", ["compare", "-q", "-f", "raw", both.CosPaths[0], imageFile(id)]);
  execFileSync("qemu-img", ["compare", "-q", "-f", "raw", both.CosPaths[1],
                            path.join(d.dataDir, "snapshots", `${data}.qcow2`)]);
  const dataOut = execFileSync("qemu-io", ["-r", "-f", "raw", "-c", "read -P 0xcd 0 1M",
                                           both.CosPaths[1]]).toString();
  assert.doesNotMatch(dataOut, /Pattern verification failed/);
  const rootOnly = await cli(["image", "export", id, "--bucket", "root-only", "--format",
                              "qcow2", "--system-disk-only"]);
  assert.equal(rootOnly.code, 0, rootOnly.stderr);
  assert.equal(rootOnly.stdout.trim(), path.join(dirOf("root-only"), `${id}.qcow2`));
  assert.match(rootOnly.stderr, /\[#+\] 100%/);
  assert.deepEqual(fs.readdirSync(dirOf("root-only")), [`${id}.qcow2`]);
  // While an export reads the data-disk snapshot, DeleteSnapshots refuses it (an upload to the
  // stalled receiver stays RUNNING until it stalls out).
  const stalled = await cvm.ExportImages({ BucketName: "stalled", ImageIds: [id],
                                           ExportFormat: "QCOW2" });
  assert.equal(stalled.CosPaths.length, 2);
  await expectCode(cbs.DeleteSnapshots({ SnapshotIds: [data] }), "ResourceInUse");
  for (const url of stalled.CosPaths) {
    assert.equal((await waitTask(id, "ExportImages", url)).State, "FAILED");
  }

  // While a second image is being copied from `sys`, DeleteSnapshots refuses it; once the
  // image is made (should the copy win the race), the delete goes through. Either way the
  // image ends NORMAL.
  const second = (await create([sys], { ImageName: "from-snaps-2" })).ImageId;
  let refused = false;
  try {
    await cbs.DeleteSnapshots({ SnapshotIds: [sys] });
  } catch (e) {
    assert.equal(e.code, "ResourceInUse", e.message);
    assert.match(e.message, new RegExp(second));
    refused = true;
  }
  t.diagnostic(`DeleteSnapshots during the copy: ${refused ? "refused" : "the copy was done"}`);
  assert.equal((await waitImage(second)).ImageState, "NORMAL");
  execFileSync("qemu-img", ["compare", "-q", imageFile(second), imageFile(id)]);

  // The snapshots go; the images stay whole and usable (exported, compared again).
  await cbs.DeleteSnapshots({ SnapshotIds: refused ? [sys, data, spare] : [data, spare] });
  assert.equal((await waitImage(id)).ImageState, "NORMAL");
  execFileSync("qemu-img", ["check", "-q", imageFile(id)]);
  // With its data-disk snapshot gone, the image exports only without its data disks.
  const again = { BucketName: "web-bucket", ImageIds: [id], ExportFormat: "QCOW2",
                  FileNamePrefixList: ["from-snaps"] };
  await expectCode(cvm.ExportImages(again), "InvalidParameter.SnapshotNotFound");
  const url = (await cvm.ExportImages({ ...again, OnlyExportRootDisk: true })).CosPaths[0];
  assert.equal((await waitTask(id, "ExportImages", url)).State, "SUCCESS");
  const out = execFileSync("qemu-io", ["-r", "-c", "read -P 0xab 1M 2M",
                                       path.join(putDir, "from-snaps.qcow2")]).toString();
  assert.doesNotMatch(out, /Pattern verification failed/);
  await cvm.DeleteImages({ ImageIds: [id, second] });
  assert.deepEqual(privateFiles(), []);

  // DeleteImages with DeleteBindedSnap takes the image's snapshots along, checked as
  // DeleteSnapshots checks them.
  const bound = await snapshot(spareDisk);
  d.sql(`UPDATE snapshots SET disk_usage = 'SYSTEM_DISK' WHERE snapshot_id = '${bound}'`);
  const third = (await create([bound], { ImageName: "from-snaps-3" })).ImageId;
  assert.equal((await waitImage(third)).SnapshotSet[0].SnapshotId, bound);
  await cvm.DeleteImages({ ImageIds: [third], DeleteBindedSnap: true });
  assert.equal((await cbs.DescribeSnapshots({ SnapshotIds: [bound] })).TotalCount, 0);
  assert.equal(fs.existsSync(path.join(d.dataDir, "snapshots", `${bound}.qcow2`)), false);
  await cbs.TerminateDisks({ DiskIds: [sysDisk, dataDisk, spareDisk] });
});

test("kill -9 of cvmd during an http(s) ImportImage: after the restart the image ends NORMAL " +
     "or IMPORTFAILED, never IMPORTING, with no half-made file", async (t) => {
  server.slowRate = 2 << 20;  // 48 MiB at 2 MiB/s: still downloading when cvmd is killed
  const id = (await cvm.ImportImage({ ...TINY, ImageName: "cut-download",
                                      ImageUrl: server.url("/slow/big.raw") })).ImageId;
  const download = path.join(d.dataDir, "images/private", `${id}.download`);
  let size = 0;
  for (let i = 0; i < 200 && size < (2 << 20); i++) {
    await new Promise((r) => setTimeout(r, 50));
    size = fs.existsSync(download) ? fs.statSync(download).size : 0;
  }
  assert.ok(size >= 2 << 20, "the download never got going");
  assert.equal((await cvm.DescribeImages({ ImageIds: [id] })).ImageSet[0].ImageState, "IMPORTING");
  await d.stop("SIGKILL");
  server.slowRate = 256 << 20;  // the resumed download goes at once
  await d.start();
  const img = await waitImage(id);
  assert.ok(["NORMAL", "IMPORTFAILED"].includes(img.ImageState), img.ImageState);
  t.diagnostic(`killed after ${size} bytes; ended ${img.ImageState} ${img.ImageDescription}`);
  if (img.ImageState === "NORMAL") {
    // Resumed from the start on a fresh file: the whole disk, not what the first try had.
    execFileSync("qemu-img", ["compare", "-q", "-F", "raw", imageFile(id),
                              path.join(work, "srv", "big.raw")]);
    assert.deepEqual(privateFiles(), [`${id}.qcow2`]);
  } else {
    assert.deepEqual(privateFiles(), []);
  }
  assert.deepEqual(halfMadeFiles(), []);
  const tasks = (await cvm.request("DescribeImageTasks", { ImageId: id })).TaskSet;
  assert.equal(tasks.length, 1);
  assert.ok(["SUCCESS", "FAILED"].includes(tasks[0].State), tasks[0].State);
  await cvm.DeleteImages({ ImageIds: [id] });
  assert.deepEqual(privateFiles(), []);
});

test("kill -9 of cvmd during an upload: the export resumes and ends, its converted file gone",
     async () => {
  const id = await importRaw("cut-upload");
  const url = (await cvm.ExportImages({ BucketName: "stalled", ImageIds: [id],
                                        ExportFormat: "RAW" })).CosPaths[0];
  const uploading = async () => {
    const t = (await cvm.request("DescribeImageTasks", { ImageId: id })).TaskSet
      .find((x) => x.Target === url);
    return t.State === "RUNNING" && t.Progress >= 50;
  };
  let seen = false;
  for (let i = 0; i < 200 && !seen; i++) {
    seen = await uploading();
    if (!seen) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(seen, "the upload was never seen going");
  assert.equal(halfMadeFiles().filter((f) => f.endsWith(".export")).length, 1);
  await d.stop("SIGKILL");
  await d.start();
  // Resumed at start (converted again, sent again to the same stalling receiver): it ends.
  const task = await waitTask(id, "ExportImages", url);
  assert.equal(task.State, "FAILED");
  assert.match(task.ErrorMessage, /stalled/);
  assert.equal((await waitImage(id)).ImageState, "NORMAL");
  assert.deepEqual(privateFiles(), [`${id}.qcow2`]);
  assert.deepEqual(halfMadeFiles(), []);
  await cvm.DeleteImages({ ImageIds: [id] });
});
