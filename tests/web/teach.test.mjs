// End-to-end test of teaching in the built playground (dist/) in headless
// Chromium: a teacher's lab link with steps and checks opens with its checks
// failing; following the steps (command chips typed into the terminal, then
// Enter) turns them green; the lab editor changes the lab, applies it and
// adds a check. Screenshots go to test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { ROOT, DIST, ART, start, stop } from "./harness.mjs";

let server, base, browser;

before(async () => {
  ({ server, base, browser } = await start());
});

after(async () => {
  await stop(server, browser);
});

async function fresh(url = base) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']");
  return { ctx, page, errors };
}

const shot = (page, name) => page.screenshot({ path: path.join(ART, `${name}.png`) });

// A share link as the playground makes it: #s1. + base64url(raw DEFLATE(JSON)).
function shareLink(lab, actions = []) {
  const saved = { v: 1, lab: JSON.stringify(lab, null, 2), actions, host: "" };
  return base + "#s1." + zlib.deflateRawSync(Buffer.from(JSON.stringify(saved))).toString("base64url");
}

const LAB = {
  version: 1,
  name: "Close SSH on the firewall",
  intro: "The firewall `fw` offers SSH to the `client`.\n\nClose it, and make DROP the INPUT policy.",
  links: [{ name: "lan" }],
  hosts: [
    { name: "client", interfaces: [{ name: "eth0", address: "10.0.0.10/24", link: "lan" }] },
    { name: "fw", interfaces: [{ name: "eth0", address: "10.0.0.1/24", link: "lan" }],
      services: [{ proto: "tcp", port: 22, service: "ssh" }] },
  ],
  steps: [
    { title: "Drop SSH", text: "Append a rule that drops `tcp` to port 22.", host: "fw",
      commands: ["iptables -A INPUT -p tcp --dport 22 -j DROP"], look: "The rule in the rules view." },
    { title: "DROP policy", text: "Everything else is dropped too.", host: "fw",
      commands: ["iptables -P INPUT DROP", "iptables -S INPUT"], look: "`-P INPUT DROP` first." },
  ],
  checks: [
    { id: "ssh", title: "SSH from client to fw is dropped", hint: "A DROP rule for `--dport 22`.",
      reach: { from: "client", to: "fw", proto: "tcp", port: 22, expect: "dropped" } },
    { id: "pol", title: "INPUT policy is DROP", hint: "`iptables -P INPUT DROP`",
      policy: { host: "fw", table: "filter", chain: "INPUT", is: "DROP" } },
  ],
};

async function checkStates(page) {
  return page.$$eval("[data-check]", (els) => Object.fromEntries(els.map((e) => [e.dataset.check, e.dataset.pass === "true"])));
}

async function enter(page) {
  const before = await page.getAttribute("body", "data-tick");
  await page.press("[data-testid=cmd]", "Enter");
  await page.waitForFunction((t) => document.body.dataset.tick !== t, before);
}

test("a lab link with checks: they fail, the steps are followed, they pass", async () => {
  const { ctx, page, errors } = await fresh(shareLink(LAB));
  assert.equal(await page.textContent("[data-testid=lab-name]"), LAB.name);
  // The guide: intro with code, numbered steps, chips.
  const guide = await page.textContent("[data-testid=guide]");
  assert.match(guide, /Lab guide \(2 steps\)/);
  assert.match(guide, /Close it, and make DROP the INPUT policy/);
  assert.equal(await page.locator("[data-testid=guide] .intro code").count(), 2);
  // Every check fails at the start, with its detail and hint.
  assert.deepEqual(await checkStates(page), { ssh: false, pol: false });
  assert.equal(await page.textContent("[data-testid=checks-summary]"), "0/2 checks pass");
  assert.match(await page.textContent("[data-check=pol]"), /Hint: iptables -P INPUT DROP/);
  assert.equal(await page.locator("[data-testid=all-pass]").count(), 0);
  await shot(page, "20-lab-checks-failing");

  // Step 1: the chip types the command into fw's terminal (it does not run it).
  await page.click("[data-step='1'] [data-testid=chip]");
  assert.equal(await page.inputValue("[data-testid=cmd]"), LAB.steps[0].commands[0]);
  assert.match(await page.textContent(".prompt"), /root@fw/);
  assert.deepEqual(await checkStates(page), { ssh: false, pol: false });
  await enter(page);
  assert.deepEqual(await checkStates(page), { ssh: true, pol: false });
  assert.equal(await page.textContent("[data-testid=checks-summary]"), "1/2 checks pass");

  // Step 2: open it, type both commands.
  await page.click("[data-step='2'] summary");
  for (let i = 0; i < 2; i++) {
    await page.locator("[data-step='2'] [data-testid=chip]").nth(i).click();
    await enter(page);
  }
  assert.match(await page.textContent("[data-testid=screen]"), /-P INPUT DROP/);
  assert.deepEqual(await checkStates(page), { ssh: true, pol: true });
  assert.equal(await page.textContent("[data-testid=checks-summary]"), "All 2 checks pass");
  assert.match(await page.textContent("[data-testid=all-pass]"), /Every check passes/);
  assert.match(await page.textContent("[data-testid=notice]"), /this lab is solved/);
  await shot(page, "21-lab-checks-passing");

  // The student's link proves it on a fresh page.
  await page.click("[data-testid=share]");
  const url = await page.inputValue("[data-testid=share-url]");
  await ctx.close();
  const other = await fresh(url);
  assert.deepEqual(await checkStates(other.page), { ssh: true, pol: true });
  await other.ctx.close();
  assert.deepEqual(errors, []);
});

