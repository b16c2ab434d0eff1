// Compares what a call answers for a real id with what it answers for an id that never existed:
// a resource a caller may not reach must be indistinguishable from no resource at all.
"use strict";
const assert = require("node:assert/strict");

// What a call answers, without what differs between any two calls (RequestId, the id itself).
async function outcome(promise, id) {
  const scrub = (s) => s.split(id).join("<id>");
  try {
    const r = await promise;
    delete r.RequestId;
    return { ok: JSON.parse(scrub(JSON.stringify(r))) };
  } catch (e) {
    if (!e.code) throw e;
    return { code: e.code, message: scrub(e.message) };
  }
}

// `call(real)` answers exactly as `call(never)`.
async function answersAsUnknown(call, real, never, what = real) {
  const a = await outcome(call(real), real);
  const b = await outcome(call(never), never);
  assert.deepEqual(a, b, `${what} is answered differently from an id that never existed`);
}

module.exports = { outcome, answersAsUnknown };
