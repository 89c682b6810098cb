// trunk post-build hook: moves code the page needs only when a feature is
// first used out of the page's wasm into lazy/<name>_lazy.wasm, which the
// page fetches on the first call into it: the network programs (ping, nc,
// curl, wget, hping3, nmap, tcpdump, dmesg, conntrack, ss, netstat, dig,
// getent, ip, sysctl), the ipset, nfacct, iptables-save/-restore, explain
// and lint commands, lab checks, share links, pcap export, the lab editor
// and the extensions few rules use. Everything only those entry points
// reach moves with them; what any other part of the page reaches stays.
// trunk leaves wasm-opt to this hook (see index.html): it splits
// wasm-bindgen's output (which has names) and then optimizes each part.
//
// Tools: binaryen's wasm-split (Debian's binaryen package; the npm binaryen
// does not ship it) and the npm binaryen's wasm-dis, wasm-as and wasm-opt.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules/.bin");
const STAGING = process.env.TRUNK_STAGING_DIR;
const LAZY_DIR = "lazy";

// The entry points, each `#[inline(never)]` in the source.
const ENTRIES = [
  "engine::sim::tools::ping::run",
  "engine::sim::tools::nc::run",
  "engine::sim::tools::http::curl",
  "engine::sim::tools::http::wget",
  "engine::sim::tools::hping::run",
  "engine::sim::tools::nmap::run",
  "engine::sim::tools::tcpdump::run",
  "engine::sim::tools::dmesg::run",
  "engine::sim::tools::conntrack::run",
  "engine::sim::tools::ss::ss",
  "engine::sim::tools::ss::netstat",
  "engine::sim::tools::dns::dig",
  "engine::sim::tools::dns::getent",
  "engine::sim::tools::ip::run",
  "engine::sim::tools::sysctl::run",
  "engine::ipset::cmd::run",
  "engine::nfacct::run_stdin",
  "engine::iptables::save_cmd::run_save",
  "engine::iptables::restore::run_restore",
  "engine::lint::cmd::run",
  "engine::lab::checks::evaluate",
  "playground::share::decode",
  "playground::adapter::pcap",
];
// Extensions (engine/src/ext/) beyond the common rules' (tcp, udp, icmp,
// comment, multiport, conntrack, state, mark, set; LOG, REJECT, DNAT, SNAT,
// MASQUERADE): their functions move when only their rules' trait objects
// reach them (what kept code calls directly stays).
const RARE_EXTENSIONS = [
  "addrtype", "ah", "audit", "bpf", "cgroup", "checksum", "classify", "cluster", "connbytes", "connlabel",
  "connlimit", "connmark", "connmark_target", "connsecmark", "cpu", "ct", "dccp", "dscp", "dscp_target", "ecn",
  "ecn_target", "esp", "hashlimit", "helper", "hmark", "idletimer", "ipcomp", "iprange", "ipvs", "led",
  "length", "limit", "mac", "mark_target", "netmap", "nfacct", "nflog", "nfqueue", "notrack", "osf", "owner",
  "physdev", "pkttype", "policy", "queue", "quota", "rateest", "rateest_target", "realm", "recent", "redirect",
  "rpfilter", "sctp", "secmark", "set_target", "socket", "statistic", "string", "synproxy", "tcpmss",
  "tcpmss_target", "tcpoptstrip", "tee", "time", "tos", "tos_target", "tproxy", "trace", "ttl", "ttl_target",
  "u32",
];
// These and the lab editor (mounted when first opened) move likewise: their
// own functions and trait impls, not generic code named after them (the
// compiler may have folded that with other types' copies).
const LAZY_TYPES = new RegExp(
  `^<?(?:engine::ext::(?:${RARE_EXTENSIONS.join("|")})::|playground::ui::teach::LabEditor\\b)`,
);
const isEntry = (name) => ENTRIES.includes(name.replace(/::h[0-9a-f]{16}$/, ""));
// wasm-split 108 reads these; Rust's wasm uses no others.
const FEATURES = [
  "--mvp-features",
  "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int",
  "--enable-sign-ext",
  "--enable-mutable-globals",
  "--enable-reference-types",
  "--enable-multivalue",
];

function fail(msg) {
  console.error(`split-wasm: ${msg}`);
  process.exit(1);
}

function run(cmd, args) {
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"] });
}

function findWasmSplit() {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const p = path.join(dir, "wasm-split");
    if (dir && fs.existsSync(p)) return p;
  }
  fail("wasm-split not found (Debian: apt-get install binaryen)");
}

// A `$name` in binaryen's text: plain, or quoted with backslash escapes.
const NAME = /\$(?:"((?:[^"\\]|\\.)*)"|([^\s()]+))/g;
const unquote = (m) =>
  m[1] === undefined
    ? m[2]
    : m[1].replace(/\\(?:([0-9a-fA-F]{2})|(.))/g, (_, hex, c) =>
        hex ? String.fromCharCode(parseInt(hex, 16)) : c === "n" ? "\n" : c === "t" ? "\t" : c,
      );

