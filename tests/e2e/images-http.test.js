// ImportImage over http on real QEMU: the tiny image served by a loopback HTTP server in each
// format ImportImage takes is imported, and one import boots and answers SSH. (The hostile
// downloads, which need no guest, are in tests/integration/images.test.js.)
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const L = require("./lib");
const { ImageServer, tinyIn } = require("../integration/lib/image_server");

const PASSWORD = "Opencvm-import1";
const FORMATS = ["qcow2", "raw", "vmdk", "vpc", "vhdx"];
let d, cvm, server, work;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-img-http-"));
  const files = {};
  for (const f of FORMATS) files[`/tiny.${f}`] = tinyIn(work, f);
  server = await new ImageServer(files).start();
  // The image server listens on loopback, which a daemon admits only by its address.
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, '[images]\nurl_hosts = ["127.0.0.1"]\n');
  d = await L.startDaemon({ args: ["--config", conf] });
  cvm = d.client("cvm");
});

after(async () => {
  try {
    const live = (await cvm.DescribeInstances({ Limit: 100 })).InstanceSet.map((i) => i.InstanceId);
    if (live.length) {
      await cvm.TerminateInstances({ InstanceIds: live }).catch(() => {});
      await L.waitState(cvm, live, "GONE", 120000).catch(() => {});
    }
  } finally {
    await d.stop();
    await server.stop();
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test("the tiny image over http in qcow2, raw, vmdk, vpc and vhdx imports; one boots", async () => {
  const ids = {};
  for (const f of FORMATS) {
    ids[f] = (await cvm.ImportImage({ Architecture: "x86_64", OsType: "TinyLinux",
                                      OsVersion: "1.0", ImageName: `http-${f}`,
                                      ImageUrl: server.url(`/tiny.${f}`) })).ImageId;
  }
  for (const f of FORMATS) {
    let img;
    for (let i = 0; i < 900; i++) {
      [img] = (await cvm.DescribeImages({ ImageIds: [ids[f]] })).ImageSet;
      if (img.ImageState !== "IMPORTING") break;
      await L.sleep(200);
    }
    assert.equal(img.ImageState, "NORMAL", `${f}: ${img.ImageDescription}`);
    assert.equal(img.ImageSource, "EXTERNAL_IMPORT");
    const file = path.join(d.dataDir, "images/private", `${ids[f]}.qcow2`);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "-U", "--output=json", file]));
    assert.equal(info.format, "qcow2", f);
    // 256 MiB; vpc rounds up to its disk geometry (under 1 MiB more).
    const size = info["virtual-size"];
    assert.ok(size >= 256 << 20 && size < 257 << 20, `${f}: ${size}`);
  }
  // Only the images remain: no download or half-converted file.
  assert.deepEqual(fs.readdirSync(path.join(d.dataDir, "images/private")).sort(),
                   FORMATS.map((f) => `${ids[f]}.qcow2`).sort());

  // One guest for all: the vhdx import, converted the furthest from qcow2.
  const [id] = (await cvm.RunInstances({
    Placement: { Zone: "ap-guangzhou-3" }, ImageId: ids.vhdx, InstanceType: "T1.NANO1",
    InstanceName: "from-http", LoginSettings: { Password: PASSWORD } })).InstanceIdSet;
  await L.waitState(cvm, [id], "RUNNING");
  assert.equal((await L.ssh(d, id, "echo up", { password: PASSWORD })).trim(), "up");
});
