// Instances in integration tests run real QEMUs that outlive cvmd: every test file that makes
// some ends them all before it stops the daemon, whatever its tests did.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

// A public-images directory (for --public-images) under `work` holding one image `id` that boots
// nothing (an empty disk): what RunInstances needs to launch without a guest.
function emptyPublicImage(work, id) {
  const pub = path.join(work, "public");
  fs.mkdirSync(pub);
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path.join(pub, "empty.qcow2"), "1G"]);
  fs.writeFileSync(path.join(pub, "empty.json"), JSON.stringify({
    name: `Empty ${id}`, file: "empty.qcow2", image_id: id, platform: "TinyLinux",
    architecture: "x86_64", image_type: "PUBLIC_IMAGE", min_memory_mib: 64,
  }));
  return pub;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function terminateAll(cvm) {
  for (let i = 0; i < 600; i++) {
    const ids = (await cvm.DescribeInstances({ Limit: 100 })).InstanceSet
      .filter((x) => x.InstanceState !== "TERMINATING").map((x) => x.InstanceId);
    if (ids.length === 0) break;
    // A launch still under way refuses termination until it ends.
    await cvm.TerminateInstances({ InstanceIds: ids }).catch(() => {});
    await sleep(200);
  }
  for (let i = 0; i < 600; i++) {
    if ((await cvm.DescribeInstances({ Limit: 100 })).TotalCount === 0) return;
    await sleep(200);
  }
  throw new Error("instances were never terminated");
}

module.exports = { emptyPublicImage, terminateAll };
