#!/usr/bin/env node
// Image benchmarks: CreateImage and ImportImage throughput for a 2 GiB disk holding random
// (incompressible, never zero) data, against plain `qemu-img convert` of the same file in the
// same run. Prints every figure; leaves nothing behind.
//
//   node bench/images/run.js BUILD_DIR [--rounds 3] [--gib 2]
//
// Rounds alternate which side runs first; each timed step starts after `sync`.
// import  ImportImage of a raw file (random data, a boot signature) from the import directory,
//         request to NORMAL, against `qemu-img convert -f raw -O qcow2` of that file; and the
//         same file over http from a loopback server (download, then convert) against `curl`
//         of it and the same convert.
// create  CreateImage of a stopped instance whose system disk (an overlay on the tiny image)
//         holds the random data, request to NORMAL, against `qemu-img convert -O qcow2` of that
//         overlay (what a flattened copy costs).
// Needs CVM_PUBLIC_IMAGES (the tiny image) and one TCG boot.
"use strict";
const { execFile, execFileSync } = require("node:child_process");
const { promisify } = require("node:util");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

function parseArgs(argv) {
  const o = { rounds: 3, gib: 2, build: null };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === "--rounds") o.rounds = Number(argv[++i]);
    else if (argv[i] === "--gib") o.gib = Number(argv[++i]);
    else o.build = path.resolve(argv[i]);
  }
  if (!o.build) {
    console.error("usage: run.js BUILD_DIR [--rounds N] [--gib N]");
    process.exit(2);
  }
  process.env.CVM_BUILD_DIR = o.build;
  return o;
}

const execFileAsync = promisify(execFile);
const opts = parseArgs(process.argv.slice(2));
const L = require("../../tests/e2e/lib");
const { ImageServer } = require("../../tests/integration/lib/image_server");

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const MiB = 1 << 20;

// Written-back page cache before each timed step, so no step pays for the previous one's
// dirty pages.
const settle = () => execFileSync("sync");

// Seconds the commands take, one after the other. Asynchronous: the image server runs in this
// process and must keep serving while `curl` reads from it.
async function timeIt(...argvs) {
  settle();
  const t0 = process.hrtime.bigint();
  for (const argv of argvs) {
    const { stderr } = await execFileAsync(argv[0], argv.slice(1), { maxBuffer: 1 << 20 });
    if (stderr) process.stderr.write(stderr);
  }
  return seconds(t0);
}

// Seconds from `start()` to the image leaving CREATING/IMPORTING (polled every 20 ms).
async function timeImage(cvm, start) {
  settle();
  const t0 = process.hrtime.bigint();
  const id = await start();
  for (;;) {
    const [img] = (await cvm.DescribeImages({ ImageIds: [id] })).ImageSet;
    if (img.ImageState === "NORMAL") return { id, s: seconds(t0) };
    if (img.ImageState !== "CREATING" && img.ImageState !== "IMPORTING") {
      throw new Error(`${id}: ${img.ImageState} ${img.ImageDescription}`);
    }
    await L.sleep(20);
  }
}

