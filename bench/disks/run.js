#!/usr/bin/env node
// Block storage benchmarks. Prints every figure; leaves nothing behind.
//
//   node bench/disks/run.js BUILD_DIR [--only system,attach,perf] [--rounds 10]
//
// system  Creating a system disk (what the engine runs: a qcow2 overlay on the image) from a
//         1 GiB and from a 20 GiB image (both fully allocated), p50 of the rounds, against
//         copying the 1 GiB image with `qemu-img convert` in the same run.
// attach  On a running tiny guest (TCG): AttachDisks until the guest sees the disk under
//         /dev/disk/by-id, and DetachDisks until the API says UNATTACHED; p50 and max.
// perf    For each storage type, a disk of the type's smallest size is attached and read in the
//         guest with O_DIRECT (dd): 4 KiB reads for IOPS, 1 MiB reads for throughput, against
//         the limits the type's formula gives that size.
"use strict";
const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { createDisks } = require("../../tests/integration/lib/disks");

function parseArgs(argv) {
  const o = { only: null, rounds: 10, build: null };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === "--only") o.only = new Set(argv[++i].split(","));
    else if (argv[i] === "--rounds") o.rounds = Number(argv[++i]);
    else o.build = path.resolve(argv[i]);
  }
  if (!o.build) {
    console.error("usage: run.js BUILD_DIR [--only system,attach,perf] [--rounds N]");
    process.exit(2);
  }
  process.env.CVM_BUILD_DIR = o.build;
  return o;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const fmt = (x) => x.toFixed(1);

function timeIt(argv) {
  const t0 = process.hrtime.bigint();
  execFileSync(argv[0], argv.slice(1), { stdio: "ignore" });
  return ms(t0);
}

function benchSystemDisk(work, rounds) {
  const images = {};
  for (const gib of [1, 20]) {
    images[gib] = path.join(work, `image-${gib}g.qcow2`);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "preallocation=falloc",
                              images[gib], `${gib}G`]);
  }
  const result = {};
  for (const gib of [1, 20]) {
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const disk = path.join(work, `sys-${gib}-${i}.qcow2`);
      times.push(timeIt(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                         images[gib], disk, "50G"]));
      fs.rmSync(disk);
    }
    result[gib] = pct(times, 50);
  }
  const copies = [];
  for (let i = 0; i < Math.min(rounds, 3); i++) {
    const copy = path.join(work, "copy.qcow2");
    copies.push(timeIt(["qemu-img", "convert", "-O", "qcow2", images[1], copy]));
    fs.rmSync(copy);
  }
  console.log(`system disk from a 1 GiB image:  p50 ${fmt(result[1])} ms`);
  console.log(`system disk from a 20 GiB image: p50 ${fmt(result[20])} ms ` +
              `(ratio ${(result[20] / result[1]).toFixed(2)}, goal <= 1.2)`);
  console.log(`baseline: qemu-img convert of the 1 GiB image: p50 ${fmt(pct(copies, 50))} ms`);
}

