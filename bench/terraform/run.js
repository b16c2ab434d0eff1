#!/usr/bin/env node
// Terraform against the cvm CLI: `terraform apply` and `terraform destroy` of main.tf (the
// README's example: a VPC, a subnet, a security group with its rules, a key pair and N
// instances of the tiny image) against the same resources created and deleted with the `cvm`
// CLI, on one throw-away cvmd in the same run. Prints both wall times and their ratio.
//
//   node bench/terraform/run.js BUILD_DIR [--count 10]
//
// Needs what tests/terraform needs: `terraform` on PATH and CVM_TERRAFORM_PROVIDER.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const args = process.argv.slice(2);
const count = args.includes("--count") ? Number(args[args.indexOf("--count") + 1]) : 10;
if (!args[0] || args[0].startsWith("--")) {
  console.error("usage: run.js BUILD_DIR [--count N]");
  process.exit(2);
}
process.env.CVM_BUILD_DIR = path.resolve(args[0]);
const L = require("../../tests/e2e/lib");
const TF = require("../../tests/terraform/lib");

const now = () => performance.now();
const secs = (ms) => (ms / 1000).toFixed(1) + " s";

// The CLI's answer (`cvm --output json ...`: JSON, or the plain lines some commands print);
// throws on failure.
function cli(d, argv) {
  const r = d.cli(["--output", "json", ...argv], { timeout: 600000 });
  if (r.code !== 0) throw new Error(`cvm ${argv.join(" ")}: ${r.stderr || r.stdout}`);
  return r.stdout.trim().startsWith("{") ? JSON.parse(r.stdout) : r.stdout;
}

// Every instance RUNNING, polled as Terraform's wait would ideally see it (DescribeInstances
// through the CLI, every 200 ms).
async function waitRunning(d, ids) {
  for (;;) {
    const set = cli(d, ["api", "DescribeInstances", "--json",
                        JSON.stringify({ InstanceIds: ids, Limit: 100 })]).InstanceSet;
    if (set.length === ids.length && set.every((i) => i.InstanceState === "RUNNING")) return;
    if (set.some((i) => i.InstanceState === "LAUNCH_FAILED")) throw new Error("launch failed");
    await L.sleep(200);
  }
}

// The example's resources through the CLI; returns what the deletion needs.
async function cliCreate(d, image, pub) {
  const vpc = cli(d, ["api", "CreateVpc", "--json", JSON.stringify({
    VpcName: "app", CidrBlock: "10.0.0.0/16", Tags: [{ Key: "app", Value: "demo" }] })])
    .Vpc.VpcId;
  const subnet = cli(d, ["subnet", "create", vpc, "--name", "web", "--cidr", "10.0.1.0/24",
                         "--zone", "ap-guangzhou-3"]).Subnet.SubnetId;
  const sg = cli(d, ["sg", "create", "web"]).SecurityGroup.SecurityGroupId;
  cli(d, ["sg", "rule", "add", sg, "--port", "22", "--source", "10.0.0.0/16"]);
  cli(d, ["sg", "rule", "add", sg, "--egress", "--protocol", "ALL", "--source", "0.0.0.0/0"]);
  const key = cli(d, ["api", "ImportKeyPair", "--json",
                      JSON.stringify({ KeyName: "me", ProjectId: 0, PublicKey: pub })]).KeyId;
  const ids = cli(d, ["api", "RunInstances", "--json", JSON.stringify({
    InstanceCount: count, InstanceName: "web", Placement: { Zone: "ap-guangzhou-3" },
    ImageId: image, InstanceType: "T1.NANO1", LoginSettings: { KeyIds: [key] },
    VirtualPrivateCloud: { VpcId: vpc, SubnetId: subnet }, SecurityGroupIds: [sg],
    TagSpecification: [{ ResourceType: "instance", Tags: [{ Key: "app", Value: "demo" }] }],
  })]).InstanceIdSet;
  await waitRunning(d, ids);
  return { vpc, subnet, sg, key, ids };
}

function cliDelete(d, r) {
  cli(d, ["rm", "--wait", ...r.ids]);
  cli(d, ["sg", "rm", r.sg]);
  cli(d, ["subnet", "rm", r.subnet]);
  cli(d, ["vpc", "rm", r.vpc]);
  cli(d, ["api", "DeleteKeyPairs", "--json", JSON.stringify({ KeyIds: [r.key] })]);
}

async function main() {
  TF.checkPrerequisites();
  // Ten 1-vCPU guests on a 2-core host: more than the default CPU overcommit admits.
  const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-tf-")), "cvmd.toml");
  fs.writeFileSync(config, "cpu_overcommit = 16.0\n");
  const d = await L.startDaemon({ args: ["--config", config],
                                  env: { OPENCVM_ACCEL: process.env.BENCH_ACCEL || "tcg" } });
  try {
    const cvm = d.client("cvm");
    const image = await L.tinyImageId(cvm);
    fs.mkdirSync(path.join(d.home, ".ssh"), { recursive: true });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f",
                                path.join(d.home, ".ssh/id_ed25519")]);
    const pub = fs.readFileSync(path.join(d.home, ".ssh/id_ed25519.pub"), "utf8").trim();

    const ws = TF.workspace(path.join(d.dir, "terraform"), path.join(__dirname, "main.tf"));
    const vars = { instance_count: count, domain: `${TF.DOMAIN}:${d.port}` };
    // BENCH_TF_LOG=FILE keeps the provider's debug log (every request, with its time).
    const opts = { log: !!process.env.BENCH_TF_LOG, env: { HOME: d.home, TENCENTCLOUD_SECRET_ID: d.admin.secretId,
                                      TENCENTCLOUD_SECRET_KEY: d.admin.secretKey } };
    const tf = async (argv) => {
      const t0 = now();
      const r = await TF.terraform(ws, argv, vars, opts);
      if (r.code !== 0) throw new Error(`terraform ${argv[0]}:\n${r.stdout.slice(-3000)}${r.stderr}`);
      return now() - t0;
    };
    await tf(["init", "-input=false"]);
    const tfApply = await tf(["apply", "-auto-approve", "-input=false"]);
    const running = (await cvm.DescribeInstances({ Limit: 100 })).InstanceSet
      .filter((i) => i.InstanceState === "RUNNING").length;
    if (running !== count) throw new Error(`${running} of ${count} instances RUNNING after apply`);
    const tfDestroy = await tf(["destroy", "-auto-approve", "-input=false"]);
    if (process.env.BENCH_TF_LOG) fs.copyFileSync(ws.log, process.env.BENCH_TF_LOG);

    let t0 = now();
    const made = await cliCreate(d, image, pub);
    const cliApply = now() - t0;
    t0 = now();
    cliDelete(d, made);
    const cliDestroy = now() - t0;

    const row = (what, tfMs, cliMs) =>
      console.log(`${what.padEnd(22)} terraform ${secs(tfMs).padStart(8)}   cvm CLI ` +
                  `${secs(cliMs).padStart(8)}   ratio ${(tfMs / cliMs).toFixed(2)}`);
    console.log(`${count} instances of the tiny image, ${process.env.BENCH_ACCEL || "tcg"}`);
    row("create (apply)", tfApply, cliApply);
    row("delete (destroy)", tfDestroy, cliDestroy);
    row("both", tfApply + tfDestroy, cliApply + cliDestroy);
  } finally {
    await d.stop();
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
    fs.rmSync(path.dirname(config), { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e.stack || e.message); process.exit(1); });
