// What the browser tests share: the built playground (dist/) served on a
// local port, and headless Chromium launched as Debian's package runs as
// root. Not a test file itself (node --test picks only *.test.mjs).
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = path.join(ROOT, "dist");
export const ART = path.join(ROOT, "test-artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json" };

/// Serves dist/ (unknown paths get index.html) and launches Chromium.
export async function start() {
  assert.ok(fs.existsSync(path.join(DIST, "index.html")), "dist/ is missing: run trunk build --release first");
  fs.mkdirSync(ART, { recursive: true });
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split("?")[0].split("#")[0]);
    let file = path.join(DIST, url === "/" ? "index.html" : url);
    if (!file.startsWith(DIST) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(DIST, "index.html");
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  return { server, base, browser };
}

/// Closes what `start` opened.
export async function stop(server, browser) {
  await browser?.close();
  server?.close();
}
