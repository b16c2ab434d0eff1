// Login control on a real guest (TCG): key pairs created and imported through the API, bound to
// a running instance with ForceStop, a password reset, unbinding on a stopped instance, and no
// secret left in plaintext anywhere cvmd writes; then, on the same guest told to ignore the ACPI
// power button, the SOFT and SOFT_FIRST stop types. One guest serves every case, in order.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const L = require("./lib");

const FIRST_PASSWORD = "Login-e2e-First1";
const SECOND_PASSWORD = "Login-e2e-Second2";
let d, cvm, id, created, createdKeyFile, other, otherKeyId, secrets;
// Keys live outside the daemon's directory, so the plaintext grep below cannot find them there.
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "opencvm-login-keys-"));

async function settled(states) {
  const r = await L.waitState(cvm, [id], states);
  assert.equal(r[id].LatestOperationState, "SUCCESS", r[id].LatestOperationErrorMsg);
  return r[id];
}

before(async () => {
  // Ed25519 key pairs (RSA, the default, is covered by the integration tests); a short soft-stop
  // timeout for the ACPI cases.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cvmd-e2e-login-"));
  fs.writeFileSync(path.join(dir, "cvmd.toml"), 'key_pair_type = "ed25519"\nsoft_stop_timeout = 5\n');
  d = await L.startDaemon({ dir, args: ["--config", path.join(dir, "cvmd.toml")] });
  cvm = d.client("cvm");
  const image = await L.tinyImageId(cvm);
  const kp = (await cvm.CreateKeyPair({ KeyName: "login_created", ProjectId: 0 })).KeyPair;
  created = kp;
  createdKeyFile = path.join(keyDir, "created");
  fs.writeFileSync(createdKeyFile, kp.PrivateKey, { mode: 0o600 });
  other = L.makeKey(keyDir);
  otherKeyId = (await cvm.ImportKeyPair({ KeyName: "login_other", PublicKey: other.pub,
                                          ProjectId: 0 })).KeyId;
  const r = await cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                                     InstanceType: "T1.NANO1", InstanceName: "login",
                                     LoginSettings: { Password: FIRST_PASSWORD } });
  id = r.InstanceIdSet[0];
  await L.waitState(cvm, [id], "RUNNING");
  // Lines of the private key that must never appear in cvmd's files.
  secrets = [FIRST_PASSWORD, SECOND_PASSWORD,
             ...kp.PrivateKey.split("\n").filter((l) => l.length > 40).slice(1, 3)];
});

after(async () => {
  try {
    await L.terminateThenStop(d, cvm, [id]);
  } finally {
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-e2e-login.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
    fs.rmSync(keyDir, { recursive: true, force: true });
  }
});

test("CreateKeyPair returns an OpenSSH private key once; the password works before any key",
     async () => {
  const inst0 = (await cvm.DescribeInstances({ InstanceIds: [id] })).InstanceSet[0];
  assert.match(created.PrivateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
  assert.match(created.PublicKey, /^ssh-ed25519 /);
  const pub = execFileSync("ssh-keygen", ["-y", "-f", createdKeyFile]).toString().trim();
  assert.equal(pub.split(" ").slice(0, 2).join(" "),
               created.PublicKey.split(" ").slice(0, 2).join(" "));
  const listed = await cvm.DescribeKeyPairs({ KeyIds: [created.KeyId] });
  assert.equal(listed.KeyPairSet[0].PrivateKey, undefined);
  assert.equal((await L.ssh(d, id, "echo ok", { password: FIRST_PASSWORD })).trim(), "ok");
  assert.notEqual(L.sshOnce(d, id, "true", { key: createdKeyFile }).status, 0);
  await L.expectCode(cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" },
                                        ImageId: inst0.ImageId, InstanceType: "T1.NANO1",
                                        DryRun: true,
                                        LoginSettings: { KeyIds: [created.KeyId],
                                                         KeepImageLogin: "true" } }),
                     "InvalidParameter.ParameterConflict");
});

