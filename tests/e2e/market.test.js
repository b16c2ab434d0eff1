// Service-market images on real QEMU: the nginx image answers HTTP on port 80 and the Redis
// image answers PING right after launch, as any account launches them. (Their listing and
// read-only rules are in tests/integration/images.test.js.)
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const L = require("./lib");

const PASSWORD = "Opencvm-market1";
let d, cvm, tenantCvm;

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  tenantCvm = d.client("cvm", d.createAccount("market-buyer"));
});

after(async () => {
  try {
    for (const client of [cvm, tenantCvm]) {
      const live = (await client.DescribeInstances({ Limit: 100 })).InstanceSet
        .map((i) => i.InstanceId);
      if (live.length) {
        await client.TerminateInstances({ InstanceIds: live }).catch(() => {});
        await L.waitState(client, live, "GONE", 120000).catch(() => {});
      }
    }
  } finally {
    await d.stop();
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

async function marketImage(name) {
  const r = await cvm.DescribeImages({ Filters: [{ Name: "image-type", Values: ["MARKET_IMAGE"] },
                                                 { Name: "image-name", Values: [name] }] });
  assert.equal(r.ImageSet.length, 1, `no market image ${name}; run images/install-public`);
  return r.ImageSet[0].ImageId;
}

test("the nginx and Redis market images serve right after launch", async () => {
  const nginx = await marketImage("Nginx");
  const redis = await marketImage("Redis");
  const launch = (client, image, name) => client.RunInstances({
    Placement: { Zone: "ap-guangzhou-3" }, ImageId: image, InstanceType: "T1.NANO1",
    InstanceName: name, LoginSettings: { Password: PASSWORD } }).then((r) => r.InstanceIdSet[0]);
  // Another account than the catalogue's readers so far: market images are everyone's.
  const web = await launch(tenantCvm, nginx, "web");
  const kv = await launch(cvm, redis, "kv");
  await L.waitState(tenantCvm, [web], "RUNNING");
  await L.waitState(cvm, [kv], "RUNNING");

  // busybox init starts the service after SSH; allow it a moment to listen.
  const page = await L.ssh(d, web, "for i in $(seq 50); do wget -qO- http://127.0.0.1:80/ && " +
                                   "exit 0; sleep 0.2; done; exit 1", { password: PASSWORD });
  assert.match(page, /<h1>OpenCVM nginx web server<\/h1>/);
  const pong = await L.ssh(d, kv, "for i in $(seq 50); do redis-cli ping 2>/dev/null | " +
                                  "grep PONG && exit 0; sleep 0.2; done; exit 1",
                           { password: PASSWORD });
  assert.equal(pong.trim(), "PONG");
  assert.equal((await L.ssh(d, kv, "redis-cli set k v >/dev/null; redis-cli get k",
                            { password: PASSWORD })).trim(), "v");
});
