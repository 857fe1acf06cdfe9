// End-to-end test of the web demo: real browsers (Debian's Chromium, driven by playwright-core)
// share a cart through a real crdt-relay, go offline, edit concurrently, reload, and survive a
// relay crash. Run by `cargo xtask test` (or `cargo xtask e2e`), which builds demo-web/pkg and
// the relay first and sets:
//   RELAY_BIN  the crdt-relay binary
//   SITE_DIR   the page's directory (demo-web)
//   OUT_DIR    where screenshots go (target/e2e)
//   CHROMIUM   the browser (default /usr/bin/chromium)
// Prints one line per scenario and a closing "e2e: N passed, N failed" line; exits non-zero on
// any failure, after saving a screenshot of every page and printing their console logs.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const RELAY_BIN = requiredEnv('RELAY_BIN');
const SITE_DIR = path.resolve(process.env.SITE_DIR ?? 'demo-web');
const OUT_DIR = path.resolve(process.env.OUT_DIR ?? 'target/e2e');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** One wait for the page; long enough for a reconnect backoff, short enough to fail clearly. */
const WAIT_MS = 15_000;
/** The whole run, after which everything is torn down and the test fails. */
const OVERALL_MS = 180_000;

const collection = `e2e-${randomBytes(6).toString('hex')}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'crdt-e2e-relay-'));
mkdirSync(OUT_DIR, { recursive: true });

/** Console output of every page and the relay's log, printed when something fails. */
const logs = [];
const relayLog = [];
/** Open pages by name, for the screenshots taken on failure. */
const pages = new Map();
let relay = null;
let browser = null;

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e: ${name} is not set (run through cargo xtask e2e)`);
    process.exit(2);
  }
  return value;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- the relay -------------------------------------------------------------------------------

/** Starts the relay on `listen`; resolves with its address once it says it is listening. */
function startRelayOnce(listen) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      RELAY_BIN,
      ['--listen', listen, '--static', SITE_DIR, '--data-dir', dataDir],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let stdout = '';
    let stderr = '';
    let settled = false;
    const timer = setTimeout(
      () => finish(new Error(`the relay did not say it was listening within ${WAIT_MS} ms`)),
      WAIT_MS,
    );
    function finish(error, address) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        child.kill('SIGKILL');
        reject(error);
      } else {
        resolve({ child, address });
      }
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /crdt-relay listening on http:\/\/(\S+)/.exec(stdout);
      if (match) finish(null, match[1]);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const lines = stderr.split('\n');
      stderr = lines.pop();
      relayLog.push(...lines);
      if (relayLog.length > 400) relayLog.splice(0, relayLog.length - 400);
    });
    child.on('error', (error) => finish(new Error(`cannot start ${RELAY_BIN}: ${error.message}`)));
    child.on('exit', (code, signal) => {
      if (stderr) relayLog.push(stderr);
      finish(new Error(`the relay exited (${signal ?? code}) before listening: ${relayLog.at(-1) ?? ''}`));
    });
  });
}

/**
 * Starts the relay. On a given port, retries for a few seconds: a restarted relay may find the
 * port not yet released.
 */
async function startRelay(listen, { retry = false } = {}) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const started = await startRelayOnce(listen);
      relay = started.child;
      relay.on('exit', () => {
        if (relay === started.child) relay = null;
      });
      return started.address;
    } catch (error) {
      if (!retry || Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

async function killRelay() {
  const child = relay;
  if (!child) return;
  relay = null;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await Promise.race([exited, sleep(5000)]);
}

// --- pages -----------------------------------------------------------------------------------

/** A new browser context (its own storage: a new replica) with the cart open and online. */
async function openCart(name, url) {
  const context = await browser.newContext({ viewport: { width: 520, height: 760 } });
  const page = await context.newPage();
  pages.set(name, page);
  page.on('console', (message) => logs.push(`[${name}] ${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`[${name}] page error: ${error.stack ?? error.message}`));
  page.on('requestfailed', (request) =>
    logs.push(`[${name}] request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) logs.push(`[${name}] HTTP ${response.status()}: ${response.url()}`);
  });
  await page.goto(url);
  await waitReady(page, name);
  await waitStatus(page, name, 'online');
  return page;
}

/** Waits until `predicate(arg)`, evaluated in the page, is truthy; fails saying `what`. */
async function waitFor(page, name, what, predicate, arg, timeout = WAIT_MS) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 100 });
  } catch (error) {
    const state = await describe(page);
    throw new Error(`${name}: timed out after ${timeout} ms waiting for ${what}\n  ${name} now: ${state}`, {
      cause: error,
    });
  }
}

