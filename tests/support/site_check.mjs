// Opens the static site `trainyard site build` wrote in Debian's Chromium
// (driven by playwright-core) and checks what a reader relies on: every page
// loads with no console error and no request to another host, every link
// and anchor resolves, charts are drawn, axe-core finds no serious or
// critical violation on the main pages. Saves screenshots of the overview, a
// run page and a data page. Used by tests/it/site.rs:
//   node site_check.mjs SITE_DIR SCREENSHOTS_DIR
// The last line printed is a JSON summary; the exit code is 1 on a failure.
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, normalize, extname } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = await readFile(require.resolve("axe-core/axe.min.js"), "utf8");
const [siteDir, shotsDir] = process.argv.slice(2);
const types = { ".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript", ".png": "image/png" };

// The site served as a static host would (GitHub Pages, a pipeline artifact's viewer).
const server = createServer(async (request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
  if (path.includes("..")) { response.writeHead(400).end(); return; }
  try {
    const body = await readFile(join(siteDir, path.endsWith("/") ? path + "index.html" : path));
    response.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" }).end(body);
  } catch {
    response.writeHead(404).end("not found");
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const userDataDir = mkdtempSync(join(tmpdir(), "trainyard-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 1000 },
});
const failures = [];
const foreign = [];
// Nothing may leave 127.0.0.1: such a request is recorded and refused.
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (url.startsWith(origin + "/") || url.startsWith("data:")) return route.continue();
  foreign.push(url);
  return route.abort();
});
const page = await context.newPage();
let current = "";
page.on("console", (message) => {
  if (message.type() === "error") failures.push(`${current}: console error: ${message.text()}`);
});
page.on("pageerror", (error) => failures.push(`${current}: ${error.message}`));

const mainPages = new Set(["/index.html", "/runs/index.html", "/models/index.html", "/data/index.html"]);
const queue = ["/index.html"];
const seen = new Set(queue);
const anchors = [];
let links = 0;
let charts = 0;
let bestRun = { path: null, charts: -1 };
let firstModel = null;
let firstDataset = null;
const axe = {};

while (queue.length > 0) {
  const path = queue.shift();
  current = path;
  const response = await page.goto(origin + path, { waitUntil: "load" });
  if (!response || response.status() !== 200) {
    failures.push(`${path}: HTTP ${response ? response.status() : "no response"}`);
    continue;
  }
  const found = await page.$$eval("svg.chart", (nodes) => nodes.filter((n) => n.querySelector("rect, polyline, path, circle")).length);
  charts += found;
  if (path.startsWith("/runs/") && !path.endsWith("index.html") && found > bestRun.charts) bestRun = { path, charts: found };
  if (path.startsWith("/models/") && !path.endsWith("index.html")) firstModel ??= path;
  if (path.startsWith("/data/") && !path.endsWith("index.html")) firstDataset ??= path;
  const hrefs = await page.$$eval("a[href]", (nodes) => nodes.map((n) => n.href));
  for (const href of hrefs) {
    links += 1;
    const url = new URL(href);
    if (url.origin !== origin) continue; // a CI run's page: not this site's to check
    if (url.hash) anchors.push({ from: path, page: url.pathname, id: decodeURIComponent(url.hash.slice(1)) });
    if (!seen.has(url.pathname)) {
      seen.add(url.pathname);
      queue.push(url.pathname);
    }
  }
  if (mainPages.has(path)) axe[path] = await audit(path);
}

// Anchors resolve on the page they point at.
for (const anchor of anchors) {
  await page.goto(origin + anchor.page);
  const exists = await page.evaluate((id) => document.getElementById(id) !== null, anchor.id);
  if (!exists) failures.push(`${anchor.from}: link to ${anchor.page}#${anchor.id}: no such id`);
}
for (const path of [bestRun.path, firstModel, firstDataset].filter(Boolean)) {
  await page.goto(origin + path);
  axe[path] = await audit(path);
}
if (bestRun.charts < 1) failures.push("no run page has a chart");

// Sorting and filtering work where JavaScript runs.
await page.goto(origin + "/runs/index.html");
await page.click("#runs thead th:nth-child(2) button");
if ((await page.getAttribute("#runs thead th:nth-child(2)", "aria-sort")) !== "ascending") failures.push("runs table: sorting did nothing");
await page.fill("#runs-filter", "no-such-run-anywhere");
if ((await page.$$eval("#runs tbody tr:not([hidden])", (rows) => rows.length)) !== 0) failures.push("runs table: filtering hid nothing");

await mkdir(shotsDir, { recursive: true });
for (const [name, path, height] of [["overview", "/index.html", 1000], ["run", bestRun.path, 1400], ["data", firstDataset, 2200]]) {
  if (!path) { failures.push(`no page for the ${name} screenshot`); continue; }
  await page.goto(origin + path);
  await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true, clip: { x: 0, y: 0, width: 1280, height } });
}

async function audit(path) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const violation of serious) {
    failures.push(`${path}: axe ${violation.impact} ${violation.id}: ${violation.help} (${violation.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
  }
  return result.violations.map((v) => `${v.impact} ${v.id}`);
}

await context.close();
server.close();
rmSync(userDataDir, { recursive: true, force: true });
for (const url of foreign) failures.push(`request to another host: ${url}`);
for (const failure of failures) console.log(failure);
console.log(JSON.stringify({ pages: seen.size, links, charts, axe, failures: failures.length }));
process.exit(failures.length === 0 ? 0 : 1);
