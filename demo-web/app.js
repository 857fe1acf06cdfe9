// Collaborative shopping cart: the page around one crdt-wasm `Doc` (a replica of the collection)
// and the WebSocket to the relay's /sync endpoint. The Doc is sans-IO: this file feeds it socket
// frames and timer ticks, sends whatever it wants sent, and persists its snapshots.
// The wasm package is imported dynamically so that a missing or broken build shows a warning.
let Doc = null;

const PRODUCTS = [
  { item: 'apples', name: 'Apples', unit: '1 kg', cents: 299 },
  { item: 'bread', name: 'Bread', unit: 'loaf', cents: 249 },
  { item: 'milk', name: 'Milk', unit: '1 l', cents: 119 },
  { item: 'coffee', name: 'Coffee', unit: '500 g', cents: 749 },
  { item: 'eggs', name: 'Eggs', unit: '6 pcs', cents: 329 },
  { item: 'cheese', name: 'Cheese', unit: '200 g', cents: 389 },
];
const BY_ITEM = new Map(PRODUCTS.map((p) => [p.item, p]));
const CART = 'cart'; // object ids inside the collection
const NOTE = 'note';

const params = new URLSearchParams(location.search);
const collection = params.get('cart') || 'demo-cart';
const token = params.get('token') ?? '';
const slotPrefix = `crdt-cart:${collection}:slot:`;

const $ = (selector) => document.querySelector(selector);
const els = {
  status: $('#status'), error: $('#error'), replica: $('#replica'), slot: $('#slot'),
  collection: $('#collection'), offline: $('#offline'), warning: $('#warning'),
  products: $('#products'), cart: $('#cart'), empty: $('#empty'), total: $('#total'), note: $('#note'),
};

const now = () => performance.now();
const euros = (cents) => `€${(cents / 100).toFixed(2)}`;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const warned = new Set();
function warn(message) {
  if (warned.has(message)) return;
  warned.add(message);
  els.warning.append(el('p', '', message));
  els.warning.hidden = false;
}

let doc = null;
let storage = null; // where this tab's snapshot lives, under `slotKey`
let slotKey = '';

// ---------------------------------------------------------------------------------------------
// Persistence. Every tab needs its own replica id (two live tabs sharing one would corrupt the
// CRDT), yet a reload should get its replica back, and a closed tab's unsynced edits should not be
// lost. So snapshots live in numbered slots, and a tab owns a slot by holding a Web Lock on it for
// its whole life: the browser frees the lock when the tab goes away, and the next tab adopts it.