// Best of the rounds (on a shared machine noise only adds time) and medians, their ratios, and
// every sample.
function report(what, bytes, ours, baseline, baselineName = "qemu-img convert") {
  const rate = (s) => `${(bytes / MiB / s).toFixed(0)} MiB/s`;
  const best = (xs) => Math.min(...xs);
  const [m, b] = [best(ours), best(baseline)];
  const all = (xs) => xs.map((x) => x.toFixed(2)).join(" ");
  console.log(`${what}: best ${m.toFixed(2)} s (${rate(m)}); ${baselineName} best ` +
              `${b.toFixed(2)} s (${rate(b)}); ratio ${(b / m).toFixed(2)} (goal >= 0.9); ` +
              `medians ${median(ours).toFixed(2)} s vs ${median(baseline).toFixed(2)} s, ratio ` +
              `${(median(baseline) / median(ours)).toFixed(2)}\n` +
              `  samples: ours ${all(ours)} | baseline ${all(baseline)}`);
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-bench-images-"));
  // The admin account (the first, AppId 1250000001) imports from its own directory; the image
  // server on loopback is admitted by name.
  const importDir = path.join(work, "import", "1250000001");
  fs.mkdirSync(importDir, { recursive: true });
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, `[images]\nimport_dir = "${work}/import"\nurl_hosts = ["127.0.0.1"]\n`);
  const bytes = opts.gib * 1024 * MiB;
  const raw = path.join(importDir, "random.raw");
  execFileSync("dd", ["if=/dev/urandom", `of=${raw}`, "bs=16M", `count=${opts.gib * 64}`,
                      "status=none"]);
  // A boot signature: ImportImage takes a raw file only when it looks like a disk.
  const fd = fs.openSync(raw, "r+");
  fs.writeSync(fd, Buffer.from([0x55, 0xaa]), 0, 2, 510);
  fs.closeSync(fd);
  console.log(`images: ${opts.gib} GiB of random data, ${opts.rounds} rounds`);

  const d = await L.startDaemon({ args: ["--config", conf] });
  const server = await new ImageServer({ "/random.raw": raw }).start();
  const cvm = d.client("cvm");
  try {
    const params = { Architecture: "x86_64", OsType: "Other Linux", OsVersion: "-" };
    const out = path.join(work, "out.qcow2");
    const fetched = path.join(work, "fetched.raw");
    const base = [], fetchBase = [], local = [], http = [];
    // Odd rounds run the baselines first, even ones last: neither side always follows the other.
    for (let i = 0; i < opts.rounds; i++) {
      const baselines = async () => {
        base.push(await timeIt(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out]));
        fs.rmSync(out);
        fetchBase.push(await timeIt(["curl", "-sf", "-o", fetched, server.url("/random.raw")],
                                    ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", fetched,
                                     out]));
        fs.rmSync(out);
        fs.rmSync(fetched);
      };
      if (i % 2) await baselines();
      for (const [times, url] of [[local, "random.raw"], [http, server.url("/random.raw")]]) {
        const r = await timeImage(cvm, async () => (await cvm.ImportImage({
          ...params, ImageName: `bench-${times === local ? "file" : "http"}-${i}`,
          ImageUrl: url })).ImageId);
        times.push(r.s);
        await cvm.DeleteImages({ ImageIds: [r.id] });
      }
      if (i % 2 === 0) await baselines();
    }
    report("ImportImage (file, raw -> qcow2)", bytes, local, base);
    report("ImportImage (http, raw -> qcow2)", bytes, http, fetchBase,
           "curl + qemu-img convert");

    const tiny = await L.tinyImageId(cvm);
    const [inst] = (await cvm.RunInstances({
      Placement: { Zone: "ap-guangzhou-3" }, ImageId: tiny, InstanceType: "T1.NANO1",
      InstanceName: "bench-image", LoginSettings: { Password: "Opencvm-bench1" } }))
      .InstanceIdSet;
    await L.waitState(cvm, [inst], "RUNNING");
    await cvm.StopInstances({ InstanceIds: [inst], StopType: "HARD" });
    await L.waitState(cvm, [inst], "STOPPED");
    const [disk] = (await cvm.DescribeInstances({ InstanceIds: [inst] })).InstanceSet
      .map((x) => x.SystemDisk.DiskId);
    const overlay = path.join(d.dataDir, "disks", `${disk}.qcow2`);
    // The random data into the stopped instance's overlay, over its image's blocks.
    execFileSync("qemu-img", ["convert", "-n", "-f", "raw", "-O", "qcow2", raw, overlay]);
    const cbase = [], created = [];
    for (let i = 0; i < opts.rounds; i++) {
      const baseline = async () => {
        cbase.push(await timeIt(["qemu-img", "convert", "-O", "qcow2", overlay, out]));
        fs.rmSync(out);
      };
      if (i % 2) await baseline();
      const r = await timeImage(cvm, async () => (await cvm.CreateImage({
        InstanceId: inst, ImageName: `bench-create-${i}` })).ImageId);
      created.push(r.s);
      await cvm.DeleteImages({ ImageIds: [r.id] });
      if (i % 2 === 0) await baseline();
    }
    report("CreateImage (stopped instance)", bytes, created, cbase);
    await cvm.TerminateInstances({ InstanceIds: [inst] });
    await L.waitState(cvm, [inst], "GONE");
  } finally {
    await server.stop();
    await d.stop();
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