// Functions, what each refers to, the roots (exports, start) and the
// functions in the table (reached by indirect calls: trait objects, closures).
function callGraph(wat) {
  const funcs = new Map();
  const roots = new Set();
  const table = new Set();
  let current = null;
  for (const line of wat.split("\n")) {
    if (line.startsWith(" (func ")) {
      NAME.lastIndex = 0;
      const m = NAME.exec(line);
      current = new Set();
      funcs.set(unquote(m), current);
      continue;
    }
    if (line.startsWith(" (import ")) {
      current = null;
      continue;
    }
    if (line.startsWith(" (elem ") || line.startsWith(" (export ") || line.startsWith(" (start ")) {
      current = null;
      const into = line.startsWith(" (elem ") ? table : roots;
      for (const m of line.matchAll(NAME)) into.add(unquote(m));
      continue;
    }
    if (current && /\((?:call|return_call|ref\.func) \$/.test(line)) {
      for (const m of line.matchAll(/\((?:call|return_call|ref\.func) (\$(?:"(?:[^"\\]|\\.)*"|[^\s()]+))/g)) {
        NAME.lastIndex = 0;
        current.add(unquote(NAME.exec(m[1])));
      }
    }
  }
  return { funcs, roots, table };
}

// wasm-split 108 reads a name with any character outside the text format's
// identifier characters with every such byte written as \xx.
const ID_CHAR = /[0-9A-Za-z!#$%&'*+\-./:<=>?@^_`|~]/;
function escape108(name) {
  const bytes = Buffer.from(name, "utf8");
  if ([...bytes].every((b) => b < 128 && ID_CHAR.test(String.fromCharCode(b)))) return name;
  let out = "";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += b < 128 && ID_CHAR.test(c) ? c : "\\" + b.toString(16).padStart(2, "0");
  }
  return out;
}

// Functions reached only through an entry point or the table (a moved
// extension's trait objects).
function lazyFunctions({ funcs, roots, table }) {
  const found = new Set([...funcs.keys()].filter(isEntry).map((f) => f.replace(/::h[0-9a-f]{16}$/, "")));
  const missing = ENTRIES.filter((e) => !found.has(e));
  if (missing.length) fail(`entry points not found (inlined, renamed or names stripped?): ${missing.join(", ")}`);
  const kept = new Set();
  // In the table, a trait's default method for a moved type has a name
  // without the type: it is one that calls the type's own functions.
  const moved = (f) => LAZY_TYPES.test(f) || [...funcs.get(f)].some((g) => LAZY_TYPES.test(g));
  const todo = [
    ...[...roots].filter((f) => funcs.has(f)),
    ...[...table].filter((f) => funcs.has(f) && !isEntry(f) && !moved(f)),
  ];
  while (todo.length) {
    const f = todo.pop();
    if (kept.has(f)) continue;
    kept.add(f);
    for (const g of funcs.get(f)) if (funcs.has(g) && !kept.has(g) && !isEntry(g)) todo.push(g);
  }
  return [...funcs.keys()].filter((f) => !kept.has(f));
}

// The loader the page's JS gets: placeholders for the moved functions that
// fetch and instantiate the second module on first call, then call on.
function loader(lazyUrl) {
  return `
// Functions moved to ${lazyUrl} by scripts/split-wasm.mjs, fetched on first use.
let __lazyLoaded = false;
function __lazyLoad() {
    if (__lazyLoaded) return;
    const xhr = new XMLHttpRequest();
    try {
        xhr.open("GET", new URL(${JSON.stringify(lazyUrl)}, import.meta.url), false);
        xhr.overrideMimeType("text/plain; charset=x-user-defined");
        xhr.send();
    } catch (e) {
        __lazyFailed(String(e));
    }
    if (xhr.status !== 200) __lazyFailed(\`HTTP \${xhr.status}\`);
    const text = xhr.responseText;
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    new WebAssembly.Instance(new WebAssembly.Module(bytes), { primary: wasm });
    __lazyLoaded = true;
}
// The call that needed the module cannot go on, and the page's state is
// left midway: say so where it shows, then stop the call.
function __lazyFailed(why) {
    const box = document.createElement("div");
    box.className = "lazy-failed";
    box.setAttribute("role", "alert");
    box.setAttribute("data-testid", "lazy-failed");
    box.textContent = \`This part of the playground could not be fetched (\${why}). Reload the page to use it.\`;
    document.body.prepend(box);
    throw new Error(\`${lazyUrl} could not be fetched: \${why}\`);
}
function __lazyPlaceholders() {
    return new Proxy({}, {
        get: (_, slot) => (...args) => {
            __lazyLoad();
            return wasm["%table"].get(Number(slot))(...args);
        },
    });
}
`;
}

function sri(file) {
  return "sha384-" + crypto.createHash("sha384").update(fs.readFileSync(file)).digest("base64");
}

if (!STAGING) fail("TRUNK_STAGING_DIR is not set (run by trunk as a post_build hook)");
const wasmName = fs.readdirSync(STAGING).find((f) => f.endsWith("_bg.wasm"));
if (!wasmName) fail(`no *_bg.wasm in ${STAGING}`);
const jsName = wasmName.replace(/_bg\.wasm$/, ".js");
const wasmPath = path.join(STAGING, wasmName);
const jsPath = path.join(STAGING, jsName);
const lazyName = `${LAZY_DIR}/${wasmName.replace(/_bg\.wasm$/, "_lazy.wasm")}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "split-wasm-"));
try {
  // Split before optimizing: wasm-opt would inline entry points and fold
  // identical functions of a moved and a kept extension into one.
  run(path.join(BIN, "wasm-dis"), [wasmPath, "-o", path.join(tmp, "in.wat")]);
  let wat = fs.readFileSync(path.join(tmp, "in.wat"), "utf8");
  // wasm-split 108 does not read table.fill; wasm-bindgen fills one slot.
  wat = wat.replace(
    /\(table\.fill (\$\S+)\s*\(local\.get (\$\S+)\)\s*\((ref\.null \w+)\)\s*\(i32\.const 1\)\s*\)/g,
    "(table.set $1 (local.get $2) ($3))",
  );
  if (wat.includes("(table.fill ")) fail("a table.fill wasm-split 108 cannot read");
  const lazy = lazyFunctions(callGraph(wat));
  fs.writeFileSync(path.join(tmp, "in.wat"), wat);
  fs.writeFileSync(path.join(tmp, "lazy.txt"), lazy.map(escape108).join("\n") + "\n");
  run(path.join(BIN, "wasm-as"), [path.join(tmp, "in.wat"), "-g", ...FEATURES, "-o", path.join(tmp, "in.wasm")]);
  run(findWasmSplit(), [
    path.join(tmp, "in.wasm"),
    `--split-funcs=@${path.join(tmp, "lazy.txt")}`,
    "--export-prefix=%",
    "--placeholdermap",
    "-o1", path.join(tmp, "primary.wasm"),
    "-o2", path.join(tmp, "secondary.wasm"),
    ...FEATURES,
  ]);
  fs.mkdirSync(path.join(STAGING, LAZY_DIR), { recursive: true });
  // wasm-split 108 writes the export of wasm-bindgen's externref table as
  // the function table's; the second module imports it by that name too.
  run(path.join(BIN, "wasm-dis"), [path.join(tmp, "primary.wasm"), "-o", path.join(tmp, "primary.wat")]);
  let primary = fs.readFileSync(path.join(tmp, "primary.wat"), "utf8");
  const externrefs = /^ \(table (\$\S+) \d+(?: \d+)? externref\)$/m.exec(primary);
  const exported = /^ \(export "__wbindgen_externrefs" \(table \$\S+\)\)$/m;
  if (!externrefs || !exported.test(primary)) fail("wasm-bindgen's externref table not found");
  primary = primary.replace(exported, ` (export "__wbindgen_externrefs" (table ${externrefs[1]}))`);
  fs.writeFileSync(path.join(tmp, "primary.wat"), primary);
  for (const [from, to] of [["primary.wat", wasmPath], ["secondary.wasm", path.join(STAGING, lazyName)]]) {
    run(path.join(BIN, "wasm-opt"), [path.join(tmp, from), "-Oz", "--strip-debug", "--strip-producers", ...FEATURES, "-o", to]);
  }
  let js = fs.readFileSync(jsPath, "utf8");
  const importsAt = '"./playground_bg.js": import0,';
  if (!js.includes(importsAt)) fail(`${jsName}: the imports object was not found`);
  js = js.replace(importsAt, `${importsAt}\n        "placeholder": __lazyPlaceholders(),`) + loader(lazyName);
  fs.writeFileSync(jsPath, js);
  // index.html names both files with their hashes (subresource integrity).
  const htmlPath = path.join(STAGING, "index.html");
  let html = fs.readFileSync(htmlPath, "utf8");
  for (const [name, file] of [[jsName, jsPath], [wasmName, wasmPath]]) {
    const re = new RegExp(`(href="/${name.replace(/\./g, "\\.")}"[^>]*integrity=")[^"]*"`);
    if (!re.test(html)) fail(`index.html: no integrity for ${name}`);
    html = html.replace(re, `$1${sri(file)}"`);
  }
  fs.writeFileSync(htmlPath, html);
  // SPLIT_WASM_KEEP=DIR keeps the named modules, the list of moved functions
  // and which function each placeholder slot stands for (for twiggy).
  if (process.env.SPLIT_WASM_KEEP) fs.cpSync(tmp, process.env.SPLIT_WASM_KEEP, { recursive: true });
  console.error(`split-wasm: ${lazy.length} functions moved to ${lazyName}`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
