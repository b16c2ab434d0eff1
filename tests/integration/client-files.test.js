// The operator's client files: cvmd writes its own (tccli's `opencvm` profile, the `cvm` CLI's
// client.json) at its first start and only where nothing is, never touches tccli's default
// profile, and never shows a secret on its terminal or in its log.
"use strict";
const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { Daemon } = require("./lib/daemon");

const daemons = [];
after(async () => {
  for (const d of daemons) {
    await d.stop();
    d.cleanup();
  }
});

const mode = (f) => fs.statSync(f).mode & 0o777;

test("a start keeps tccli's default profile, writes its own profile and client.json once, " +
     "and shows no secret", async () => {
  const d = new Daemon();
  daemons.push(d);
  // The operator's own tccli profile, with real-looking credentials, before cvmd ever ran.
  const tccli = path.join(d.home, ".tccli");
  fs.mkdirSync(tccli, { recursive: true });
  const mine = {
    "default.credential": '{"secretId": "AKIDoperator", "secretKey": "operator-secret"}\n',
    "default.configure": '{"_sys_param": {"region": "ap-singapore", "output": "json"}}\n',
  };
  for (const [f, text] of Object.entries(mine)) fs.writeFileSync(path.join(tccli, f), text);

  await d.start();
  for (const [f, text] of Object.entries(mine)) {
    assert.equal(fs.readFileSync(path.join(tccli, f), "utf8"), text, f);
  }
  const profile = JSON.parse(fs.readFileSync(path.join(tccli, "opencvm.credential")));
  assert.deepEqual(profile, { secretId: d.admin.secretId, secretKey: d.admin.secretKey });
  const conf = JSON.parse(fs.readFileSync(path.join(tccli, "opencvm.configure")));
  assert.equal(conf.cvm.endpoint, `http://${d.endpoint}`);
  const client = path.join(d.home, ".config/opencvm/client.json");
  assert.equal(JSON.parse(fs.readFileSync(client)).secretKey, d.admin.secretKey);
  for (const f of [client, path.join(tccli, "opencvm.credential"),
                   path.join(tccli, "opencvm.configure"),
                   path.join(d.dataDir, "admin-credentials.json")]) {
    assert.equal(mode(f), 0o600, f);
  }
  // The `cvm` CLI works with what was written.
  const r = d.cli(["api", "DescribeZones"]);
  assert.equal(r.code, 0, r.stderr);

  // Written once: the operator's edit survives a restart, a removed file stays removed.
  const edited = '{"_sys_param": {"region": "ap-shanghai"}}\n';
  fs.writeFileSync(path.join(tccli, "opencvm.configure"), edited);
  fs.rmSync(client);
  await d.stop();
  await d.start();
  assert.equal(fs.readFileSync(path.join(tccli, "opencvm.configure"), "utf8"), edited);
  assert.ok(!fs.existsSync(client));
  for (const [f, text] of Object.entries(mine)) {
    assert.equal(fs.readFileSync(path.join(tccli, f), "utf8"), text, f);
  }
  await d.stop();

  // Nothing secret on stdout or stderr, across both starts; the terminal names the file.
  assert.ok(!d.log.includes(d.admin.secretKey), d.log);
  assert.match(d.log, /admin-credentials\.json/);
});

test("a first start where another daemon's files are leaves them as they are", async () => {
  const first = new Daemon();
  daemons.push(first);
  await first.start();
  const files = [".config/opencvm/client.json", ".tccli/opencvm.credential",
                 ".tccli/opencvm.configure"].map((f) => path.join(first.home, f));
  const before = files.map((f) => fs.readFileSync(f, "utf8"));
  await first.stop();

  // A second daemon with a fresh data directory (new admin keys) and the same HOME.
  const second = new Daemon({ env: { HOME: first.home } });
  daemons.push(second);
  await second.start();
  assert.notEqual(second.admin.secretKey, first.admin.secretKey);
  assert.deepEqual(files.map((f) => fs.readFileSync(f, "utf8")), before);
  assert.ok(!second.log.includes(second.admin.secretKey));
});
