// A loopback HTTP server for ImportImage tests: serves files by path and answers the hostile
// routes a download must survive (redirects out, stalls, early ends, junk).
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

class ImageServer {
  // `files`: URL path -> local file.
  constructor(files = {}) {
    this.files = { ...files };
    this.sockets = new Set();
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  async start() {
    await new Promise((r) => this.server.listen(0, "127.0.0.1", r));
    this.base = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  url(p) { return `${this.base}${p}`; }

  handle(req, res) {
    const p = req.url;
    if (p === "/redirect-file") {
      res.writeHead(302, { Location: "file:///etc/passwd" });
      return res.end();
    }
    if (p === "/redirect-host") {
      // Not loopback: the download must refuse it without connecting.
      res.writeHead(302, { Location: "http://images.example.invalid/tiny.qcow2" });
      return res.end();
    }
    if (p.startsWith("/redirect-to/")) {
      res.writeHead(301, { Location: p.slice("/redirect-to".length) });
      return res.end();
    }
    if (p === "/stall") {
      // Promises 64 MiB, sends a little, then nothing while the connection stays open.
      res.writeHead(200, { "Content-Length": String(64 << 20) });
      return res.write(Buffer.alloc(4096));
    }
    if (p === "/short") {
      // Promises more than it sends, then closes.
      res.writeHead(200, { "Content-Length": String(8 << 20) });
      res.write(Buffer.alloc(1 << 20));
      return setTimeout(() => req.socket.destroy(), 50);
    }
    const file = this.files[p];
    if (!file) {
      res.writeHead(404);
      return res.end("not found\n");
    }
    res.writeHead(200, { "Content-Length": String(fs.statSync(file).size) });
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

// The tiny public image converted into `dir` once per format (qcow2, raw, vmdk, vpc, vhdx).
function tinyIn(dir, format) {
  const source = path.join(process.env.CVM_PUBLIC_IMAGES || "/var/cache/opencvm/public-images",
                           "tiny-linux.qcow2");
  const out = path.join(dir, `tiny.${format}`);
  if (!fs.existsSync(out)) execFileSync("qemu-img", ["convert", "-O", format, source, out]);
  return out;
}

module.exports = { ImageServer, tinyIn };
