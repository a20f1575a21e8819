// Drives the live page in headless chromium (Debian's) with playwright-core:
// node live_page.mjs URL SCREENSHOT. Exits non-zero with a message when the
// page does not show a leaderboard, does not update within 5 s, or shows no
// explanation for a clicked rep.
import { createRequire } from "node:module";
const require = createRequire(process.env.SALESPULSE_NODE_MODULES + "/");
const { chromium } = require("playwright-core");

const [url, screenshot] = process.argv.slice(2);
const fail = (msg) => { console.error("FAIL: " + msg); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.SALESPULSE_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
try {
  // A phone-sized screen.
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(url);
  await page.waitForSelector("#board tbody tr", { timeout: 15000 }).catch(() => fail("no leaderboard rows"));
  const rows = await page.locator("#board tbody tr").count();
  if (rows < 1) fail("empty leaderboard");
  const first = await page.locator("#updated").textContent();
  const board = async () => (await page.locator("#board tbody").textContent()) + (await page.locator("#updated").textContent());
  const before = await board();
  const deadline = Date.now() + 5000;
  let updated = false;
  while (Date.now() < deadline) {
    await page.waitForTimeout(250);
    if ((await board()) !== before) { updated = true; break; }
  }
  if (!updated) fail("the leaderboard did not update within 5 s (" + first + ")");
  const rep = await page.locator("#board tbody tr").first().getAttribute("data-rep");
  await page.locator("#board tbody tr").first().click();
  await page.waitForSelector("#explain:not([hidden]) tbody tr", { timeout: 5000 }).catch(() => fail("no explanation for " + rep));
  const title = await page.locator("#explain-title").textContent();
  if (!title.startsWith(rep + ": score")) fail("explanation title " + title);
  const components = await page.locator("#explain tbody tr").count();
  await page.screenshot({ path: screenshot, fullPage: true });
  // Without the token the page gets no data and says why.
  const bare = await browser.newPage();
  await bare.goto(url.split("#")[0]);
  await bare.waitForFunction(() => document.getElementById("status").textContent.includes("needs a token"), null, { timeout: 5000 })
    .catch(() => fail("a page without a token did not ask for one"));
  if (await bare.locator("#board tbody tr").count() > 0) fail("rows shown without a token");
  console.log(JSON.stringify({ rows, rep, components, title }));
} finally {
  await browser.close();
}
