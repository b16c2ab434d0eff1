// Key pairs and login settings through the official SDK, without VMs: what CreateKeyPair,
// ImportKeyPair, ModifyKeyPairAttribute and DeleteKeyPairs accept and refuse, and the
// login-setting rules RunInstances checks before anything is created.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");

let d, cvm;
before(async () => {
  d = new Daemon();
  await d.start();
  cvm = d.client("cvm");
});
after(async () => {
  await d.stop();
  d.cleanup();
});

function sshKeygen(type) {
  const f = path.join(d.dir, `k-${type}-${Date.now()}`);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "me@laptop", "-f", f]);
  return fs.readFileSync(f + ".pub", "utf8").trim();
}

test("CreateKeyPair answers a private key OpenSSH reads, and never shows it again", async () => {
  const kp = (await cvm.CreateKeyPair({ KeyName: "made_here", ProjectId: 0 })).KeyPair;
  assert.match(kp.KeyId, /^skey-[a-z0-9]{8}$/);
  assert.match(kp.PublicKey, /^ssh-rsa AAAA\S+ made_here$/);
  const f = path.join(d.dir, "made_here");
  fs.writeFileSync(f, kp.PrivateKey, { mode: 0o600 });
  const derived = execFileSync("ssh-keygen", ["-y", "-f", f]).toString().split(" ");
  assert.equal(derived[1], kp.PublicKey.split(" ")[1]);
  const listed = (await cvm.DescribeKeyPairs({ KeyIds: [kp.KeyId] })).KeyPairSet[0];
  assert.equal(listed.PrivateKey, undefined);
  assert.deepEqual(listed.AssociatedInstanceIds, []);
  await expectCode(cvm.CreateKeyPair({ KeyName: "made_here", ProjectId: 0 }),
                   "InvalidKeyPairName.Duplicate");
  await expectCode(cvm.CreateKeyPair({ KeyName: "bad-name", ProjectId: 0 }),
                   "InvalidKeyPairNameIncludeIllegalChar");
});

test("ImportKeyPair validates OpenSSH public keys and refuses duplicates", async () => {
  const ed = sshKeygen("ed25519");
  const id = (await cvm.ImportKeyPair({ KeyName: "imported", PublicKey: ed, ProjectId: 0 })).KeyId;
  const kp = (await cvm.DescribeKeyPairs({ KeyIds: [id] })).KeyPairSet[0];
  assert.equal(kp.PublicKey, ed);
  await cvm.ImportKeyPair({ KeyName: "imported_ecdsa", PublicKey: sshKeygen("ecdsa"),
                            ProjectId: 0 });
  await expectCode(cvm.ImportKeyPair({ KeyName: "again", PublicKey: ed.replace(/ \S+$/, " x"),
                                      ProjectId: 0 }), "InvalidPublicKey.Duplicate");
  for (const bad of ["", "ssh-ed25519", "ssh-ed25519 AAAA!!!!", `command="sh" ${ed}`,
                     `${ed}\n${ed}`, ed.replace("ssh-ed25519", "ssh-rsa"),
                     "-----BEGIN OPENSSH PRIVATE KEY-----"]) {
    await expectCode(cvm.ImportKeyPair({ KeyName: "bad", PublicKey: bad, ProjectId: 0 }),
                     "InvalidPublicKey.Malformed");
  }
});

test("ModifyKeyPairAttribute renames and describes; names stay unique", async () => {
  const a = (await cvm.CreateKeyPair({ KeyName: "mod_a", ProjectId: 0 })).KeyPair.KeyId;
  await cvm.CreateKeyPair({ KeyName: "mod_b", ProjectId: 0 });
  await cvm.ModifyKeyPairAttribute({ KeyId: a, KeyName: "mod_c", Description: "for tests" });
  const kp = (await cvm.DescribeKeyPairs({ KeyIds: [a] })).KeyPairSet[0];
  assert.equal(kp.KeyName, "mod_c");
  assert.equal(kp.Description, "for tests");
  await expectCode(cvm.ModifyKeyPairAttribute({ KeyId: a, KeyName: "mod_b" }),
                   "InvalidKeyPairName.Duplicate");
  await expectCode(cvm.ModifyKeyPairAttribute({ KeyId: a }), "MissingParameter");
  await expectCode(cvm.ModifyKeyPairAttribute({ KeyId: "skey-zzzzzzzz", KeyName: "x" }),
                   "InvalidKeyPairId.NotFound");
  await expectCode(cvm.ModifyKeyPairAttribute({ KeyId: "skey-1", KeyName: "x" }),
                   "InvalidKeyPairId.Malformed");
  const other = d.client("cvm", d.createAccount("kp-other"));
  await expectCode(other.ModifyKeyPairAttribute({ KeyId: a, KeyName: "stolen" }),
                   "InvalidKeyPairId.NotFound");
  await cvm.DeleteKeyPairs({ KeyIds: [a] });
  await expectCode(cvm.DeleteKeyPairs({ KeyIds: [a] }), "InvalidKeyPairId.NotFound");
});

test("passwords follow the Linux complexity rule; login actions check their instances", async () => {
  // Two character classes are not enough, nor a leading '/'.
  for (const pw of ["abcdefgh12", "ABCDEFGH!!", "/Abcdef12", "Ab1!",
                    "Abcdefgh1!Abcdefgh1!Abcdefgh1!x"]) {
    await expectCode(cvm.ResetInstancesPassword({ InstanceIds: ["ins-zzzzzzzz"], Password: pw }),
                     "InvalidPassword");
  }
  await expectCode(cvm.ResetInstancesPassword({ InstanceIds: ["ins-zzzzzzzz"],
                                                Password: "Abcdefg1" }),
                   "InvalidInstanceId.NotFound");
  await expectCode(cvm.AssociateInstancesKeyPairs({ InstanceIds: ["ins-zzzzzzzz"],
                                                    KeyIds: ["skey-zzzzzzzz"] }),
                   "InvalidInstanceId.NotFound");
});
