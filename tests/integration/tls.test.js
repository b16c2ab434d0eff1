// TLS is optional: with a certificate and key in the config, the same API answers over https.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");

// The certificate is self-signed for this test only.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

let d;
before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cvmd-tls-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=127.0.0.1", "-keyout", path.join(dir, "key.pem"),
                           "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
  fs.writeFileSync(path.join(dir, "cvmd.toml"),
                   `tls_cert = "${path.join(dir, "cert.pem")}"\n` +
                   `tls_key = "${path.join(dir, "key.pem")}"\n`);
  d = new Daemon({ dir, args: ["--config", path.join(dir, "cvmd.toml")] });
  await d.start();
});
after(async () => { await d.stop(); d.cleanup(); });

test("signed calls work over https and fail over plain http", async () => {
  assert.equal(d.scheme, "https");
  const cvm = d.client("cvm", d.admin, { httpProfile: { protocol: "https://" } });
  const z = await cvm.DescribeZones({});
  assert.ok(z.TotalCount >= 1);
  await expectCode(d.client("cvm", { ...d.admin, secretKey: "wrong" },
                            { httpProfile: { protocol: "https://" } }).DescribeZones({}),
                   "AuthFailure.SignatureFailure");
  const plain = d.client("cvm");
  await assert.rejects(plain.DescribeZones({}));
});
