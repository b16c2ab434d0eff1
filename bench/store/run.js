// The state store on both backends, measured in one run on the same data: DescribeInstances
// (Limit 100) at 10,000 and 100,000 instance records, RunInstances answer times, signed
// DescribeZones requests/s, and how fast `cvmd store copy` moves the records. SQLite is the
// baseline; PostgreSQL is a throw-away cluster of this run (scripts/test-postgres, Unix socket).
//
//   node bench/store/run.js build/release [--json out.json] [--sizes 10000,100000]
//
// Records are inserted straight into SQLite while cvmd is stopped (STOPPED instances with a
// system disk each, no run directories, so the reconciler leaves them alone), then copied into
// PostgreSQL with `cvmd store copy`: both backends answer over identical rows.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const L = require("../instances/lib");

const REPO = path.resolve(__dirname, "../..");
const args = process.argv.slice(2);
const buildDir = path.resolve(args[0] || "build/release");
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const jsonOut = opt("--json", "");
const sizes = opt("--sizes", "10000,100000").split(",").map(Number);
const log = (s) => console.log(s);

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

// `n` calls of `fn` after a warm-up: latency percentiles and cvmd's CPU per call.
async function series(label, n, fn, pid) {
  for (let i = 0; i < 20; ++i) await fn();
  const cpu0 = cpuMs(pid);
  const t = [];
  for (let i = 0; i < n; ++i) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  const s = { label, calls: n, p50: L.pct(t, 50), p99: L.pct(t, 99), max: Math.max(...t),
              cpuMsPerCall: (cpuMs(pid) - cpu0) / n };
  log(`    ${label.padEnd(44)} p50 ${L.fmtMs(s.p50)}, p99 ${L.fmtMs(s.p99)}, ` +
      `max ${L.fmtMs(s.max)}; cvmd CPU ${L.fmtMs(s.cpuMsPerCall)}/call`);
  return s;
}

// Adds instances [from, to) with a system disk each, in one SQLite transaction.
function seed(dataDir, from, to) {
  const db = path.join(dataDir, "cvmd.db");
  const q = (sql) => execFileSync("sqlite3", ["-cmd", ".timeout 5000", db, sql],
                                  { encoding: "utf8" }).trim();
  const uin = q("SELECT uin FROM accounts WHERE is_admin = 1");
  const image = q("SELECT image_id FROM images WHERE name LIKE 'Tiny%' LIMIT 1");
  if (!uin || !image) throw new Error("no admin account or tiny image in the store");
  q(`BEGIN;
WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to - 1})
INSERT INTO instances(instance_id, uuid, owner_uin, name, host_name, instance_type, cpu,
  memory_mib, zone, region, image_id, state, mac, created_at, latest_operation,
  latest_operation_state)
SELECT printf('ins-%08x', i), printf('00000000-0000-4000-8000-%012x', i), '${uin}',
  'bench-' || i, printf('ins-%08x', i), 'T1.NANO1', 1, 128, 'ap-guangzhou-3', 'ap-guangzhou',
  '${image}', 'STOPPED', printf('52:54:01:%02x:%02x:%02x', (i >> 16) & 255, (i >> 8) & 255, i & 255),
  1700000000 + i, 'StopInstances', 'SUCCESS' FROM n;
WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to - 1})
INSERT INTO disks(disk_id, owner_uin, name, usage, disk_type, size_gb, zone, state, instance_id,
  image_id, file_path, created_at, attached_at, region, portable)
SELECT printf('disk-%08x', i), '${uin}', 'bench-' || i || '-system', 'SYSTEM_DISK',
  'CLOUD_PREMIUM', 20, 'ap-guangzhou-3', 'ATTACHED', printf('ins-%08x', i), '${image}',
  '${dataDir}/disks/' || printf('disk-%08x', i) || '.qcow2', 1700000000 + i, 1700000000 + i,
  'ap-guangzhou', 0 FROM n;
COMMIT;`);
}

async function describeSeries(c) {
  const raw = new L.RawClient(c.endpoint, c.creds);
  try {
    const call = (p) => () => raw.call("DescribeInstances", p);
    return [
      await series("DescribeInstances Limit 100", 500, call({ Limit: 100 }), c.pid),
      await series("… filter instance-state=STOPPED", 500,
                   call({ Limit: 100, Filters: [{ Name: "instance-state", Values: ["STOPPED"] }] }),
                   c.pid),
      await series("… filter instance-name (1 match)", 500,
                   call({ Limit: 100, Filters: [{ Name: "instance-name", Values: ["bench-4242"] }] }),
                   c.pid),
    ];
  } finally {
    raw.close();
  }
}

// Signed DescribeZones on `clients` keep-alive connections for `ms`: requests per second.
async function zonesPerSecond(c, clients = 8, ms = 5000) {
  const raws = Array.from({ length: clients }, () => new L.RawClient(c.endpoint, c.creds));
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(raws.map(async (raw) => {
    while (performance.now() < until) {
      await raw.call("DescribeZones", {});
      ++done;
    }
  }));
  raws.forEach((r) => r.close());
  const rate = done / (ms / 1000);
  log(`    signed DescribeZones, ${clients} connections          ${rate.toFixed(0)} requests/s`);
  return rate;
}

