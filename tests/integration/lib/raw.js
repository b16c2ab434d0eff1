// Hand-made HTTP requests for the cases an SDK never sends (malformed JSON, oversize bodies,
// duplicate parameters, bytes that are not UTF-8), signed with TC3 written out here from the
// protocol description, independently of the daemon's C++ code.
"use strict";
const crypto = require("node:crypto");
const http = require("node:http");

const sha256hex = (b) => crypto.createHash("sha256").update(b).digest("hex");
const hmac = (k, s) => crypto.createHmac("sha256", k).update(s).digest();

function tc3Authorization({ secretId, secretKey, service, host, method, query, contentType,
                            body, timestamp }) {
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const canonical = [method, "/", query || "", `content-type:${contentType}\nhost:${host}\n`,
                     "content-type;host", sha256hex(body)].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const toSign = ["TC3-HMAC-SHA256", String(timestamp), scope, sha256hex(canonical)].join("\n");
  const kSigning = hmac(hmac(hmac("TC3" + secretKey, date), service), "tc3_request");
  const sig = crypto.createHmac("sha256", kSigning).update(toSign).digest("hex");
  return `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=content-type;host, ` +
         `Signature=${sig}`;
}

// Sends one request; `body` may be a Buffer. Returns {status, headers, json, text}.
function send({ endpoint, creds, action, version = "2017-03-12", region = "ap-guangzhou",
                method = "POST", query = "", body = "", contentType = "application/json",
                headers = {}, sign = true, service = "cvm", host = endpoint }) {
  const [hostname, port] = endpoint.split(":");
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const timestamp = Math.floor(Date.now() / 1000);
  const h = { "Content-Type": contentType, Host: host, "X-TC-Action": action,
              "X-TC-Version": version, "X-TC-Timestamp": String(timestamp), ...headers };
  if (region) h["X-TC-Region"] = region;
  if (sign) {
    h.Authorization = tc3Authorization({ ...creds, service, host, method, query,
                                         contentType, body: buf, timestamp });
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: "/" + (query ? "?" + query : ""),
                               headers: { ...h, "Content-Length": buf.length } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    req.on("error", reject);
    req.end(buf);
  });
}

module.exports = { send, tc3Authorization };
