// Foundation: the official SDK, unchanged, talks to cvmd as to Tencent Cloud; every way a
// request can be wrong answers with Tencent's error code and the daemon keeps serving.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Daemon, expectCode } = require("./lib/daemon");
const { send } = require("./lib/raw");

let d;
before(async () => { d = await new Daemon().start(); });
after(async () => { await d.stop(); d.cleanup(); });

test("DescribeRegions and DescribeZones answer with the configured regions", async () => {
  const cvm = d.client("cvm");
  const regions = await cvm.DescribeRegions({});
  assert.ok(regions.TotalCount >= 1);
  assert.ok(regions.RegionSet.some((r) => r.Region === "ap-guangzhou"));
  assert.match(regions.RequestId, /^[0-9a-f-]{36}$/);
  const zones = await cvm.DescribeZones({});
  assert.equal(zones.TotalCount, zones.ZoneSet.length);
  assert.ok(zones.ZoneSet.every((z) => z.Zone.startsWith("ap-guangzhou-")));
  assert.equal(zones.ZoneSet[0].ZoneState, "AVAILABLE");
  assert.equal(typeof zones.ZoneSet[0].ZoneId, "string");
});

test("every response carries a fresh RequestId", async () => {
  const cvm = d.client("cvm");
  const a = await cvm.DescribeZones({});
  const b = await cvm.DescribeZones({});
  assert.notEqual(a.RequestId, b.RequestId);
});

test("instance type catalogue follows Tencent's names and filters", async () => {
  const cvm = d.client("cvm");
  const all = await cvm.DescribeInstanceTypeConfigs({});
  const small1 = all.InstanceTypeConfigSet.find((t) => t.InstanceType === "S5.SMALL1");
  assert.deepEqual([small1.CPU, small1.Memory, small1.InstanceFamily], [1, 1, "S5"]);
  const medium4 = await cvm.DescribeInstanceTypeConfigs({
    Filters: [{ Name: "instance-type", Values: ["S5.MEDIUM4"] },
              { Name: "zone", Values: ["ap-guangzhou-3"] }] });
  assert.equal(medium4.InstanceTypeConfigSet.length, 1);
  assert.equal(medium4.InstanceTypeConfigSet[0].CPU, 2);
  assert.equal(medium4.InstanceTypeConfigSet[0].Memory, 4);
  const quota = await cvm.DescribeZoneInstanceConfigInfos({
    Filters: [{ Name: "instance-family", Values: ["S5"] }] });
  assert.ok(quota.InstanceTypeQuotaSet.length > 0);
  assert.ok(quota.InstanceTypeQuotaSet.every((q) => q.InstanceFamily === "S5"));
  await expectCode(cvm.DescribeInstanceTypeConfigs({ Filters: [{ Name: "bogus", Values: ["x"] }] }),
                   "InvalidFilter");
});

test("GET with flattened parameters and signature v1 (HmacSHA1, HmacSHA256) work", async () => {
  const get = d.client("cvm", d.admin, { httpProfile: { reqMethod: "GET" } });
  const r = await get.DescribeInstanceTypeConfigs({
    Filters: [{ Name: "instance-type", Values: ["S5.SMALL2"] }] });
  assert.equal(r.InstanceTypeConfigSet[0].Memory, 2);
  for (const signMethod of ["HmacSHA1", "HmacSHA256"]) {
    const v1 = d.client("cvm", d.admin, { extra: { signMethod } });
    const z = await v1.DescribeZones({});
    assert.ok(z.TotalCount >= 1, signMethod);
  }
});

test("a wrong secret key is refused with AuthFailure.SignatureFailure", async () => {
  const bad = d.client("cvm", { secretId: d.admin.secretId, secretKey: "x".repeat(32) });
  await expectCode(bad.DescribeZones({}), "AuthFailure.SignatureFailure");
  const badV1 = d.client("cvm", { secretId: d.admin.secretId, secretKey: "x".repeat(32) },
                         { extra: { signMethod: "HmacSHA256" } });
  await expectCode(badV1.DescribeZones({}), "AuthFailure.SignatureFailure");
});

test("an unknown SecretId and one of another format are told apart", async () => {
  const unknown = d.client("cvm", { secretId: "AKID" + "A".repeat(32), secretKey: "k" });
  await expectCode(unknown.DescribeZones({}), "AuthFailure.SecretIdNotFound");
  const malformed = d.client("cvm", { secretId: "not-a-key", secretKey: "k" });
  await expectCode(malformed.DescribeZones({}), "AuthFailure.InvalidSecretId");
});

test("a timestamp outside the 5-minute window is refused with SignatureExpire", async () => {
  const cvm = d.client("cvm");
  const realGetTime = Date.prototype.getTime;
  for (const skew of [-400e3, 400e3]) {
    Date.prototype.getTime = function () { return realGetTime.call(this) + skew; };
    try {
      await expectCode(cvm.DescribeZones({}), "AuthFailure.SignatureExpire");
    } finally {
      Date.prototype.getTime = realGetTime;
    }
  }
  await cvm.DescribeZones({});  // and in the window it works again
});

test("unknown, unimplemented and misspelt actions get distinct codes", async () => {
  const cvm = d.client("cvm");
  await expectCode(cvm.request("DescribeUnicorns", {}), "InvalidAction");
  const e = await expectCode(cvm.request("DescribeHosts", {}), "UnsupportedOperation");
  assert.match(e.message, /DescribeHosts/);
});