async function waitReady(page, name) {
  await waitFor(page, name, 'the page to load (body[data-ready="1"])', () => document.body?.dataset.ready === '1');
}

async function waitStatus(page, name, status, timeout = WAIT_MS) {
  await waitFor(
    page,
    name,
    `status "${status}"`,
    (want) => document.querySelector('#status')?.dataset.status === want,
    status,
    timeout,
  );
}

/** The page's own account of its state: `{items: [{item, quantity}], note, status, replica}`. */
function snapshot(page) {
  return page.evaluate(() => window.cartSnapshot());
}

/** What a person sees: the cart's rows, the total and the note. */
function view(page) {
  return page.evaluate(() => ({
    rows: Array.from(document.querySelectorAll('#cart [data-item]')).map((row) => ({
      item: row.dataset.item,
      quantity: Number(row.querySelector('.qty')?.textContent.trim()),
    })),
    total: document.querySelector('#total')?.textContent.trim(),
    note: document.querySelector('#note')?.value,
    status: document.querySelector('#status')?.dataset.status,
    error: document.querySelector('#error')?.textContent.trim(),
  }));
}

async function describe(page) {
  try {
    return JSON.stringify({ snapshot: await snapshot(page), view: await view(page) });
  } catch (error) {
    return `(cannot read the page: ${error.message})`;
  }
}

/** Waits until the page's cart has `item` at `quantity` (null: absent). */
async function waitItem(page, name, item, quantity, timeout = WAIT_MS) {
  await waitFor(
    page,
    name,
    quantity === null ? `${item} to be absent` : `${item} × ${quantity}`,
    ([item, quantity]) => {
      const found = window.cartSnapshot().items.find((entry) => entry.item === item);
      return quantity === null ? !found : found?.quantity === quantity;
    },
    [item, quantity],
    timeout,
  );
}

async function waitNote(page, name, note, timeout = WAIT_MS) {
  await waitFor(page, name, `the note ${JSON.stringify(note)}`, (note) => window.cartSnapshot().note === note, note, timeout);
}

/** A cart's content, for comparing replicas: items by name (whatever order the page lists them). */
function cartState(snap) {
  const items = [...snap.items].sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  return JSON.stringify({ items, note: snap.note });
}

/** Waits until every page shows the same cart and note, and is online. */
async function waitConverged(named, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    const states = await Promise.all(named.map(async ([, page]) => [await snapshot(page), await view(page)]));
    const carts = new Set(states.map(([snap]) => cartState(snap)));
    const online = states.every(([, seen]) => seen.status === 'online');
    if (carts.size === 1 && online) return states[0][0];
    last = named.map(([name], i) => `${name}: ${JSON.stringify(states[i][0])}`).join('\n  ');
    if (Date.now() > deadline) throw new Error(`pages did not converge online within ${timeout} ms:\n  ${last}`);
    await sleep(100);
  }
}

/** Every page's DOM shows the snapshot's rows (same items and quantities) and the same total. */
async function assertSameView(named) {
  const views = [];
  for (const [name, page] of named) {
    const [snap, seen] = [await snapshot(page), await view(page)];
    const names = snap.items.map(({ item }) => item);
    const sorted = [...names].sort();
    assertEqual(names.join(','), sorted.join(','), `${name}: cartSnapshot().items in item-name order (doc.cart's contract)`);
    const rows = seen.rows.map(({ item, quantity }) => ({ item, quantity }));
    const expected = snap.items.map(({ item, quantity }) => ({ item, quantity }));
    rows.sort((a, b) => a.item.localeCompare(b.item));
    expected.sort((a, b) => a.item.localeCompare(b.item));
    assertEqual(JSON.stringify(rows), JSON.stringify(expected), `${name}: the rows shown vs cartSnapshot()`);
    assertEqual(seen.note, snap.note, `${name}: the note shown vs cartSnapshot()`);
    views.push([name, seen]);
  }
  for (const [name, seen] of views.slice(1)) {
    assertEqual(JSON.stringify(seen.rows), JSON.stringify(views[0][1].rows), `${name} vs ${views[0][0]}: rows`);
    assertEqual(seen.total, views[0][1].total, `${name} vs ${views[0][0]}: #total`);
  }
}

