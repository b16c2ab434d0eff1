#!/usr/bin/env node
// Instance benchmarks on real QEMU guests (see README.md). Starts its own cvmd under a fresh
// temporary directory, runs the benchmarks in order, prints every figure, and leaves nothing
// behind: instances terminated, cvmd stopped, no process mentioning the directory.
//
//   node bench/instances/run.js BUILD_DIR [--only launch,concurrent,describe,memory]
//        [--launches 10] [--count 10] [--records 10000] [--calls 500] [--json FILE] [--keep]
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const os = require("node:os");
const L = require("./lib");
const launch = require("./launch");
const conc = require("./concurrent");
const describe = require("./describe");

function parseArgs(argv) {
  const o = { only: null, launches: 10, count: 10, records: 10000, calls: 500, json: null,
              keep: false, build: null };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === "--only") o.only = new Set(next().split(","));
    else if (a === "--launches") o.launches = Number(next());
    else if (a === "--count") o.count = Number(next());
    else if (a === "--records") o.records = Number(next());
    else if (a === "--calls") o.calls = Number(next());
    else if (a === "--json") o.json = next();
    else if (a === "--keep") o.keep = true;
    else if (!o.build) o.build = a;
    else throw new Error("unexpected argument " + a);
  }
  if (!o.build) {
    console.error("usage: run.js BUILD_DIR [--only launch,concurrent,describe,memory] " +
                  "[--launches N] [--count N] [--records N] [--calls N] [--json FILE] [--keep]");
    process.exit(2);
  }
  o.build = path.resolve(o.build);
  return o;
}

async function cleanup(c, work, keep) {
  const problems = [];
  try {
    if (c.pid && c.cvm) {
      // Let operations in flight finish, then terminate whatever holds a QEMU.
      const busy = ["PENDING", "STARTING", "STOPPING", "REBOOTING", "TERMINATING"];
      const live = ["RUNNING", "LAUNCH_FAILED"];
      const list = async (states) => (await c.cvm.DescribeInstances({
        Limit: 100, Filters: [{ Name: "instance-state", Values: states }] })).InstanceSet
        .map((i) => i.InstanceId);
      for (let i = 0; i < 120 && (await list(busy)).length; ++i) await L.sleep(500);
      const ids = await list(live);
      if (ids.length) {
        await c.cvm.TerminateInstances({ InstanceIds: ids }).catch((e) => problems.push(e.message));
        await L.waitState(c.cvm, ids, "GONE", { everyMs: 300, timeoutMs: 120000 })
               .catch((e) => problems.push(e.message));
      }
    }
  } catch (e) {
    problems.push("terminate: " + e.message);
  }
  await c.stop();
  let left = L.pidsUnder(work);
  if (left.length) {
    problems.push(`processes left under ${work}: ${left.join(" ")} (killed)`);
    for (const p of left) { try { process.kill(p, "SIGKILL"); } catch (_) { /* gone */ } }
    await L.sleep(500);
    left = L.pidsUnder(work);
  }
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
  return { problems, left };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const want = (k) => !o.only || o.only.has(k);
  const work = L.makeWorkDir();
  const started = L.now();
  const logLines = [];
  const log = (s) => { logLines.push(s); console.log(s); };
  const cfg = path.join(work, "cvmd.toml");
  // 10 one-vCPU guests at once exceed the default capacity of a 2-core host (cpu_overcommit 4).
  fs.writeFileSync(cfg, "cpu_overcommit = 16.0\n");
  const c = new L.Cvmd(work, o.build, { config: cfg });
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0] && os.cpus()[0].model,
               memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(),
               accel: process.env.BENCH_ACCEL || "tcg", loadavgAtStart: os.loadavg() },
  };
  let failed = null;
  const onSignal = () => { failed = new Error("interrupted"); };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    log(`work dir ${work}; build ${o.build}; load average ${os.loadavg().map((x) => x.toFixed(2))}`);
    await c.start();
    const img = (await c.cvm.DescribeImages({ Filters: [{ Name: "image-name",
                                                          Values: ["Tiny"] }] })).ImageSet;
    if (!img.length) throw new Error("tiny image not registered; run images/install-public");
    const image = img[0].ImageId;

    if (want("launch")) {
      results.launch = await launch.run(c, { image, launches: o.launches, workDir: work, log });
    }
    let ids = null;
    if (want("concurrent") || want("memory")) {
      if (want("concurrent")) {
        const r = await conc.runConcurrent(c, { image, count: o.count, log });
        results.concurrent = r.summary;
        ids = r.ids;
      } else {
        const r = await c.cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" },
                                             ImageId: image, InstanceType: "T1.NANO1",
                                             InstanceCount: 3,
                                             LoginSettings: { Password: L.PASSWORD } });
        ids = r.InstanceIdSet;
        await L.waitState(c.cvm, ids, "RUNNING");
        await Promise.all(ids.map((id) => L.waitSsh(c.sshPort(id), { everyMs: 500 })));
      }
      if (want("memory")) {
        await L.sleep(3000);  // let the guests settle after their first login
        results.memory = (await conc.runMemory(c, ids, { log })).summary;
      }
      await launch.terminate(c, ids);
    }
    if (want("describe")) {
      // A real row to copy: any instance this run made (terminated by now), or a fresh one.
      let tpl = c.db("select instance_id from instances order by created_at desc limit 1").trim();
      if (!tpl) {
        const r = await c.cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" },
                                             ImageId: image, InstanceType: "T1.NANO1",
                                             LoginSettings: { Password: L.PASSWORD } });
        tpl = r.InstanceIdSet[0];
        await L.waitState(c.cvm, [tpl], "RUNNING");
        await launch.terminate(c, [tpl]);
      }
      results.describe = await describe.run(c, { records: o.records, calls: o.calls,
                                                 template: tpl, workDir: work, log });
    }
    // cvmd complaints seen during the run, for the report.
    results.cvmdWarnings = c.lines.map((l) => l.text)
                                  .filter((t) => /\] \[(warning|error|critical)\]/.test(t));
  } catch (e) {
    failed = e;
  }
  if (results.cvmdWarnings === undefined) {
    results.cvmdWarnings = c.lines.map((l) => l.text)
                                  .filter((t) => /\] \[(warning|error|critical)\]/.test(t));
  }
  if (failed) console.error(`benchmark failed: ${failed.stack || failed}\ncvmd log: ${c.logFile}`);
  const keep = o.keep || !!failed;
  const cl = await cleanup(c, work, keep);
  // cvmd's log outlives the work directory, for a look at slow spots.
  const savedLog = path.join(os.tmpdir(), "opencvm-bench-instances-cvmd.log");
  try { fs.writeFileSync(savedLog, c.lines.map((l) => l.text).join("\n") + "\n"); } catch (_) { /* best effort */ }
  results.totalSeconds = (L.now() - started) / 1000;
  results.cleanup = cl;
  log(`\ncvmd warnings/errors during the run: ${results.cvmdWarnings.length}`);
  for (const w of results.cvmdWarnings.slice(0, 20)) log("  " + w.slice(0, 300));
  log(`total ${results.totalSeconds.toFixed(0)} s; cleanup: ` +
      `${cl.problems.length ? cl.problems.join("; ") : "ok"}; ` +
      `processes left under ${work}: ${cl.left.length ? cl.left.join(" ") : "none"}` +
      (keep ? ` (kept ${work})` : "") + `; cvmd log saved as ${savedLog}`);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(results, null, 2));
  process.exit(failed || cl.left.length ? 1 : 0);
}

main();
