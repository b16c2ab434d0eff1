// Benchmark 1: RunInstances → RUNNING → first successful `ssh ... true` for the tiny image,
// sequential launches, interleaved with a bare `qemu-system-x86_64` boot of the same image
// (fresh qcow2 overlay each time, the seed ISO cvmd made, QEMU's arguments exactly as cvmd ran
// them minus -daemonize), so that load drift on a shared machine hits both alike.
//
// Also: the time from the RunInstances answer to cvmd's "qemu: starting <id>" log line (the
// moment it executes qemu-system-x86_64) and QEMU's own start-up until QMP answers.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const L = require("./lib");

const BASE = { Placement: { Zone: "ap-guangzhou-3" }, InstanceType: "T1.NANO1",
               LoginSettings: { Password: L.PASSWORD } };

// Resolves the wall time at which `file` first contains `needle` (the guest's own "ready" line
// on the serial console), or 0 when `stop()` is called first.
function watchFile(file, needle) {
  let stopped = false, t = 0;
  const p = new Promise((resolve) => {
    const iv = setInterval(() => {
      if (stopped) { clearInterval(iv); resolve(t); return; }
      try {
        if (fs.readFileSync(file, "utf8").includes(needle)) {
          t = L.now(); clearInterval(iv); resolve(t);
        }
      } catch (_) { /* not there yet */ }
    }, 50);
  });
  return { promise: p, stop: () => { stopped = true; } };
}
const READY = "opencvm-tiny: ready";

async function cvmdBoot(c, image) {
  const cvm = c.cvm;
  const from = c.lines.length;
  const t0 = L.now();
  const r = await cvm.RunInstances({ ...BASE, ImageId: image });
  const tAnswer = L.now();
  const id = r.InstanceIdSet[0];
  const ready = watchFile(path.join(c.runDir(id), "console.log"), READY);
  const running = (await L.waitState(cvm, [id], "RUNNING"))[id];
  const port = c.sshPort(id);
  const tSsh = await L.waitSsh(port, { everyMs: 250, inFlight: 3 });
  ready.stop();
  const tReady = await ready.promise;
  const launch = c.find(new RegExp(`engine: LAUNCH ${id}\\b`), from);
  const starting = c.find(new RegExp(`qemu: starting ${id}\\b`), from);
  const started = c.find(new RegExp(`qemu: ${id} started .*QMP ready after (\\d+) ms`), from);
  return {
    id, port,
    answer: tAnswer - t0,
    running: running - t0,
    ready: tReady ? tReady - t0 : NaN,
    ssh: tSsh - t0,
    // Log times have millisecond resolution (spdlog, local wall clock).
    answerToQemu: starting ? L.Cvmd.logTime(starting.text) - tAnswer : NaN,
    // split: until a worker picks the operation up / from there to QEMU's exec
    answerToWorker: launch ? L.Cvmd.logTime(launch.text) - tAnswer : NaN,
    workerToQemu: launch && starting
      ? L.Cvmd.logTime(starting.text) - L.Cvmd.logTime(launch.text) : NaN,
    qmpReady: started ? Number(started.text.match(/QMP ready after (\d+) ms/)[1]) : NaN,
  };
}

async function terminate(c, ids) {
  await c.cvm.TerminateInstances({ InstanceIds: ids });
  await L.waitState(c.cvm, ids, "GONE", { everyMs: 200, timeoutMs: 120000 });
}

// The bare-QEMU recipe, taken from a running cvmd instance.
function captureTemplate(c, id, workDir) {
  const pid = c.qemuPid(id);
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  if (argv[argv.length - 1] === "") argv.pop();
  const run = c.runDir(id);
  const diskRow = c.db(`select disk_id, size_gb from disks where instance_id='${id}' ` +
                       `and usage='SYSTEM_DISK'`).trim().split("|");
  const diskPath = path.join(c.dataDir, "disks", diskRow[0] + ".qcow2");
  const info = JSON.parse(require("node:child_process").execFileSync(
      "qemu-img", ["info", "--output=json", "-U", diskPath], { encoding: "utf8" }));
  const seed = path.join(workDir, "seed.iso");
  fs.copyFileSync(path.join(run, "seed.iso"), seed);
  return { argv, run, diskPath, backing: info["full-backing-filename"] || info["backing-filename"],
           sizeGb: Number(diskRow[1]), seed, port: c.sshPort(id) };
}

