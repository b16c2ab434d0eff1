// An anonymous client holds only a bounded share of cvmd: a flood of connections that stall
// in large bodies or send nothing neither grows the daemon's memory past a bound nor runs it out
// of descriptors, a signed request from another client still gets in, the memory goes back
// afterwards and the daemon keeps serving. Loopback only: the flood comes from 127.0.0.2-9.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { Daemon } = require("./lib/daemon");
const { send, tc3Authorization } = require("./lib/raw");

const MiB = 1 << 20;
const CAP = 256;
const PER_ADDRESS = 64;
const BODY_BUDGET = 8 * MiB;
// Above the idle daemon, RSS may grow by the connections' buffers (CAP x 48 KiB, 12 MiB) plus
// the body budget (8 MiB): 48 MiB leaves room for malloc's slack.
const RSS_BOUND = 48 * MiB;
const FLOOD_ADDRESSES = [2, 3, 4, 5, 6, 7, 8, 9].map((i) => `127.0.0.${i}`);

function configured(lines) {
  const d = new Daemon();
  const file = path.join(d.dir, "cvmd.toml");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  d.extraArgs.push("-c", file);
  return d;
}

function rss(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]) * 1024;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A connection from `localAddress` that sends `data` (if any) and then nothing more. Resolves
// once it is connected and has handed its bytes to the kernel, or was closed; what the daemon
// answered collects in `answer`.
function stall(d, localAddress, data) {
  const sock = net.connect({ host: "127.0.0.1", port: d.port, localAddress });
  sock.answer = "";
  sock.on("data", (b) => { sock.answer += b.toString(); });
  sock.on("error", () => {});
  return new Promise((resolve) => {
    sock.on("close", () => resolve(sock));
    sock.on("connect", () => {
      if (!data) return resolve(sock);
      sock.write(data, () => resolve(sock));
    });
  });
}

// `count` connections that each declare a 1 MiB body, send all of it but the last byte and
// stall, then `count` connections that send nothing; spread over the flood addresses.
async function flood(d, count) {
  const head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
               `X-TC-Action: DescribeZones\r\nContent-Length: ${MiB}\r\n\r\n`;
  const partial = Buffer.concat([Buffer.from(head), Buffer.alloc(MiB - 1, 0x20)]);
  const socks = [];
  for (const kind of [partial, null]) {
    const batch = [];
    for (let i = 0; i < count; i++) {
      batch.push(stall(d, FLOOD_ADDRESSES[i % FLOOD_ADDRESSES.length], kind));
      if (batch.length % 32 === 0) socks.push(...await Promise.all(batch.splice(0)));
    }
    socks.push(...await Promise.all(batch));
  }
  return socks;
}

// A signed DescribeZones on a new connection of the official SDK.
function describeZones(d) {
  const agent = new http.Agent({ keepAlive: false });
  return d.client("cvm", d.admin, { httpProfile: { agent, reqTimeout: 30 } }).DescribeZones({});
}

let d;
let idleRss;
before(async () => {
  d = configured(["[http]", `max_connections = ${CAP}`,
                  `max_connections_per_address = ${PER_ADDRESS}`,
                  `body_budget_bytes = ${BODY_BUDGET}`, "unauthenticated_timeout_s = 60"]);
  await d.start();
  await describeZones(d);
  idleRss = rss(d.proc.pid);
});
after(async () => { await d.stop(); d.cleanup(); });

test("under a flood of stalled bodies and idle connections a signed request gets in, " +
     "memory stays bounded and goes back", { timeout: 180000 }, async () => {
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rss(d.proc.pid)); }, 20);
  const socks = await flood(d, 300);
  await sleep(500);  // let the daemon take in what was sent
  const zones = await describeZones(d);
  assert.ok(zones.ZoneSet.length > 0);
  peak = Math.max(peak, rss(d.proc.pid));
  clearInterval(sampler);
  assert.ok(peak - idleRss < RSS_BOUND,
            `RSS grew by ${((peak - idleRss) / MiB).toFixed(1)} MiB under the flood`);
  // Bodies past the budget were refused with an answer the client can read.
  assert.ok(socks.some((s) => s.answer.includes('"Code":"RequestLimitExceeded"')),
            "no body was refused for the budget");

  for (const s of socks) s.destroy();
  let now = rss(d.proc.pid);
  for (let i = 0; i < 100 && now - idleRss > 16 * MiB; i++) {
    await sleep(100);
    now = rss(d.proc.pid);
  }
  assert.ok(now - idleRss <= 16 * MiB,
            `RSS stayed ${((now - idleRss) / MiB).toFixed(1)} MiB above idle after the flood`);

  // Still serving, a body near the size limit included.
  const big = await send({ endpoint: d.endpoint, creds: d.admin, action: "DescribeZones",
                           body: JSON.stringify({ Padding: "x".repeat(MiB - 64) }) });
  assert.equal(big.json.Response.Error.Code, "UnknownParameter");
  assert.ok((await describeZones(d)).ZoneSet.length > 0);
});

test("out of descriptors, accepting pauses and idle connections make room for a signed client",
     { timeout: 180000 }, async () => {
  const pid = d.proc.pid;
  const open = fs.readdirSync(`/proc/${pid}/fd`).length;
  execFileSync("prlimit", ["--pid", String(pid), `--nofile=${open + 48}:${open + 48}`]);
  const socks = [];
  for (let i = 0; i < 120; i++) {
    socks.push(await stall(d, FLOOD_ADDRESSES[i % FLOOD_ADDRESSES.length], null));
  }
  await sleep(500);
  const zones = await describeZones(d);
  assert.ok(zones.ZoneSet.length > 0);
  for (const s of socks) s.destroy();
  assert.ok((await describeZones(d)).ZoneSet.length > 0);
});

test("a connection has unauthenticated_timeout_s for each request until one is signed",
     { timeout: 60000 }, async () => {
  const short = configured(["[http]", "unauthenticated_timeout_s = 1"]);
  await short.start();
  try {
    // Sends nothing: closed by the daemon.
    const silent = await stall(short, "127.0.0.1", null);
    await new Promise((resolve) => silent.on("close", resolve));

    // Signs once: then it may wait between requests for the idle timeout.
    const sock = await stall(short, "127.0.0.1", null);
    const signed = () => {
      const body = "{}";
      const timestamp = Math.floor(Date.now() / 1000);
      const auth = tc3Authorization({ ...short.admin, service: "cvm", host: short.endpoint,
                                      method: "POST", contentType: "application/json", body,
                                      timestamp });
      return `POST / HTTP/1.1\r\nHost: ${short.endpoint}\r\nContent-Type: application/json\r\n` +
             `X-TC-Action: DescribeZones\r\nX-TC-Version: 2017-03-12\r\n` +
             `X-TC-Region: ap-guangzhou\r\nX-TC-Timestamp: ${timestamp}\r\n` +
             `Authorization: ${auth}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    const answered = async (n) => {
      for (let i = 0; i < 200 && (sock.answer.match(/"ZoneSet"/g) || []).length < n; i++) {
        await sleep(50);
      }
      return (sock.answer.match(/"ZoneSet"/g) || []).length;
    };
    sock.write(signed());
    assert.equal(await answered(1), 1);
    await sleep(2500);
    assert.equal(sock.destroyed, false, "an authenticated connection was closed while idle");
    sock.write(signed());
    assert.equal(await answered(2), 2);
    sock.destroy();
  } finally {
    await short.stop();
    short.cleanup();
  }
});