test("lab editor: change the JSON, apply, add a check and a step, share", async () => {
  const { ctx, page, errors } = await fresh(shareLink(LAB));
  await page.click("[data-testid=edit-lab]");
  const json = await page.inputValue("[data-testid=lab-json]");
  assert.equal(JSON.parse(json).name, LAB.name);
  assert.match(await page.textContent("[data-testid=lab-validation]"), /valid lab: 2 hosts, 2 steps, 2 checks/);
  // A broken edit says why and cannot be applied.
  await page.fill("[data-testid=lab-json]", json.replace('"fw"', '"fw', 1));
  assert.match(await page.textContent("[data-testid=lab-validation]"), /✗/);
  assert.ok(await page.isDisabled("[data-testid=lab-apply]"));
  // A check on a host the lab lacks is refused by the lab parser.
  const bad = JSON.parse(json);
  bad.checks[1].policy.host = "nowhere";
  await page.fill("[data-testid=lab-json]", JSON.stringify(bad, null, 2));
  assert.match(await page.textContent("[data-testid=lab-validation]"), /nowhere/);
  // A good edit: a new name, one check fewer; Apply starts it.
  const lab = JSON.parse(json);
  lab.name = "Close SSH, edited";
  lab.checks = lab.checks.slice(1);
  await page.fill("[data-testid=lab-json]", JSON.stringify(lab, null, 2));
  assert.match(await page.textContent("[data-testid=lab-validation]"), /2 steps, 1 check\b/);
  await page.click("[data-testid=lab-apply]");
  await page.waitForFunction(() => document.querySelector("[data-testid=lab-name]").textContent === "Close SSH, edited");
  assert.deepEqual(await checkStates(page), { pol: false });

  // Add a check with the form: INPUT policy of fw is ACCEPT (true right now).
  await page.click("text=Add a check");
  await page.selectOption("[data-testid=check-kind]", "policy");
  await page.fill("[data-testid=check-title]", "INPUT still accepts");
  await page.selectOption("[data-testid=check-host]", "fw");
  await page.selectOption("[data-testid=check-policy]", "ACCEPT");
  await page.click("[data-testid=add-check]");
  assert.match(await page.textContent("[data-testid=editor-msg]"), /added/);
  // Closing the editor keeps the draft.
  await page.click("[aria-label='Close the editor']");
  assert.ok(!(await page.isVisible("[data-testid=editor]")));
  await page.click("[data-testid=edit-lab]");
  const withCheck = JSON.parse(await page.inputValue("[data-testid=lab-json]"));
  assert.deepEqual(withCheck.checks[1], { id: "input-still-accepts", title: "INPUT still accepts",
    policy: { host: "fw", table: "filter", chain: "INPUT", is: "ACCEPT" } });

  // Commands typed on fw become a step.
  await page.click("g[data-host=fw]");
  await page.fill("[data-testid=cmd]", "iptables -A INPUT -p icmp -j DROP");
  await enter(page);
  await page.click("text=Add a step from my commands");
  await page.selectOption("[data-testid=step-host]", "fw");
  await page.fill("[data-testid=step-title]", "Drop ping");
  await page.click("[data-testid=add-step]");
  const withStep = JSON.parse(await page.inputValue("[data-testid=lab-json]"));
  assert.deepEqual(withStep.steps[2], { title: "Drop ping", host: "fw", commands: ["iptables -A INPUT -p icmp -j DROP"] });
  await shot(page, "22-lab-editor");
  await page.click("[data-testid=lab-apply]");
  await page.waitForFunction(() => document.querySelectorAll("[data-check]").length === 2);
  assert.deepEqual(await checkStates(page), { pol: false, "input-still-accepts": true });
  assert.match(await page.textContent("[data-testid=guide]"), /Lab guide \(3 steps\)/);

  // Share from the editor: a fresh page opens the edited lab.
  await page.click("[data-testid=lab-share]");
  const url = await page.inputValue("[data-testid=share-url]");
  await ctx.close();
  const other = await fresh(url);
  assert.equal(await other.page.textContent("[data-testid=lab-name]"), "Close SSH, edited");
  assert.deepEqual(await checkStates(other.page), { pol: false, "input-still-accepts": true });
  await other.ctx.close();
  assert.deepEqual(errors, []);
});