async function bareBoot(tpl, workDir, n) {
  const dir = path.join(workDir, `b${n}`);
  fs.mkdirSync(dir, { recursive: true });
  const port = await L.freePort();
  const disk = path.join(dir, "disk.qcow2");
  // cvmd's exact arguments with this run's paths and port. -daemonize stays: it makes QEMU a
  // session leader, which with the kernel's scheduler autogroups gives it its own CPU share
  // exactly as cvmd's QEMUs get; a foreground child would share ours.
  const argv = tpl.argv.map((a) => a.split(tpl.diskPath).join(disk).split(tpl.run).join(dir)
                                    .replace(`hostfwd=tcp:127.0.0.1:${tpl.port}-`,
                                             `hostfwd=tcp:127.0.0.1:${port}-`));
  const pidfile = path.join(dir, "qemu.pid");
  const t0 = L.now();
  const img = await L.run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                                       tpl.backing, disk, `${tpl.sizeGb}G`]);
  if (img.code !== 0) throw new Error("qemu-img create: " + img.err);
  fs.copyFileSync(tpl.seed, path.join(dir, "seed.iso"));
  const tSpawn = L.now();
  const ready = watchFile(path.join(dir, "console.log"), READY);
  let pid = 0;
  try {
    // The launcher returns once QEMU has initialised (as in cvmd's StartVm).
    const q = await L.run(argv[0], argv.slice(1), { timeout: 60000 });
    if (q.code !== 0) throw new Error(`bare QEMU failed (${q.code}): ${q.err}`);
    const tLaunched = L.now();
    pid = Number(fs.readFileSync(pidfile, "utf8"));
    const tSsh = await L.waitSsh(port, { everyMs: 250, inFlight: 3 });
    ready.stop();
    const tReady = await ready.promise;
    return { port, prepare: tSpawn - t0, launcher: tLaunched - tSpawn,
             ready: tReady ? tReady - t0 : NaN, ssh: tSsh - t0 };
  } finally {
    ready.stop();
    if (pid > 1) {
      try { process.kill(pid, "SIGTERM"); } catch (_) { /* gone */ }
      for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`); ++i) await L.sleep(50);
      try { process.kill(pid, "SIGKILL"); } catch (_) { /* gone */ }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// What the launch path between the API answer and QEMU's exec costs outside cvmd: the two
// programs it runs, `qemu-img create` (system disk overlay) and `xorriso` (seed ISO), timed
// here exactly as cvmd invokes them. Median of `n` runs each, in ms.
async function launchStepCosts(tpl, workDir, n = 7) {
  const dir = path.join(workDir, "steps");
  const root = path.join(dir, "seed-root");
  fs.mkdirSync(root, { recursive: true });
  const x = await L.run("xorriso", ["-osirrox", "on", "-indev", tpl.seed, "-extract", "/", root]);
  if (x.code !== 0) throw new Error("xorriso extract: " + x.err);
  const time = async (cmd, args) => {
    const t = [];
    for (let i = 0; i < n; ++i) {
      const t0 = L.now();
      const r = await L.run(cmd, args(i));
      t.push(L.now() - t0);
      if (r.code !== 0) throw new Error(`${cmd}: ${r.err}`);
    }
    return L.pct(t, 50);
  };
  const img = await time("qemu-img", (i) => ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                                             tpl.backing, path.join(dir, `d${i}.qcow2`),
                                             `${tpl.sizeGb}G`]);
  const iso = await time("xorriso", (i) => ["-as", "mkisofs", "-quiet", "-V", "cidata", "-J", "-r",
                                            "-o", path.join(dir, `s${i}.iso`), root]);
  const nop = await time("true", () => []);
  fs.rmSync(dir, { recursive: true, force: true });
  return { qemuImgCreate: img, xorriso: iso, forkExecTrue: nop };
}

async function run(c, { image, launches = 10, workDir, log = console.log }) {
  log(`\n== 1. single launches: ${launches} × (bare QEMU, cvmd), interleaved ==`);
  // Warm-up (not counted): fills caches (page cache, cvmd's one-off `qemu -help` probe for
  // -sandbox) and gives the bare recipe.
  const warm = await cvmdBoot(c, image);
  const tpl = captureTemplate(c, warm.id, workDir);
  log(`warm-up ${warm.id}: answer→qemu ${L.fmtMs(warm.answerToQemu)} (cold), ` +
      `RUNNING ${L.fmtS(warm.running)}, ssh ${L.fmtS(warm.ssh)}`);
  log(`bare recipe: ${tpl.argv.length} args (cvmd's, own paths and port), ` +
      `overlay on ${tpl.backing} (${tpl.sizeGb} GiB)`);
  await terminate(c, [warm.id]);

  const steps = await launchStepCosts(tpl, workDir);
  log(`launch steps outside cvmd (median of 7): qemu-img create ${L.fmtMs(steps.qemuImgCreate)}, ` +
      `xorriso seed ${L.fmtMs(steps.xorriso)}, fork+exec of /bin/true ${L.fmtMs(steps.forkExecTrue)}`);

  const bare = [], cv = [];
  for (let i = 0; i < launches; ++i) {
    const b = await bareBoot(tpl, workDir, i);
    bare.push(b);
    log(`  bare #${i + 1}: guest ready ${L.fmtS(b.ready)}, ssh ${L.fmtS(b.ssh)}` +
        ` (overlay+seed ${L.fmtMs(b.prepare)}, ` +
        `qemu launcher ${L.fmtMs(b.launcher)})`);
    const r = await cvmdBoot(c, image);
    cv.push(r);
    log(`  cvmd #${i + 1} ${r.id}: answer ${L.fmtMs(r.answer)}, answer→qemu ` +
        `${L.fmtMs(r.answerToQemu)} (worker ${r.answerToWorker >= 0 ? "+" : ""}${r.answerToWorker.toFixed(0)}, disk+seed ` +
        `+${r.workerToQemu.toFixed(0)}), QMP ready +${r.qmpReady} ms, RUNNING ${L.fmtS(r.running)}, ` +
        `guest ready ${L.fmtS(r.ready)}, ssh ${L.fmtS(r.ssh)}`);
    await terminate(c, [r.id]);
  }
  const col = (rows, k) => rows.map((x) => x[k]).filter((v) => !Number.isNaN(v));
  const s = {
    launches,
    cvmdRunning: { p50: L.pct(col(cv, "running"), 50), max: Math.max(...col(cv, "running")) },
    cvmdReady: { p50: L.pct(col(cv, "ready"), 50), max: Math.max(...col(cv, "ready")) },
    cvmdSsh: { p50: L.pct(col(cv, "ssh"), 50), max: Math.max(...col(cv, "ssh")) },
    bareReady: { p50: L.pct(col(bare, "ready"), 50), max: Math.max(...col(bare, "ready")) },
    bareSsh: { p50: L.pct(col(bare, "ssh"), 50), max: Math.max(...col(bare, "ssh")) },
    answer: { p50: L.pct(col(cv, "answer"), 50), max: Math.max(...col(cv, "answer")) },
    answerToQemu: { p50: L.pct(col(cv, "answerToQemu"), 50),
                    max: Math.max(...col(cv, "answerToQemu")), cold: warm.answerToQemu },
    answerToWorker: { p50: L.pct(col(cv, "answerToWorker"), 50),
                      max: Math.max(...col(cv, "answerToWorker")) },
    workerToQemu: { p50: L.pct(col(cv, "workerToQemu"), 50),
                    max: Math.max(...col(cv, "workerToQemu")) },
    qmpReady: { p50: L.pct(col(cv, "qmpReady"), 50), max: Math.max(...col(cv, "qmpReady")) },
    // Pairwise: each cvmd launch against the bare boot just before it.
    pairRatios: cv.map((r, i) => r.ssh / bare[i].ssh),
    steps,
  };
  s.ratioP50 = s.cvmdSsh.p50 / s.bareSsh.p50;
  s.ratioMax = s.cvmdSsh.max / s.bareSsh.max;
  log(`RunInstances answer:        p50 ${L.fmtMs(s.answer.p50)}, max ${L.fmtMs(s.answer.max)}`);
  log(`answer → QEMU exec:         p50 ${L.fmtMs(s.answerToQemu.p50)}, ` +
      `max ${L.fmtMs(s.answerToQemu.max)} (cold, first launch: ${L.fmtMs(warm.answerToQemu)}) ` +
      `goal < 100 ms: ${s.answerToQemu.max < 100 ? "met" : "MISSED"}`);
  log(`  of which answer → worker:  p50 ${L.fmtMs(s.answerToWorker.p50)}, ` +
      `max ${L.fmtMs(s.answerToWorker.max)}; worker → QEMU exec (disk, seed, checks): ` +
      `p50 ${L.fmtMs(s.workerToQemu.p50)}, max ${L.fmtMs(s.workerToQemu.max)}`);
  log(`QEMU exec → QMP answers:    p50 ${s.qmpReady.p50} ms, max ${s.qmpReady.max} ms`);
  log(`cvmd → RUNNING:             p50 ${L.fmtS(s.cvmdRunning.p50)}, max ${L.fmtS(s.cvmdRunning.max)}`);
  log(`cvmd → guest ready (serial): p50 ${L.fmtS(s.cvmdReady.p50)}, max ${L.fmtS(s.cvmdReady.max)}`);
  log(`bare → guest ready (serial): p50 ${L.fmtS(s.bareReady.p50)}, max ${L.fmtS(s.bareReady.max)}`);
  log(`cvmd → SSH login:           p50 ${L.fmtS(s.cvmdSsh.p50)}, max ${L.fmtS(s.cvmdSsh.max)}`);
  log(`bare → SSH login:           p50 ${L.fmtS(s.bareSsh.p50)}, max ${L.fmtS(s.bareSsh.max)}`);
  log(`cvmd / bare (SSH):          p50 ${s.ratioP50.toFixed(2)}×, max ${s.ratioMax.toFixed(2)}×, ` +
      `pairwise median ${L.pct(s.pairRatios, 50).toFixed(2)}× — goal ≤ 1.2×: ` +
      `${s.ratioP50 <= 1.2 ? "met" : "MISSED"}`);
  return { summary: s, bare, cvmd: cv, warm };
}

module.exports = { run, launchStepCosts, cvmdBoot, terminate, watchFile, READY };