// `n` sequential RunInstances (real tiny guests): the API answer's latency. The guests are
// terminated afterwards, so both backends launch onto the same idle host.
async function runInstancesSeries(c, n = 10) {
  const image = (await c.cvm.DescribeImages({ Filters: [{ Name: "image-name", Values: ["Tiny"] }] }))
    .ImageSet[0].ImageId;
  const t = [], ids = [];
  for (let i = 0; i < n; ++i) {
    const t0 = performance.now();
    const r = await c.cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                         InstanceType: "T1.NANO1", InstanceName: `run-${i}`,
                                         LoginSettings: { Password: L.PASSWORD } });
    t.push(performance.now() - t0);
    ids.push(...r.InstanceIdSet);
  }
  await L.waitState(c.cvm, ids, "RUNNING");
  await c.cvm.TerminateInstances({ InstanceIds: ids });
  for (;;) {
    const left = await c.cvm.DescribeInstances({ InstanceIds: ids });
    if (left.TotalCount === 0) break;
    await L.sleep(500);
  }
  const s = { p50: L.pct(t, 50), p99: L.pct(t, 99), max: Math.max(...t) };
  log(`    RunInstances answer (${n} sequential, SDK)      p50 ${L.fmtMs(s.p50)}, ` +
      `p99 ${L.fmtMs(s.p99)}, max ${L.fmtMs(s.max)}`);
  return s;
}

async function measure(c, backend, records, withLaunches) {
  log(`  ${backend}, ${records} records:`);
  await c.start();
  try {
    const out = { backend, records, describe: await describeSeries(c) };
    if (withLaunches) {
      out.zonesPerSecond = await zonesPerSecond(c);
      out.runInstances = await runInstancesSeries(c);
    }
    return out;
  } finally {
    await c.stop();
  }
}

async function main() {
  const work = L.makeWorkDir();
  const pgDir = path.join(work, "pg");
  execFileSync(path.join(REPO, "scripts/test-postgres"), ["start", pgDir]);
  const results = [];
  try {
    const lite = new L.Cvmd(path.join(work, "sqlite"), buildDir);
    await lite.start();  // creates the admin account and registers the public images
    await lite.stop();
    let have = 0;
    for (const records of sizes) {
      const t0 = L.now();
      seed(lite.dataDir, have, records);
      have = records;
      log(`\n== ${records} instance records (seeded into SQLite in ${L.fmtS(L.now() - t0)}) ==`);
      const first = records === sizes[0];
      results.push(await measure(lite, "sqlite", records, first));

      const db = `bench_${records}`;
      execFileSync("createdb", ["-h", pgDir, "-U", "postgres", db]);
      const url = `postgresql:///${db}?host=${pgDir}&user=postgres`;
      const tc = L.now();
      execFileSync(path.join(buildDir, "src/cvmd"),
                   ["store", "copy", "--from", `sqlite:${path.join(lite.dataDir, "cvmd.db")}`,
                    "--to", url], { encoding: "utf8" });
      const copyMs = L.now() - tc;
      log(`  store copy SQLite → PostgreSQL: ${L.fmtS(copyMs)}`);
      const pg = new L.Cvmd(path.join(work, "sqlite"), buildDir, { args: ["--store-url", url] });
      const r = await measure(pg, "postgresql", records, first);
      r.copyMs = copyMs;
      results.push(r);
    }
  } finally {
    execFileSync(path.join(REPO, "scripts/test-postgres"), ["stop", pgDir]);
  }
  log("\n== PostgreSQL against SQLite (same rows, same run) ==");
  for (const records of sizes) {
    const [s, p] = ["sqlite", "postgresql"].map((b) =>
      results.find((r) => r.backend === b && r.records === records));
    const [ds, dp] = [s.describe[0], p.describe[0]];
    log(`  ${records} records: DescribeInstances p99 ${L.fmtMs(ds.p99)} vs ${L.fmtMs(dp.p99)} ` +
        `(goal < 10 ms on both: ${ds.p99 < 10 && dp.p99 < 10 ? "met" : "MISSED"})`);
    if (s.runInstances) {
      const ratio = p.runInstances.p50 / s.runInstances.p50;
      log(`  RunInstances answer p50 ${L.fmtMs(s.runInstances.p50)} vs ` +
          `${L.fmtMs(p.runInstances.p50)}: ${ratio.toFixed(2)}× (goal ≤ 1.5×: ` +
          `${ratio <= 1.5 ? "met" : "MISSED"}); DescribeZones ${s.zonesPerSecond.toFixed(0)} vs ` +
          `${p.zonesPerSecond.toFixed(0)} requests/s`);
    }
  }
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
