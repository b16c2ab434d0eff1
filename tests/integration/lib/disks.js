// CreateDisks answers at once with the new ids; each disk appears (in DescribeDisks, and to
// every other action) once a worker has made its file, as on Tencent Cloud.
"use strict";

// The ids of `ids` DescribeDisks lists now.
async function listed(cbs, ids) {
  return (await cbs.DescribeDisks({ DiskIds: ids, Limit: 100 })).DiskSet.map((x) => x.DiskId);
}

// Waits until every disk of `ids` is listed; fails after `timeoutMs`.
async function disksAppear(cbs, ids, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await listed(cbs, ids);
    if (seen.length === ids.length) return;
    if (Date.now() > deadline) throw new Error(`disks ${ids} did not appear (seen: ${seen})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// CreateDisks with `params`, answered once its disks appear: the answer as CreateDisks gave it.
async function createDisks(cbs, params) {
  const answer = await cbs.CreateDisks(params);
  await disksAppear(cbs, answer.DiskIdSet);
  return answer;
}

module.exports = { createDisks, disksAppear, listed };
