// Checks an answer against the embedded Tencent description: every member of every standard
// structure must be one the description lists (the official SDKs warn on any other).
"use strict";
const path = require("node:path");
const schema = require(path.resolve(__dirname, "../../../src/api/schema/tencent_api_schema.json"));

// The paths of members `answer` (the SDK's Response of `action` in `service`) carries that the
// description does not list.
function undescribedMembers(service, action, answer) {
  const objects = schema.services[service].objects;
  const found = [];
  const walk = (type, value, where) => {
    const members = objects[type];
    if (!members || value === null || typeof value !== "object") return;
    const byName = Object.fromEntries(members.map((m) => [m.name, m]));
    for (const [k, v] of Object.entries(value)) {
      const m = byName[k];
      if (!m) { found.push(`${where}.${k}`); continue; }
      if (m.type === "object") walk(m.member, v, `${where}.${k}`);
      if (m.type === "list" && Array.isArray(v)) {
        v.forEach((x, i) => walk(m.member, x, `${where}.${k}[${i}]`));
      }
    }
  };
  walk(schema.services[service].actions[action].output, answer, action);
  return found;
}

module.exports = { undescribedMembers };