test("rules view: explanations on hover and click, lint warnings on their rules", async () => {
  const { ctx, page, errors } = await fresh();
  await page.click("g[data-host=server]");
  for (const line of ["iptables -A INPUT -j ACCEPT", "iptables -A INPUT -p tcp --dport 22 -j DROP"]) {
    await page.fill("[data-testid=cmd]", line);
    await enter(page);
  }
  // A typed rule command explains itself on hover in the terminal.
  const typed = page.locator(".ln.rule-cmd", { hasText: "--dport 22" });
  await typed.hover();
  assert.match(await typed.getAttribute("title"), /Drops TCP packets to port 22/);
  const drop = page.locator(".row.rule", { hasText: "DROP" });
  // The shadowed DROP is marked and its tooltip says why.
  assert.match(await drop.getAttribute("class"), /\bwarn\b/);
  const title = await drop.getAttribute("title");
  assert.match(title, /22/);
  assert.match(title, /⚠/);
  assert.doesNotMatch(await page.locator(".row.rule", { hasText: "ACCEPT" }).getAttribute("class"), /\bwarn\b/);
  // Clicking the rule shows its explanation below the list.
  await drop.click();
  assert.match(await page.textContent("[data-testid=explain]"), /22/);
  // The warnings list names the rule.
  const lint = await page.textContent("[data-testid=lint]");
  assert.match(lint, /filter INPUT rule 2/);
  assert.equal(await page.locator("[data-lint=shadowed]").count(), 1);
  await shot(page, "23-lint");
  // Fixed: the warning goes.
  await page.fill("[data-testid=cmd]", "iptables -D INPUT 1");
  await enter(page);
  assert.equal(await page.locator("[data-lint=shadowed]").count(), 0);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("every built-in lab with checks is solved by following its steps in the page", async () => {
  const { ctx, page, errors } = await fresh();
  const ids = await page.$$eval("[data-testid=lab-select] option", (os) => os.map((o) => o.value));
  let solved = 0;
  for (const id of ids) {
    await page.selectOption("[data-testid=lab-select]", id);
    const t0 = await page.getAttribute("body", "data-tick");
    await page.click("[data-testid=load-lab]");
    await page.waitForFunction((t) => document.body.dataset.tick !== t, t0);
    if ((await page.locator("[data-check]").count()) === 0) continue;
    assert.ok(!(await page.isVisible("[data-testid=all-pass]")), `${id}: solved at the start`);
    await page.evaluate(() => document.querySelectorAll("[data-testid=guide] details").forEach((d) => (d.open = true)));
    const chips = page.locator("[data-testid=chip]");
    const n = await chips.count();
    for (let i = 0; i < n; i++) {
      const cmd = await chips.nth(i).textContent();
      const before = await page.getAttribute("body", "data-tick");
      await chips.nth(i).click();
      if (cmd.includes("\n")) {
        // A multi-line command (a script) runs as pasted.
        await page.waitForFunction((t) => document.body.dataset.tick !== t, before);
      } else {
        assert.equal(await page.inputValue("[data-testid=cmd]"), cmd, `${id}: chip ${i}`);
        await enter(page);
      }
    }
    const failing = await page.$$eval("[data-check][data-pass=false]", (els) => els.map((e) => e.textContent));
    assert.deepEqual(failing, [], id);
    assert.ok(await page.isVisible("[data-testid=all-pass]"), id);
    if (solved === 0) await shot(page, "24-builtin-lab-solved");
    solved++;
  }
  assert.ok(solved >= 1, "no built-in lab has checks");
  assert.deepEqual(errors, []);
  await ctx.close();
});
