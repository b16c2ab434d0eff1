// What ImportImage connects to: no loopback or link-local address unless the operator lists that
// address in [images] url_hosts (never through a name such as "localhost"), and one answer for
// every source that does not deliver, so ImageUrl cannot probe the host's ports.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");
const { ImageServer } = require("./lib/image_server");

const TINY = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
let work, server, banner, closedPort, probes = 0;
const daemons = [];

async function start(images) {
  const conf = path.join(work, `cvmd-${daemons.length}.toml`);
  fs.writeFileSync(conf, `[images]\ndownload_stall_s = 2\n${images}`);
  const d = new Daemon({ args: ["--config", conf] });
  daemons.push(d);
  await d.start();
  return d.client("cvm");
}

async function waitImage(cvm, id) {
  for (let i = 0; i < 600; i++) {
    const [img] = (await cvm.DescribeImages({ ImageIds: [id] })).ImageSet;
    if (img.ImageState !== "IMPORTING") return img;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("image never settled: " + id);
}

// The reason an accepted import failed, with its URL taken out.
async function failure(cvm, url) {
  const id = (await cvm.ImportImage({ ...TINY, ImageName: `probe-${++probes}`, ImageUrl: url }))
    .ImageId;
  const img = await waitImage(cvm, id);
  assert.equal(img.ImageState, "IMPORTFAILED", url);
  return img.ImageDescription.split(url).join("URL");
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-outbound-"));
  const disk = Buffer.alloc(1 << 20);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  fs.writeFileSync(path.join(work, "mbr.raw"), disk);
  server = await new ImageServer({ "/mbr.raw": path.join(work, "mbr.raw") }).start();
  // A service that is not HTTP: a banner, then the connection closes.
  banner = net.createServer((s) => s.end("SSH-2.0-OpenSSH_9.2\r\n"));
  await new Promise((r) => banner.listen(0, "127.0.0.1", r));
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  closedPort = probe.address().port;
  await new Promise((r) => probe.close(r));
});

after(async () => {
  for (const d of daemons) {
    await d.stop();
    d.cleanup();
  }
  await server.stop();
  await new Promise((r) => banner.close(r));
  fs.rmSync(work, { recursive: true, force: true });
});

test("by default no loopback or link-local source is admitted", async () => {
  const cvm = await start("");
  const port = server.server.address().port;
  for (const url of [server.url("/mbr.raw"), `http://localhost:${port}/mbr.raw`,
                     `http://[::1]:${port}/mbr.raw`, "http://169.254.169.254/latest/meta-data"]) {
    await expectCode(cvm.ImportImage({ ...TINY, ImageName: "lo", ImageUrl: url }),
                     "InvalidParameter.InvalidParameterUrlError");
  }
  const images = await cvm.DescribeImages({ Filters: [{ Name: "image-type",
                                                        Values: ["PRIVATE_IMAGE"] }] });
  assert.equal(images.TotalCount, 0);
});

test("a listed name that leads to loopback is refused without a connection", async () => {
  const cvm = await start('url_hosts = ["localhost"]\n');
  const port = server.server.address().port;
  const before = server.sockets.size;
  let seen = 0;
  const count = () => { seen++; };
  server.server.on("connection", count);
  try {
    const reason = await failure(cvm, `http://localhost:${port}/mbr.raw`);
    assert.match(reason, /could not be downloaded/);
  } finally {
    server.server.off("connection", count);
  }
  assert.equal(seen, 0);
  assert.equal(server.sockets.size, before);
});

test("opted in by address: a closed port, a service that is not HTTP and an HTTP error " +
     "answer alike; the image itself imports", async () => {
  const cvm = await start('url_hosts = ["127.0.0.1"]\n');
  const reasons = new Set([
    await failure(cvm, `http://127.0.0.1:${closedPort}/mbr.raw`),
    await failure(cvm, `http://127.0.0.1:${banner.address().port}/mbr.raw`),
    await failure(cvm, server.url("/missing.raw")),
    await failure(cvm, server.url("/stall")),
  ]);
  assert.equal(reasons.size, 1, [...reasons].join("\n"));
  assert.match([...reasons][0], /^IMPORTFAILED: The image at `URL` could not be downloaded\.$/);

  const id = (await cvm.ImportImage({ ...TINY, ImageName: "ok", ImageUrl: server.url("/mbr.raw") }))
    .ImageId;
  assert.equal((await waitImage(cvm, id)).ImageState, "NORMAL");
});
