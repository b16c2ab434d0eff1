// A loopback HTTP server for ImportImage and ExportImages tests: serves files by path, slowly
// when asked (/slow/...), answers the hostile routes a download must survive (redirects out,
// stalls, early ends, junk), and takes PUT uploads: /put/<name> is stored in `putDir`,
// /put-fail/<name> is read whole and answered 500, /put-stall/<name> is never read nor answered.
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
    this.putDir = null;       // where /put/<name> uploads land
    this.slowRate = 1 << 20;  // bytes per second of /slow/<path>
    this.puts = [];           // every PUT's [url, status]
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
    res.on("error", () => {});
    req.on("error", () => {});
    if (req.method === "PUT") return this.put(req, res);
    if (p.startsWith("/slow/")) return this.slow(res, this.files[p.slice("/slow".length)]);
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

  put(req, res) {
    const p = req.url;
    const answer = (status) => {
      this.puts.push([p, status]);
      res.writeHead(status);
      res.end();
    };
    if (p.startsWith("/put-stall/")) return req.pause();  // takes nothing, answers nothing
    if (p.startsWith("/put-fail/")) {
      req.resume();
      return req.on("end", () => answer(500));
    }
    if (!p.startsWith("/put/") || !this.putDir) {
      req.resume();
      return req.on("end", () => answer(404));
    }
    const out = fs.createWriteStream(path.join(this.putDir, path.basename(p)));
    req.pipe(out);
    out.on("finish", () => answer(201));
  }

  // `file` sent at `slowRate` bytes per second (read each tick, so a test may change the rate).
  slow(res, file) {
    if (!file) {
      res.writeHead(404);
      return res.end();
    }
    const data = fs.readFileSync(file);
    res.writeHead(200, { "Content-Length": String(data.length) });
    let at = 0;
    const tick = () => {
      if (res.destroyed) return;
      const n = Math.max(1, Math.floor(this.slowRate / 10));
      res.write(data.subarray(at, at + n));
      at += n;
      if (at >= data.length) return res.end();
      setTimeout(tick, 100);
    };
    tick();
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