test("parameter errors: missing, unknown, wrong type, bad value", async () => {
  const cvm = d.client("cvm");
  await expectCode(cvm.request("DescribeInstanceVncUrl", {}), "MissingParameter");
  const unknown = await expectCode(cvm.DescribeZones({ Colour: "blue" }), "UnknownParameter");
  assert.match(unknown.message, /Colour/);
  await expectCode(cvm.DescribeInstanceTypeConfigs({ Filters: "zone" }), "InvalidParameter");
  await expectCode(cvm.DescribeInstanceTypeConfigs({ Filters: [{ Name: "zone" }] }),
                   "MissingParameter");
  await expectCode(cvm.DescribeInstanceTypeConfigs({
    Filters: [{ Name: "zone", Values: ["a", "b"] }] }), "InvalidFilterValue.LimitExceeded");
});

test("an unknown region and a missing region are refused", async () => {
  await expectCode(d.client("cvm", d.admin, { region: "mars-north-1" }).DescribeZones({}),
                   "UnsupportedRegion");
  await expectCode(d.client("cvm", d.admin, { region: "" }).DescribeZones({}), "MissingParameter");
});

test("raw bad input: each gets its code with HTTP 200 and exact Content-Type", async () => {
  const base = { endpoint: d.endpoint, creds: d.admin, action: "DescribeZones" };
  const cases = [
    [{ body: "{not json" }, "InvalidParameter"],
    [{ body: "[1,2]" }, "InvalidParameter"],
    [{ action: "DescribeInstanceTypeConfigs", body: '{"Filters":[],"Filters":[]}' },
     "InvalidParameter"],
    [{ sign: false, body: "{}" }, "AuthFailure.SignatureFailure"],
    [{ method: "GET", query: "Filters.0.Name=zone&Filters.0.Name=zone&Filters.0.Values.0=x",
       action: "DescribeInstanceTypeConfigs",
       contentType: "application/x-www-form-urlencoded" }, "InvalidParameter"],
    [{ action: "DescribeInstanceTypeConfigs",
       body: Buffer.concat([Buffer.from('{"Filters":[{"Name":"zone","Values":["'),
                            Buffer.from([0xff, 0xfe]), Buffer.from('"]}]}')]) },
     "InvalidParameterValue"],
    [{ action: "DescribeInstanceTypeConfigs",
       body: JSON.stringify({ Filters: Array.from({ length: 5000 },
                                                  () => ({ Name: "zone", Values: ["x"] })) }) },
     "InvalidParameterValue"],
    [{ headers: { "X-TC-Version": "1999-01-01" }, body: "{}" }, "NoSuchVersion"],
    [{ headers: { "X-TC-Token": "abc" }, body: "{}" }, "AuthFailure.TokenFailure"],
  ];
  for (const [opts, code] of cases) {
    const r = await send({ ...base, ...opts });
    assert.equal(r.status, 200, JSON.stringify(opts).slice(0, 80));
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.json.Response.Error.Code, code, JSON.stringify(opts).slice(0, 80) + " " + r.text);
    assert.match(r.json.Response.RequestId, /^[0-9a-f-]{36}$/);
  }
  // Oversize: the answer comes from the declared length alone, before any body byte is read
  // (sending the whole body would race the server's close and end in EPIPE).
  const big = await new Promise((resolve, reject) => {
    const [host, port] = d.endpoint.split(":");
    const sock = require("node:net").connect(Number(port), host);
    let text = "";
    sock.on("connect", () => sock.write(
      `POST / HTTP/1.1\r\nHost: ${d.endpoint}\r\nContent-Type: application/json\r\n` +
      `X-TC-Action: DescribeZones\r\nContent-Length: ${2 << 20}\r\n\r\n{`));
    sock.on("data", (c) => { text += c; });
    sock.on("close", () => resolve(text));
    sock.on("error", reject);
    sock.setTimeout(10000, () => sock.destroy());
  });
  assert.match(big, /^HTTP\/1\.1 200/);
  assert.match(big, /"Code":"RequestSizeLimitExceeded"/);
  const put = await send({ ...base, method: "PUT", body: "{}" });
  assert.equal(put.json.Response.Error.Code, "UnsupportedProtocol");
  // still serving
  assert.ok((await d.client("cvm").DescribeZones({})).TotalCount >= 1);
});

test("Host forms of every SDK verify: with port, without port, tccli's http:// literal", async () => {
  const hostname = d.endpoint.split(":")[0];
  for (const [host, service] of [[d.endpoint, "cvm"], [`http://${d.endpoint}`, "cvm"],
                                 [hostname, "127"]]) {
    const r = await send({ endpoint: d.endpoint, creds: d.admin, action: "DescribeZones",
                           body: "{}", host, service });
    assert.ok(r.json.Response.ZoneSet, `${host}: ${r.text}`);
  }
});

test("a second root account works with its own keys", async () => {
  const bob = d.createAccount("bob");
  assert.match(bob.secretId, /^AKID[A-Za-z0-9]{32}$/);
  assert.notEqual(bob.uin, undefined);
  const z = await d.client("cvm", bob).DescribeZones({});
  assert.ok(z.TotalCount >= 1);
});
