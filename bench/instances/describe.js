// Benchmark 3: DescribeInstances (Limit 100) with 10,000 instance records in the store.
// With cvmd stopped, copies of a real instance row (and of its system-disk row) are inserted
// straight into the SQLite database, marked STOPPED and without run directories, so the
// reconciler leaves them alone. Then cvmd starts again and answers 500 calls per query shape
// over one keep-alive connection (a raw TC3 client: the figure is the request path, not the
// SDK); cvmd's VmRSS is read from /proc after the calls.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const L = require("./lib");

function columns(c, table) {
  return c.db(`pragma table_info(${table})`).trim().split("\n").map((l) => l.split("|")[1]);
}

function sqlString(s) { return "'" + String(s).replace(/'/g, "''") + "'"; }

// Inserts `n` STOPPED copies of instance `tpl` (and of its system disk) in one transaction.
function seedRecords(c, tpl, n, workDir) {
  const icols = columns(c, "instances");
  const dcols = columns(c, "disks");
  const tplDisk = c.db(`select disk_id from disks where instance_id='${tpl}' ` +
                       `and usage='SYSTEM_DISK' order by created_at desc limit 1`).trim();
  if (!tplDisk) throw new Error(`no system disk row for ${tpl}`);
  const created = Number(c.db(`select created_at from instances where instance_id='${tpl}'`));
  const lines = ["BEGIN;"];
  const used = new Set();
  const fresh = (prefix) => {
    for (;;) {
      const id = L.randomId(prefix);
      if (!used.has(id)) { used.add(id); return id; }
    }
  };
  for (let i = 0; i < n; ++i) {
    const iid = fresh("ins"), did = fresh("disk");
    const uuid = require("node:crypto").randomUUID();
    const when = created - n + i;  // distinct creation times, all older than the real row
    const ov = {
      instance_id: sqlString(iid), uuid: sqlString(uuid), name: sqlString(`bench-${i}`),
      host_name: sqlString(iid), state: "'STOPPED'", state_reason: "''", ssh_port: "0",
      client_token: "NULL", created_at: String(when), started_at: "0", deleted: "0",
      latest_operation: "'StopInstances'", latest_operation_state: "'SUCCESS'",
      latest_operation_error: "''",
    };
    lines.push(`INSERT INTO instances (${icols.join(",")}) SELECT ` +
               icols.map((k) => ov[k] || k).join(",") +
               ` FROM instances WHERE instance_id='${tpl}';`);
    const dv = {
      disk_id: sqlString(did), name: sqlString(`bench-${i}-system`), instance_id: sqlString(iid),
      state: "'ATTACHED'", deleted: "0", created_at: String(when),
      file_path: sqlString(path.join(c.dataDir, "disks", did + ".qcow2")),
    };
    lines.push(`INSERT INTO disks (${dcols.join(",")}) SELECT ` +
               dcols.map((k) => dv[k] || k).join(",") + ` FROM disks WHERE disk_id='${tplDisk}';`);
  }
  lines.push("COMMIT;");
  const file = path.join(workDir, "seed-records.sql");
  fs.writeFileSync(file, lines.join("\n"));
  execFileSync("sqlite3", [path.join(c.dataDir, "cvmd.db")], { input: fs.readFileSync(file) });
  fs.rmSync(file);
}

// cvmd's CPU time (user + system) in ms, from /proc/PID/stat (clock ticks of 10 ms).
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) * 10;  // utime, stime (fields 14, 15)
}

async function series(label, n, fn, log, pid) {
  for (let i = 0; i < 20; ++i) await fn();  // warm-up: connection, caches
  const cpu0 = cpuMs(pid);
  const t = [];
  let total = 0, size = 0;
  for (let i = 0; i < n; ++i) {
    const t0 = performance.now();
    const r = await fn();
    t.push(performance.now() - t0);
    total = r.TotalCount;
    size = r.InstanceSet.length;
  }
  const cpuPerCall = (cpuMs(pid) - cpu0) / n;
  const s = { label, calls: n, p50: L.pct(t, 50), p90: L.pct(t, 90), p99: L.pct(t, 99),
              max: Math.max(...t), mean: L.mean(t), cvmdCpuMsPerCall: cpuPerCall,
              totalCount: total, returned: size };
  log(`  ${label.padEnd(47)} p50 ${L.fmtMs(s.p50)}, p90 ${L.fmtMs(s.p90)}, ` +
      `p99 ${L.fmtMs(s.p99)}, max ${L.fmtMs(s.max)}; cvmd CPU ${L.fmtMs(cpuPerCall)}/call ` +
      `(TotalCount ${total}, ${size} returned)`);
  return s;
}

async function run(c, { records = 10000, calls = 500, template, workDir, log = console.log }) {
  log(`\n== 3. DescribeInstances with ${records} instance records ==`);
  await c.stop();
  const t0 = L.now();
  seedRecords(c, template, records, workDir);
  log(`inserted ${records} STOPPED instances (+ system disks), copies of ${template}, ` +
      `in ${L.fmtS(L.now() - t0)}`);
  const ts = L.now();
  await c.start();
  const startMs = L.now() - ts;
  const rssStart = L.procStatus(c.pid, "VmRSS") / 1024;
  log(`cvmd restarted in ${L.fmtS(startMs)}; VmRSS right after start ${rssStart.toFixed(1)} MiB`);

  const raw = new L.RawClient(c.endpoint, c.creds);
  const out = { records, startMs, rssStartMiB: rssStart, series: [] };
  try {
    const call = (p) => () => raw.call("DescribeInstances", p);
    const shapes = [
      ["Limit 100 (raw keep-alive)", calls, call({ Limit: 100 })],
      ["Limit 100, filter instance-state=STOPPED (raw)", calls,
       call({ Limit: 100, Filters: [{ Name: "instance-state", Values: ["STOPPED"] }] })],
      ["Limit 100, filter instance-name, 1 match (raw)", calls,
       call({ Limit: 100, Filters: [{ Name: "instance-name", Values: ["bench-4242"] }] })],
      ["Limit 100, Offset 9000 (raw)", Math.min(calls, 100), call({ Limit: 100, Offset: 9000 })],
      ["Limit 100 (official SDK, 100 calls)", 100,
       () => c.cvm.DescribeInstances({ Limit: 100 })],
    ];
    for (const [label, n, fn] of shapes) out.series.push(await series(label, n, fn, log, c.pid));
  } finally {
    raw.close();
  }
  out.rssAfterMiB = L.procStatus(c.pid, "VmRSS") / 1024;
  out.hwmMiB = L.procStatus(c.pid, "VmHWM") / 1024;
  const main = out.series[0], filt = out.series[1];
  log(`cvmd VmRSS after the calls: ${out.rssAfterMiB.toFixed(1)} MiB ` +
      `(peak VmHWM ${out.hwmMiB.toFixed(1)} MiB) — goal < 64 MiB: ` +
      `${out.rssAfterMiB < 64 ? "met" : "MISSED"}`);
  log(`p99 goal < 10 ms: unfiltered ${main.p99 < 10 ? "met" : "MISSED"}, ` +
      `filtered ${filt.p99 < 10 ? "met" : "MISSED"}`);
  return out;
}

module.exports = { run, seedRecords };
