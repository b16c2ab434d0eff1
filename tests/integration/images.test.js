// Images without a VM: what ImportImage accepts (DescribeImportImageOs), imports over http from
// a loopback server through the official SDK and the `cvm image` verbs, every hostile download
// refused with its reason visible and nothing left behind, and the service-market catalogue.
// (Booting imported and market images is in tests/e2e/.)
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode, CVM } = require("./lib/daemon");
const { ImageServer, tinyIn } = require("./lib/image_server");

const IMAGES = process.env.CVM_PUBLIC_IMAGES;
const TINY = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
let d, cvm, server, work, exportDir;

const privateFiles = () => fs.readdirSync(path.join(d.dataDir, "images/private")).sort();
async function waitImage(id) {
  for (let i = 0; i < 600; i++) {
    const [img] = (await cvm.DescribeImages({ ImageIds: [id] })).ImageSet;
    if (img.ImageState !== "IMPORTING" && img.ImageState !== "CREATING") return img;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("image never settled: " + id);
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
  fs.mkdirSync(path.join(work, "import"));
  fs.mkdirSync(path.join(work, "srv"));
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, `[images]\nimport_dir = "${work}/import"\nexport_dir = "${exportDir}"\n` +
                         "max_virtual_gb = 64\ndownload_stall_s = 2\n");
  d = new Daemon({ args: ["--config", conf, ...(IMAGES ? ["--public-images", IMAGES] : [])] });
  await d.start();
  cvm = d.client("cvm");
  const srv = path.join(work, "srv");
  fs.writeFileSync(path.join(srv, "junk.img"), "not a disk image\n".repeat(4096));
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd",
                            path.join(srv, "backed.qcow2"), "1G"]);
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path.join(srv, "huge.qcow2"), "100G"]);
  const files = {
    "/junk.img": path.join(srv, "junk.img"),
    "/backed.qcow2": path.join(srv, "backed.qcow2"),
    "/huge.qcow2": path.join(srv, "huge.qcow2"),
  };
  if (IMAGES) {
    for (const f of ["qcow2", "vpc"]) files[`/tiny.${f}`] = tinyIn(srv, f);
    const whole = fs.readFileSync(files["/tiny.qcow2"]);
    fs.writeFileSync(path.join(srv, "cut.qcow2"), whole.subarray(0, 300000));
    files["/cut.qcow2"] = path.join(srv, "cut.qcow2");
  }
  server = await new ImageServer(files).start();
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
    ["stall", "/stall", /stalled/],
    ["short", "/short", /failed: .*(closed|remaining|Partial)/i],
    ["missing", "/missing.qcow2", /HTTP 404/],
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
  const file = path.join(exportDir, "b", "web.raw");
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
  const mbr = path.join(work, "import", "mbr.raw");
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