const toBase64 = (bytes) => {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true if this tab now holds slot n's lock (kept until the page is gone). */
const tryLock = (n) => new Promise((resolve, reject) => {
  navigator.locks.request(slotPrefix + n, { ifAvailable: true }, (lock) => {
    resolve(lock !== null);
    return lock ? new Promise(() => {}) : null; // a promise that never settles holds the lock forever
  }).catch(reject);
});

async function claimSlot() {
  if (!navigator.locks) {
    // No Web Locks: no cross-tab coordination, so keep the replica per tab (survives reloads only).
    storage = sessionStorage;
    slotKey = slotPrefix + 0;
    return 0;
  }
  storage = localStorage;
  // Remember our slot per tab: on reload the old page's lock can be released a moment after the
  // new page asks for it, so retry that slot briefly rather than drifting to another replica.
  const mineKey = `crdt-cart:${collection}:my-slot`;
  const mine = sessionStorage.getItem(mineKey);
  let slot = -1;
  for (let attempt = 0; mine !== null && attempt < 5 && slot < 0; attempt++) {
    if (await tryLock(Number(mine))) slot = Number(mine);
    else await sleep(100);
  }
  for (let n = 0; slot < 0; n++) if (await tryLock(n)) slot = n; // otherwise the lowest free slot
  sessionStorage.setItem(mineKey, String(slot));
  slotKey = slotPrefix + slot;
  return slot;
}

function openDoc() {
  const saved = storage.getItem(slotKey);
  if (saved !== null) {
    try {
      return new Doc(collection, fromBase64(saved));
    } catch (e) {
      const badKey = `${slotKey}:bad:${Date.now()}`;
      try { storage.setItem(badKey, saved); } catch { /* storage full: the warning still says why */ }
      warn(`The saved cart could not be restored (${e.message}), so this tab started a fresh replica. `
        + `The unreadable snapshot is kept in browser storage under "${badKey}".`);
    }
  }
  return new Doc(collection, null);
}

function save() {
  try {
    storage.setItem(slotKey, toBase64(doc.save()));
  } catch (e) {
    warn(`Could not save the cart in this browser (${e.message}); edits still sync while online.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Sync: one WebSocket at a time; the Doc runs the protocol session over it.

let ws = null; // the current socket, or null while offline / waiting to reconnect
let live = false; // ws is open and doc.connect() was called for it
let offline = false; // the "offline" toggle
let lastError = ''; // why the last session failed; shown until the next successful sync
let retryDelay = 250;
let retryTimer = 0;
let tickTimer = 0;

function openSocket() {
  if (offline || ws) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const sock = new WebSocket(`${scheme}//${location.host}/sync`);
  sock.binaryType = 'arraybuffer';
  ws = sock;
  live = false;
  // dropSocket() detaches these handlers, so they only ever run for the current socket.
  sock.onopen = () => {
    live = true;
    doc.connect(token, now());
    flush();
  };
  sock.onmessage = (ev) => {
    if (!(ev.data instanceof ArrayBuffer)) return; // the protocol is binary only
    try {
      doc.receive(new Uint8Array(ev.data), now());
    } catch (e) {
      lastError = e.message;
      dropSocket();
      scheduleReconnect();
      afterSync();
      return;
    }
    flush();
    if (doc.takeRemoteChanges().length > 0) render();
    save();
  };
  sock.onclose = sock.onerror = () => {
    dropSocket();
    scheduleReconnect();
    afterSync();
  };
  updateStatus();
}

function dropSocket() {
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    ws.close();
    ws = null;
  }
  live = false;
  doc.disconnect();
}

function scheduleReconnect() {
  if (offline || retryTimer) return;
  const delay = retryDelay;
  retryDelay = Math.min(retryDelay * 2, 2000);
  retryTimer = setTimeout(() => { retryTimer = 0; openSocket(); }, delay);
}

/** Sends what the Doc has queued, then reacts to the (possibly) new session state. */
function flush() {
  if (live) for (const frame of doc.outgoing(now())) ws.send(frame);
  afterSync();
}

/** After any call that may change the session: handle failure, re-arm the timer, show status. */
function afterSync() {
  const status = doc.status();
  if (status === 'failed') {
    lastError = doc.error() || 'sync failed';
    dropSocket();
    scheduleReconnect(); // e.g. a relay restarting or a token being fixed: try again later
  } else if (status === 'synced') {
    retryDelay = 250;
    lastError = '';
  }
  scheduleTick();
  updateStatus();
}

// One timer for the Doc's deadlines, capped so the status display is refreshed regularly too.
function scheduleTick() {
  clearTimeout(tickTimer);
  const next = doc.nextTimeoutMs();
  const delay = next == null ? 1000 : Math.min(Math.max(next - now(), 0), 1000);
  tickTimer = setTimeout(() => {
    const due = doc.nextTimeoutMs();
    if (due != null && now() >= due) doc.tick(now());
    flush();
  }, delay);
}

function updateStatus() {
  let shown = 'offline';
  if (!offline && ws) shown = live && doc.status() === 'synced' ? 'online' : 'syncing';
  els.status.textContent = shown;
  els.status.dataset.status = shown;
  els.status.title = offline ? 'Network cut simulated by the toggle'
    : !ws ? 'Relay unreachable: retrying' : '';
  els.error.textContent = shown === 'online' ? '' : lastError;
}

// ---------------------------------------------------------------------------------------------
// Rendering the cart. Rows are kept per item so buttons keep focus across remote updates.

const rows = new Map(); // item -> <li>

function makeRow(item) {
  const product = BY_ITEM.get(item);
  const name = product ? product.name : item;
  const row = el('li', 'row');
  row.dataset.item = item;
  const dec = el('button', 'step', '−');
  dec.dataset.dec = '';
  dec.setAttribute('aria-label', `One ${name} less`);
  const inc = el('button', 'step', '+');
  inc.dataset.inc = '';
  inc.setAttribute('aria-label', `One ${name} more`);
  const remove = el('button', 'remove', '×');
  remove.dataset.remove = '';
  remove.setAttribute('aria-label', `Remove ${name}`);
  const stepper = el('span', 'stepper');
  stepper.append(dec, el('span', 'qty', '0'), inc);
  row.append(el('span', 'name', name), stepper, el('span', 'line', euros(0)), remove);
  return row;
}

function renderCart() {
  const items = doc.cart(CART); // sorted by item name
  const present = new Set(items.map((entry) => entry.item));
  for (const [item, row] of rows) {
    if (!present.has(item)) { row.remove(); rows.delete(item); }
  }
  let total = 0;
  items.forEach(({ item, quantity }, i) => {
    let row = rows.get(item);
    if (!row) rows.set(item, (row = makeRow(item)));
    // Existing rows are already in order; only new rows get inserted (moving a node loses focus).
    if (els.cart.children[i] !== row) els.cart.insertBefore(row, els.cart.children[i] ?? null);
    // Concurrent decrements can leave a quantity <= 0: the row stays (it can be removed) but costs nothing.
    const line = (BY_ITEM.get(item)?.cents ?? 0) * Math.max(quantity, 0);
    total += line;
    row.querySelector('.qty').textContent = String(quantity);
    row.querySelector('.line').textContent = euros(line);
    row.querySelector('[data-dec]').disabled = quantity <= 1;
    row.classList.toggle('nonpositive', quantity <= 0);
  });
  els.empty.hidden = items.length > 0;
  els.total.textContent = euros(total);
}

// ---------------------------------------------------------------------------------------------
// The note: a Text CRDT edited through a plain <textarea>. `shownNote` is the doc text the
// textarea last agreed with; each input is diffed against it.

let shownNote = '';
let composing = false; // an IME composition is active: leave the textarea alone

/**
 * The edit turning `a` into `b` as one replaced region (common prefix and suffix kept), in code
 * points for the CRDT (`at`, `removed`) and in UTF-16 units for textarea selections (`at16`, `removed16`).
 */
function diff(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  return {
    at: pre,
    removed: x.length - pre - suf,
    inserted: y.slice(pre, y.length - suf).join(''),
    at16: x.slice(0, pre).join('').length,
    removed16: x.slice(pre, x.length - suf).join('').length,
  };
}

/** Where offset i of the old text lands after a change; offsets inside the replaced region go to its end. */
const mapOffset = (i, at, removed, added) => (i <= at ? i : i >= at + removed ? i - removed + added : at + added);

/** Applies the textarea's unsent edit to the doc; returns whether there was one. */
function pushNote() {
  const value = els.note.value;
  if (value === shownNote) return false;
  const local = diff(shownNote, value);
  let at = local.at;
  let end = local.at + local.removed;
  const current = doc.text(NOTE);
  if (current !== shownNote) {
    // Remote edits arrived during a composition and are not displayed yet: map onto the doc's text.
    const remote = diff(shownNote, current);
    const added = Array.from(remote.inserted).length;
    at = mapOffset(at, remote.at, remote.removed, added);
    end = Math.max(at, mapOffset(end, remote.at, remote.removed, added));
  }
  if (end > at) doc.textDelete(NOTE, at, end - at);
  if (local.inserted) doc.textInsert(NOTE, at, local.inserted);
  shownNote = value;
  return true;
}

/** Shows the doc's note, mapping the selection through the change so the caret stays put. */
function refreshNote() {
  if (composing) return; // compositionend catches up
  const ta = els.note;
  const text = doc.text(NOTE);
  shownNote = text;
  if (text === ta.value) return;
  const change = diff(ta.value, text);
  const { selectionStart, selectionEnd, selectionDirection, scrollTop } = ta;
  const map = (i) => mapOffset(i, change.at16, change.removed16, change.inserted.length);
  ta.value = text;
  if (document.activeElement === ta) ta.setSelectionRange(map(selectionStart), map(selectionEnd), selectionDirection);
  ta.scrollTop = scrollTop;
}

function noteInput() {
  if (pushNote()) afterLocalEdit();
  else refreshNote();
}

// ---------------------------------------------------------------------------------------------

function render() {
  renderCart();
  refreshNote();
}

function afterLocalEdit() {
  flush();
  render();
  save();
}

function edit(change) {
  try {
    change();
  } catch (e) {
    warn(`Edit failed: ${e.message}`);
  }
  afterLocalEdit();
}

function renderProducts() {
  for (const p of PRODUCTS) {
    const li = el('li', 'product');
    const add = el('button', 'add', 'Add');
    add.dataset.add = p.item;
    add.disabled = true; // until the doc is ready
    add.setAttribute('aria-label', `Add ${p.name}`);
    li.append(el('span', 'name', p.name), el('span', 'unit', p.unit), el('span', 'price', euros(p.cents)), add);
    els.products.append(li);
  }
}

function wireEvents() {
  els.products.addEventListener('click', (ev) => {
    const button = ev.target.closest('button[data-add]');
    if (button) edit(() => doc.cartAdd(CART, button.dataset.add, 1));
  });
  els.cart.addEventListener('click', (ev) => {
    const button = ev.target.closest('button');
    const item = button?.closest('[data-item]')?.dataset.item;
    if (!item) return;
    if (button.hasAttribute('data-inc')) edit(() => doc.cartAdd(CART, item, 1));
    else if (button.hasAttribute('data-dec')) edit(() => doc.cartAdd(CART, item, -1));
    else if (button.hasAttribute('data-remove')) edit(() => doc.cartRemove(CART, item));
  });
  els.note.addEventListener('input', (ev) => {
    if (!composing && !ev.isComposing) noteInput();
  });
  els.note.addEventListener('compositionstart', () => { composing = true; });
  els.note.addEventListener('compositionend', () => { composing = false; noteInput(); });
  els.offline.addEventListener('change', () => {
    offline = els.offline.checked;
    lastError = '';
    if (offline) {
      clearTimeout(retryTimer);
      retryTimer = 0;
      dropSocket(); // local edits keep working; they sync when the toggle is cleared
      afterSync();
    } else {
      retryDelay = 250;
      openSocket();
    }
  });
}

async function main() {
  els.collection.textContent = collection;
  renderProducts();
  const wasm = await import('./pkg/crdt_wasm.js');
  await wasm.default(); // fetches crdt_wasm_bg.wasm next to the JS file
  Doc = wasm.Doc;
  const slot = await claimSlot();
  doc = openDoc();
  save(); // a fresh replica gets its slot right away
  els.replica.textContent = doc.replicaId;
  els.slot.textContent = `(slot ${slot})`;
  els.note.value = shownNote = doc.text(NOTE); // also overrides any form state restored by the browser
  renderCart();
  for (const button of els.products.querySelectorAll('button')) button.disabled = false;
  els.note.disabled = false;

  window.cartSnapshot = () => ({
    items: doc.cart(CART).map(({ item, quantity }) => ({ item, quantity })),
    note: doc.text(NOTE),
    status: doc.status(),
    replica: doc.replicaId,
  });

  wireEvents();
  offline = els.offline.checked;
  openSocket();
  afterSync();
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  warn(`The demo could not start: ${e.message}`);
  els.status.textContent = els.status.dataset.status = 'offline';
  els.error.textContent = e.message;
});