test("AssociateInstancesKeyPairs with ForceStop: the key works, another does not, nor the " +
     "password; the instance runs again", async () => {
  await L.expectCode(cvm.AssociateInstancesKeyPairs({ InstanceIds: [id], KeyIds: [created.KeyId] }),
                     "UnsupportedOperation.InstanceStateRunning");
  await cvm.AssociateInstancesKeyPairs({ InstanceIds: [id], KeyIds: [created.KeyId],
                                         ForceStop: true });
  const inst = await settled("RUNNING");
  assert.equal(inst.LatestOperation, "AssociateInstancesKeyPairs");
  assert.deepEqual(inst.LoginSettings.KeyIds, [created.KeyId]);
  assert.equal((await L.ssh(d, id, "echo ok", { key: createdKeyFile })).trim(), "ok");
  assert.notEqual(L.sshOnce(d, id, "true", { key: other.key }).status, 0);
  assert.notEqual(L.sshOnce(d, id, "true", { password: FIRST_PASSWORD }).status, 0);

  const kp = (await cvm.DescribeKeyPairs({ KeyIds: [created.KeyId] })).KeyPairSet[0];
  assert.deepEqual(kp.AssociatedInstanceIds, [id]);
  await L.expectCode(cvm.DeleteKeyPairs({ KeyIds: [created.KeyId] }),
                     "InvalidParameterValue.KeyPairNotSupported");
});

test("ResetInstancesPassword with ForceStop: the new password works, the old one does not",
     async () => {
  await L.expectCode(cvm.ResetInstancesPassword({ InstanceIds: [id], Password: "abcdefgh1",
                                                  ForceStop: true }), "InvalidPassword");
  // (Without ForceStop a running instance whose guest agent answers takes the password at
  // once: tat.test.js.)
  await cvm.ResetInstancesPassword({ InstanceIds: [id], Password: SECOND_PASSWORD,
                                     ForceStop: true });
  await settled("RUNNING");
  assert.equal((await L.ssh(d, id, "echo ok", { password: SECOND_PASSWORD })).trim(), "ok");
  assert.notEqual(L.sshOnce(d, id, "true", { password: FIRST_PASSWORD }).status, 0);
  assert.equal(L.sshOnce(d, id, "echo ok", { key: createdKeyFile }).status, 0);
});

test("DisassociateInstancesKeyPairs on a stopped instance takes the key away at the next start",
     async () => {
  await cvm.StopInstances({ InstanceIds: [id], StopType: "HARD" });
  await settled("STOPPED");
  await cvm.DisassociateInstancesKeyPairs({ InstanceIds: [id], KeyIds: [created.KeyId] });
  const stopped = await settled("STOPPED");
  assert.deepEqual(stopped.LoginSettings.KeyIds, []);
  await cvm.StartInstances({ InstanceIds: [id] });
  await settled("RUNNING");
  assert.equal((await L.ssh(d, id, "echo ok", { password: SECOND_PASSWORD })).trim(), "ok");
  assert.notEqual(L.sshOnce(d, id, "true", { key: createdKeyFile }).status, 0);
  await cvm.DeleteKeyPairs({ KeyIds: [created.KeyId] });  // unbound now
});

test("no password or private key in plaintext in the data directory or the daemon log", () => {
  for (const s of secrets) {
    const r = spawnSync("grep", ["-r", "-a", "-l", "-F", "--", s, d.dir], { encoding: "utf8" });
    assert.equal(r.stdout, "", `"${s.slice(0, 8)}..." found in ${r.stdout}`);
    assert.ok(!d.log.includes(s));
  }
});

test("a guest that ignores the power button: SOFT fails and keeps it running, SOFT_FIRST forces " +
     "it off after the timeout", async () => {
  await L.ssh(d, id, "killall acpid", { password: SECOND_PASSWORD });
  const before = await L.uptime(d, id, { password: SECOND_PASSWORD });
  await cvm.StopInstances({ InstanceIds: [id], StopType: "SOFT" });
  const r = await L.waitState(cvm, [id], "RUNNING");
  assert.equal(r[id].LatestOperationState, "FAILED");
  assert.match(r[id].LatestOperationErrorMsg, /did not shut down/);
  assert.ok(await L.uptime(d, id, { password: SECOND_PASSWORD }) > before, "not restarted");

  await cvm.StopInstances({ InstanceIds: [id], StopType: "SOFT_FIRST" });
  await settled("STOPPED");
  assert.match(d.log, /ignored the power button; forcing it off/);
});
