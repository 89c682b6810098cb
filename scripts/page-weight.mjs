// Prints the page weight of dist/: what the browser downloads to open the
// page (index.html and the wasm, js and css beside it), each file raw and
// gzip-compressed (level 9), and the totals. Files in subfolders (labs
// fetched on demand) are listed apart: they are not part of the first load.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist");
const kb = (n) => (n / 1024).toFixed(1).padStart(8);
const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;

let raw = 0, zipped = 0, lazyRaw = 0, lazyZipped = 0, lazyCount = 0;
console.log(`${"raw KB".padStart(8)} ${"gzip KB".padStart(8)}  file`);
for (const f of fs.readdirSync(DIST).sort()) {
  const p = path.join(DIST, f);
  if (fs.statSync(p).isDirectory()) {
    for (const g of fs.readdirSync(p)) {
      const b = fs.readFileSync(path.join(p, g));
      lazyRaw += b.length;
      lazyZipped += gz(b);
      lazyCount++;
    }
    continue;
  }
  if (!/\.(wasm|js|css|html)$/.test(f)) continue;
  const b = fs.readFileSync(p);
  raw += b.length;
  zipped += gz(b);
  console.log(`${kb(b.length)} ${kb(gz(b))}  ${f}`);
}
console.log(`${kb(raw)} ${kb(zipped)}  page (html + wasm + js + css)`);
if (lazyCount) console.log(`${kb(lazyRaw)} ${kb(lazyZipped)}  ${lazyCount} files fetched on demand (not in the page)`);
