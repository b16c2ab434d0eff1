// TAT benchmark: RunCommand `true` until its task has finished (output available), on one
// tiny guest under a throw-away cvmd.
//
//   node bench/tat/run.js BUILD_DIR [--runs N]
//
// Needs what tests/e2e needs (the tiny public image with its guest agent in
// $CVM_PUBLIC_IMAGES). Prints p50/p90/max in milliseconds.
"use strict";
const path = require("node:path");
process.env.CVM_BUILD_DIR = path.resolve(process.argv[2] || "build/release");
const L = require("../../tests/e2e/lib");

const runs = Number((process.argv.indexOf("--runs") > 0 &&
                     process.argv[process.argv.indexOf("--runs") + 1]) || 30);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function main() {
  const d = await L.startDaemon();
  const cvm = d.client("cvm"), tat = d.client("tat");
  let id;
  try {
    id = (await cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" },
                                   ImageId: await L.tinyImageId(cvm),
                                   InstanceType: "T1.NANO1" })).InstanceIdSet[0];
    await L.waitState(cvm, [id], "RUNNING");
    for (const deadline = Date.now() + 240000; ; await sleep(500)) {
      const s = await tat.DescribeAutomationAgentStatus({ InstanceIds: [id] });
      if (s.AutomationAgentSet[0].AgentStatus === "Online") break;
      if (Date.now() > deadline) throw new Error("the guest agent never came online");
    }
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = await tat.RunCommand({ Content: Buffer.from("true").toString("base64"),
                                       InstanceIds: [id] });
      for (;;) {
        const t = (await tat.DescribeInvocationTasks({
          Filters: [{ Name: "invocation-id", Values: [r.InvocationId] }] })).InvocationTaskSet[0];
        if (t.TaskStatus === "SUCCESS") break;
        if (!["PENDING", "RUNNING"].includes(t.TaskStatus)) throw new Error(t.TaskStatus);
        await sleep(20);
      }
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(`RunCommand true -> SUCCESS, ${runs} runs: p50 ${pct(times, 50).toFixed(0)} ms, ` +
                `p90 ${pct(times, 90).toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms`);
  } finally {
    if (id) {
      await cvm.TerminateInstances({ InstanceIds: [id] }).catch(() => {});
      await L.waitState(cvm, [id], "GONE", 120000).catch(() => {});
    }
    await d.stop();
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