// Starts an ssh command in the guest that prints its uptime, waits for `cond` (a shell test),
// and prints its uptime again: the guest's own clock measures how long the condition took.
function guestWatch(d, id, cond, password) {
  const port = execFileSync("sqlite3", [path.join(d.dataDir, "cvmd.db"),
    `select ssh_port from instances where instance_id='${id}'`]).toString().trim();
  const script = `cut -d' ' -f1 /proc/uptime; while ! ${cond}; do usleep 5000; done; ` +
                 "cut -d' ' -f1 /proc/uptime";
  const p = spawn("sshpass", ["-p", password, "ssh", "-o", "StrictHostKeyChecking=no",
                              "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                              "-p", port, "root@127.0.0.1", script]);
  const lines = [];
  let waiters = [];
  let buf = "";
  p.stdout.on("data", (c) => {
    buf += c;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      lines.push(Number(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
      waiters.forEach((w) => w());
      waiters = [];
    }
  });
  const line = (n) => new Promise((resolve) => {
    const check = () => (lines.length > n ? resolve(lines[n]) : waiters.push(check));
    check();
  });
  return { first: () => line(0), second: () => line(1), proc: p };
}

async function benchAttach(L, ctx, rounds) {
  const { d, cbs, inst, password } = ctx;
  const disk = (await createDisks(cbs, { Placement: { Zone: "ap-guangzhou-3" },
    DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM", DiskSize: 10 })).DiskIdSet[0];
  const visible = [], detached = [];
  for (let i = 0; i < rounds; i++) {
    const w = guestWatch(d, inst, `[ -e /dev/disk/by-id/virtio-${disk} ]`, password);
    // Measured on the guest's clock from its first stamp, so it also counts the (few ms) the
    // stamp took to reach us before the call: an upper bound.
    const g0 = await w.first();
    await cbs.AttachDisks({ InstanceId: inst, DiskIds: [disk] });
    const g1 = await w.second();
    visible.push((g1 - g0) * 1000);
    await L.waitDisks(cbs, [disk], (x) => x.DiskState === "ATTACHED");
    const t0 = process.hrtime.bigint();
    await cbs.DetachDisks({ DiskIds: [disk] });
    await L.waitDisks(cbs, [disk], (x) => x.DiskState === "UNATTACHED");
    detached.push(ms(t0));
  }
  await cbs.TerminateDisks({ DiskIds: [disk] });
  console.log(`AttachDisks -> visible in the guest: p50 ${fmt(pct(visible, 50))} ms, ` +
              `max ${fmt(Math.max(...visible))} ms (${rounds} rounds)`);
  console.log(`DetachDisks -> UNATTACHED:          p50 ${fmt(pct(detached, 50))} ms, ` +
              `max ${fmt(Math.max(...detached))} ms`);
}

async function benchPerf(L, ctx) {
  const { d, cbs, inst, password } = ctx;
  const types = (await cbs.DescribeDiskConfigQuota({ InquiryType: "INQUIRY_CBS_CONFIG",
    Zones: ["ap-guangzhou-3"], DiskUsage: "DATA_DISK" })).DiskConfigSet;
  for (const t of types) {
    const disk = (await createDisks(cbs, { Placement: { Zone: "ap-guangzhou-3" },
      DiskChargeType: "POSTPAID_BY_HOUR", DiskType: t.DiskType,
      DiskSize: t.MinDiskSize })).DiskIdSet[0];
    await cbs.AttachDisks({ InstanceId: inst, DiskIds: [disk] });
    const [x] = await L.waitDisks(cbs, [disk], (y) => y.DiskState === "ATTACHED");
    const dev = `/dev/disk/by-id/virtio-${disk}`;
    // Reads of a never-written qcow2 cost QEMU nothing but the throttle: what is measured is
    // the limit, not the host's disk.
    const out = await L.ssh(d, inst, `while [ ! -e ${dev} ]; do usleep 10000; done;
      t0=$(cut -d' ' -f1 /proc/uptime); dd if=${dev} of=/dev/null bs=4k count=6000 iflag=direct 2>/dev/null;
      t1=$(cut -d' ' -f1 /proc/uptime); dd if=${dev} of=/dev/null bs=1M count=400 iflag=direct 2>/dev/null;
      t2=$(cut -d' ' -f1 /proc/uptime); echo $t0 $t1 $t2`, { password });
    const [t0, t1, t2] = out.trim().split(" ").map(Number);
    const iops = 6000 / (t1 - t0);
    const mbps = 400 / (t2 - t1);
    const lim = x.Performance;
    console.log(`${t.DiskType.padEnd(14)} ${String(t.MinDiskSize).padStart(3)} GiB: ` +
                `${fmt(iops)} IOPS (limit ${lim.Iops}, ${fmt((iops / lim.Iops - 1) * 100)}%), ` +
                `${fmt(mbps)} MiB/s (limit ${lim.ThroughputMBps}, ` +
                `${fmt((mbps / lim.ThroughputMBps - 1) * 100)}%)`);
    await cbs.DetachDisks({ DiskIds: [disk] });
    await L.waitDisks(cbs, [disk], (y) => y.DiskState === "UNATTACHED");
    await cbs.TerminateDisks({ DiskIds: [disk] });
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const want = (name) => !o.only || o.only.has(name);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-bench-disks-"));
  console.log(`# ${new Date().toISOString()}  ${os.cpus().length} cores, load ${os.loadavg()
    .map((x) => x.toFixed(1)).join(" ")}`);
  try {
    if (want("system")) benchSystemDisk(work, o.rounds);
    if (!want("attach") && !want("perf")) return;
    const L = require("../../tests/e2e/lib");
    const password = "Bench-disk1";
    const d = await L.startDaemon();
    try {
      const cvm = d.client("cvm");
      const cbs = d.client("cbs");
      const r = await cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" },
        ImageId: await L.tinyImageId(cvm), InstanceType: "T1.NANO1",
        LoginSettings: { Password: password } });
      const inst = r.InstanceIdSet[0];
      await L.waitState(cvm, [inst], "RUNNING");
      await L.ssh(d, inst, "true", { password });
      const ctx = { d, cbs, inst, password };
      if (want("attach")) await benchAttach(L, ctx, o.rounds);
      if (want("perf")) await benchPerf(L, ctx);
      await cvm.TerminateInstances({ InstanceIds: [inst] });
      await L.waitState(cvm, [inst], "GONE");
    } finally {
      await d.stop();
      for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
      d.cleanup();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
