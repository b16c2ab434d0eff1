// Benchmark 2: one RunInstances with InstanceCount 10; time until every instance is RUNNING and
// until every one accepts `ssh ... true`.
// Benchmark 4 (on the same, now idle, guests): host memory overhead per running tiny instance,
// QEMU's VmRSS minus the guest's RAM in use (MemTotal − MemAvailable from the guest's
// /proc/meminfo).
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const L = require("./lib");
const { watchFile, READY } = require("./launch");

async function runConcurrent(c, { image, count = 10, log = console.log }) {
  log(`\n== 2. ${count} instances in one RunInstances (InstanceCount ${count}) ==`);
  const t0 = L.now();
  const r = await c.cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                       InstanceType: "T1.NANO1", InstanceCount: count,
                                       LoginSettings: { Password: L.PASSWORD } });
  const tAnswer = L.now();
  const ids = r.InstanceIdSet;
  const ready = ids.map((id) => watchFile(path.join(c.runDir(id), "console.log"), READY));
  const running = await L.waitState(c.cvm, ids, "RUNNING", { everyMs: 200 });
  // Two probes in flight per guest at most: 10 guests already load a 2-core TCG host.
  const ssh = await Promise.all(ids.map((id) => L.waitSsh(c.sshPort(id),
                                                          { everyMs: 500, inFlight: 2 })));
  ready.forEach((w) => w.stop());
  const readyT = await Promise.all(ready.map((w) => w.promise));
  const rel = (t) => t - t0;
  const runningT = ids.map((id) => rel(running[id]));
  const sshT = ssh.map(rel);
  const readyRel = readyT.map((t) => (t ? rel(t) : NaN));
  const s = {
    count,
    answer: tAnswer - t0,
    allRunning: Math.max(...runningT),
    firstSsh: Math.min(...sshT),
    medianSsh: L.pct(sshT, 50),
    allSsh: Math.max(...sshT),
    allReady: Math.max(...readyRel),
  };
  log(`RunInstances answer ${L.fmtMs(s.answer)}; all RUNNING after ${L.fmtS(s.allRunning)}`);
  log(`guest ready (serial), last: ${L.fmtS(s.allReady)}`);
  log(`SSH login: first ${L.fmtS(s.firstSsh)}, median ${L.fmtS(s.medianSsh)}, ` +
      `all ${L.fmtS(s.allSsh)}`);
  return { summary: s, ids };
}

function meminfo(text) {
  const get = (k) => Number((text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, "m")) || [])[1]);
  return { total: get("MemTotal"), available: get("MemAvailable"), free: get("MemFree") };
}

async function runMemory(c, ids, { memMiB = 128, log = console.log } = {}) {
  log(`\n== 4. host memory overhead per running tiny instance (${ids.length} idle guests) ==`);
  const rows = [];
  for (const id of ids) {
    const out = await L.ssh(c.sshPort(id), "cat /proc/meminfo");
    if (out.code !== 0) throw new Error(`ssh ${id}: ${out.err}`);
    const m = meminfo(out.out);
    const pid = c.qemuPid(id);
    const rss = L.procStatus(pid, "VmRSS");  // KiB, read right after the guest's view
    const used = m.total - m.available;
    const touched = m.total - m.free;
    // Where QEMU's RSS sits: the guest RAM block (T1.NANO1: 128 MiB), TCG's translation buffer
    // (-accel tcg,tb-size=64: 64 MiB), everything else (QEMU's heap, libraries, device state).
    const maps = L.smaps(pid).sort((a, b) => b.sizeKiB - a.sizeKiB);
    const ramKiB = memMiB * 1024, tbKiB = 64 * 1024;
    const ram = maps.find((x) => x.sizeKiB >= ramKiB && x.sizeKiB <= ramKiB + 4096);
    const tb = maps.find((x) => x !== ram && x.sizeKiB >= tbKiB - 16 && x.sizeKiB <= tbKiB);
    const ramRss = ram ? ram.rssKiB : NaN, tbRss = tb ? tb.rssKiB : NaN;
    rows.push({ id, rssMiB: rss / 1024, guestTotalMiB: m.total / 1024, guestUsedMiB: used / 1024,
                guestTouchedMiB: touched / 1024, overheadMiB: (rss - used) / 1024,
                overheadVsTouchedMiB: (rss - touched) / 1024, ramRssMiB: ramRss / 1024,
                tbRssMiB: tbRss / 1024, restRssMiB: (rss - ramRss - tbRss) / 1024 });
  }
  for (const r of rows) {
    log(`  ${r.id}: QEMU RSS ${r.rssMiB.toFixed(1)} MiB, guest MemTotal ` +
        `${r.guestTotalMiB.toFixed(1)}, in use (Total−Available) ${r.guestUsedMiB.toFixed(1)}, ` +
        `Total−Free ${r.guestTouchedMiB.toFixed(1)} → overhead ${r.overheadMiB.toFixed(1)} MiB; ` +
        `RSS by mapping: guest RAM ${r.ramRssMiB.toFixed(1)}, TCG buffer ` +
        `${r.tbRssMiB.toFixed(1)}, rest ${r.restRssMiB.toFixed(1)}`);
  }
  const s = {
    instances: rows.length,
    rssMiB: L.mean(rows.map((r) => r.rssMiB)),
    guestUsedMiB: L.mean(rows.map((r) => r.guestUsedMiB)),
    guestTouchedMiB: L.mean(rows.map((r) => r.guestTouchedMiB)),
    overheadMiB: L.mean(rows.map((r) => r.overheadMiB)),
    overheadVsTouchedMiB: L.mean(rows.map((r) => r.overheadVsTouchedMiB)),
    ramRssMiB: L.mean(rows.map((r) => r.ramRssMiB)),
    tbRssMiB: L.mean(rows.map((r) => r.tbRssMiB)),
    restRssMiB: L.mean(rows.map((r) => r.restRssMiB)),
  };
  log(`mean: QEMU RSS ${s.rssMiB.toFixed(1)} MiB, guest in use ${s.guestUsedMiB.toFixed(1)} MiB ` +
      `→ overhead ${s.overheadMiB.toFixed(1)} MiB per instance ` +
      `(${s.overheadVsTouchedMiB.toFixed(1)} MiB counting the guest's page cache as its own)`);
  log(`mean RSS by mapping: guest RAM block ${s.ramRssMiB.toFixed(1)} MiB (of ${memMiB}), ` +
      `TCG translation buffer ${s.tbRssMiB.toFixed(1)} MiB, rest of QEMU ${s.restRssMiB.toFixed(1)} MiB`);
  return { summary: s, rows };
}

module.exports = { runConcurrent, runMemory };