function assertEqual(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function quantity(snap, item) {
  return snap.items.find((entry) => entry.item === item)?.quantity ?? null;
}

async function setOffline(page, name, offline) {
  if (offline) await page.check('#offline');
  else await page.uncheck('#offline');
  if (offline) await waitStatus(page, name, 'offline');
}

async function row(page, item, button) {
  await page.click(`#cart [data-item="${item}"] button[${button}]`);
}

/** Types `text` into the note at its start or end, as a person would (keys, not `fill`). */
async function typeNote(page, where, text) {
  await page.click('#note');
  await page.keyboard.press(where === 'start' ? 'Control+Home' : 'Control+End');
  await page.keyboard.type(text, { delay: 20 });
}

async function screenshot(page, file) {
  await page.screenshot({ path: path.join(OUT_DIR, file), fullPage: true });
  return path.join(OUT_DIR, file);
}

// --- the scenarios ---------------------------------------------------------------------------

const scenarios = [];
function scenario(name, run) {
  scenarios.push({ name, run });
}

/** Shared between scenarios, which run in order and build on each other. */
const s = {};

scenario('a. two replicas see each other’s edits', async () => {
  s.a = await openCart('A', s.url);
  s.b = await openCart('B', s.url);
  const [snapA, snapB] = [await snapshot(s.a), await snapshot(s.b)];
  if (!snapA.replica || snapA.replica === snapB.replica) {
    throw new Error(`the replica ids should differ: A ${snapA.replica}, B ${snapB.replica}`);
  }
  await s.a.click('button[data-add="milk"]');
  await waitItem(s.a, 'A', 'milk', 1);
  await waitItem(s.b, 'B', 'milk', 1);
  await typeNote(s.b, 'end', 'hello');
  await waitNote(s.b, 'B', 'hello');
  await waitNote(s.a, 'A', 'hello');
  await waitConverged([['A', s.a], ['B', s.b]]);
});

scenario('b. concurrent offline edits merge (adds add up, remove keeps unseen adds, both notes)', async () => {
  await s.a.click('button[data-add="bread"]');
  await waitItem(s.a, 'A', 'bread', 1);
  await waitItem(s.b, 'B', 'bread', 1);
  await waitConverged([['A', s.a], ['B', s.b]]);

  await setOffline(s.a, 'A', true);
  await setOffline(s.b, 'B', true);
  await row(s.a, 'milk', 'data-inc');
  await row(s.a, 'milk', 'data-inc');
  await row(s.a, 'bread', 'data-inc');
  await typeNote(s.a, 'end', ' world');
  await row(s.b, 'milk', 'data-inc');
  await row(s.b, 'bread', 'data-remove');
  await typeNote(s.b, 'start', 'Note: ');
  // Each side's own view before they meet again.
  await waitItem(s.a, 'A', 'milk', 3);
  await waitItem(s.a, 'A', 'bread', 2);
  await waitNote(s.a, 'A', 'hello world');
  await waitItem(s.b, 'B', 'milk', 2);
  await waitItem(s.b, 'B', 'bread', null);
  await waitNote(s.b, 'B', 'Note: hello');

  await setOffline(s.a, 'A', false);
  await setOffline(s.b, 'B', false);
  const merged = await waitConverged([['A', s.a], ['B', s.b]]);
  assertEqual(quantity(merged, 'milk'), 4, 'milk after 1 + A’s 2 + B’s 1 concurrent adds');
  // B's remove took the 1 it had seen; A's +1, unseen by B, stands alone.
  assertEqual(quantity(merged, 'bread'), 1, 'bread after A’s unseen +1 and B’s remove');
  assertEqual(merged.note, 'Note: hello world', 'the note after A’s append and B’s prepend');
  await assertSameView([['A', s.a], ['B', s.b]]);
});

scenario('c. screenshot of the converged carts', async () => {
  const shots = [];
  for (const [name, page] of [['A', s.a], ['B', s.b]]) {
    const file = await screenshot(page, `converged-${name}.png`);
    shots.push([name, readFileSync(file).toString('base64')]);
  }
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  pages.set('side-by-side', page);
  const figures = shots
    .map(
      ([name, png]) =>
        `<figure><figcaption>replica ${name}</figcaption><img src="data:image/png;base64,${png}"></figure>`,
    )
    .join('');
  await page.setContent(
    `<!doctype html><style>body{margin:0;display:flex;gap:16px;padding:16px;background:#ddd;font:14px sans-serif}` +
      `figure{margin:0}img{display:block;border:1px solid #888;background:#fff}</style>${figures}`,
  );
  await page.waitForFunction(() => Array.from(document.images).every((image) => image.complete && image.naturalWidth > 0));
  const file = await screenshot(page, 'converged-carts.png');
  pages.delete('side-by-side');
  await context.close();
  console.log(`e2e: screenshot: ${file}`);
});

scenario('d. a reload keeps the cart (edits made offline survive in local storage)', async () => {
  const before = await snapshot(s.a);
  await setOffline(s.a, 'A', true);
  await s.a.click('button[data-add="eggs"]');
  await waitItem(s.a, 'A', 'eggs', 1);
  await s.a.reload();
  await waitReady(s.a, 'A');
  const after = await snapshot(s.a);
  if (quantity(after, 'eggs') !== 1) {
    throw new Error(`right after the reload A should have eggs × 1 from local storage, has ${JSON.stringify(after)}`);
  }
  if (after.replica !== before.replica) {
    console.log(`e2e: note: A's replica id changed across the reload (${before.replica} → ${after.replica})`);
  }
  await waitStatus(s.a, 'A', 'online');
  await waitItem(s.b, 'B', 'eggs', 1);
  await waitConverged([['A', s.a], ['B', s.b]]);
});

scenario('e. a relay restart keeps the cart (and a new replica gets all of it)', async () => {
  const expected = await snapshot(s.a);
  await killRelay();
  await waitFor(s.a, 'A', 'a status other than "online" after the relay died', () =>
    document.querySelector('#status')?.dataset.status !== 'online',
  );
  const address = await startRelay(s.address, { retry: true });
  assertEqual(address, s.address, 'the restarted relay’s address');
  await waitStatus(s.a, 'A', 'online', 30_000);
  await waitStatus(s.b, 'B', 'online', 30_000);
  const c = await openCart('C', s.url);
  await waitFor(
    c,
    'C',
    `the full cart ${cartState(expected)}`,
    (want) => {
      const snap = window.cartSnapshot();
      const items = [...snap.items].sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
      return JSON.stringify({ items, note: snap.note }) === want;
    },
    cartState(expected),
  );
  await waitConverged([['A', s.a], ['B', s.b], ['C', c]]);
  await assertSameView([['A', s.a], ['B', s.b], ['C', c]]);
});

// --- running them ----------------------------------------------------------------------------

async function saveFailureState() {
  for (const [name, page] of pages) {
    try {
      const file = await screenshot(page, `failure-${name}.png`);
      console.error(`e2e: screenshot of ${name} at the failure: ${file}`);
      console.error(`e2e: ${name} at the failure: ${await describe(page)}`);
    } catch (error) {
      console.error(`e2e: no screenshot of ${name}: ${error.message}`);
    }
  }
  console.error(`e2e: page console logs (${logs.length} lines):`);
  for (const line of logs) console.error(`  ${line}`);
  console.error(`e2e: last lines of the relay's log:`);
  for (const line of relayLog.slice(-60)) console.error(`  ${line}`);
}

async function cleanUp() {
  await killRelay().catch(() => {});
  await browser?.close().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
}

let passed = 0;
let failed = 0;

async function main() {
  try {
    s.address = await startRelay('127.0.0.1:0');
    s.url = `http://${s.address}/?cart=${collection}`;
    console.log(`e2e: relay at http://${s.address}, collection ${collection}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (error) {
    console.error(`e2e: setup failed: ${error.stack ?? error.message}`);
    await saveFailureState();
    await cleanUp();
    console.log(`e2e: 0 passed, 1 failed, ${scenarios.length} skipped`);
    return 1;
  }
  for (const [index, { name, run }] of scenarios.entries()) {
    const started = Date.now();
    try {
      await run();
      passed += 1;
      console.log(`ok - ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed += 1;
      console.log(`not ok - ${name} (${Date.now() - started} ms)`);
      console.error(`  ${error.stack ?? error.message}`);
      await saveFailureState();
      await cleanUp();
      const skipped = scenarios.length - index - 1;
      console.log(`e2e: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
      return 1;
    }
  }
  await cleanUp();
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return 0;
}

const overall = setTimeout(async () => {
  console.error(`e2e: the whole run took more than ${OVERALL_MS / 1000} s; giving up`);
  await saveFailureState().catch(() => {});
  await cleanUp();
  console.log(`e2e: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, OVERALL_MS);
// Whatever happens, no relay outlives the test.
process.on('exit', () => relay?.kill('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await cleanUp();
    process.exit(130);
  });
}

const code = await main();
clearTimeout(overall);
process.exit(code);
