// The console's behaviour: sign in with the service's bearer token (kept in this tab's sessionStorage, never in a
// URL), browse the bucket as folders, upload with progress, download, delete, share and purge — all through the
// service's own /v1 API. Keys and every other stored name reach the page as text (textContent), never as HTML.

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "spaces-token";
const PAGE_SIZE = 200;
const UPLOADS_AT_ONCE = 3;

const state = {
  prefix: "",
  cursors: [null], // the cursor that opens each page visited, page 0 first
  page: 0,
  cdn: false, // the service has a DigitalOcean token and the bucket a CDN endpoint
  shown: [], // the current page's rows, for the filter
};

const token = () => sessionStorage.getItem(TOKEN_KEY);

/** A problem document's detail, or the status when the body is something else. */
async function reason(response) {
  try {
    const p = await response.json();
    return p.detail || p.title || `${response.status}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** A /v1 call with the token; a refused token signs out, any other failure throws its reason. */
async function api(method, path, { json, body, headers } = {}) {
  const h = new Headers(headers || {});
  h.set("Authorization", `Bearer ${token()}`);
  if (json !== undefined) {
    h.set("Content-Type", "application/json");
    body = JSON.stringify(json);
  }
  const response = await fetch(path, { method, headers: h, body });
  if (response.status === 401) {
    signOut("The service refused the token; sign in again.");
    throw new Error("the token was refused");
  }
  if (!response.ok) {
    throw new Error(await reason(response));
  }
  return response;
}

/** The route of `key`, each segment percent-encoded (keys hold "/", and any other character). */
const encodeKey = (key) => key.split("/").map(encodeURIComponent).join("/");

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function say(text, bad = false) {
  const m = $("message");
  m.textContent = text;
  m.className = bad ? "error" : "";
}

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// ---- signing in and out ----

function showSignedIn(signedIn) {
  $("sign-in").hidden = signedIn;
  $("browser").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
}

function signOut(why = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignedIn(false);
  $("sign-in-error").textContent = why;
  $("token").value = "";
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const candidate = $("token").value.trim();
  let r;
  try {
    r = await fetch("/v1/objects?limit=1", { headers: { Authorization: `Bearer ${candidate}` } });
  } catch {
    $("sign-in-error").textContent = "The service does not answer; is `spaces serve` running?";
    return;
  }
  if (r.status === 401) {
    $("sign-in-error").textContent = "That is not this service's token.";
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, candidate);
  $("token").value = "";
  $("sign-in-error").textContent = "";
  await start();
}

async function start() {
  showSignedIn(true);
  // Purging needs the service's DigitalOcean token; offer it only when the CDN answers.
  const cdn = await fetch("/v1/cdn/endpoints", { headers: { Authorization: `Bearer ${token()}` } });
  state.cdn = cdn.ok;
  await open("");
}

// ---- browsing ----

async function open(prefix) {
  state.prefix = prefix;
  state.cursors = [null];
  state.page = 0;
  $("filter").value = "";
  await list();
}

async function list() {
  const q = new URLSearchParams({ delimiter: "/", limit: String(PAGE_SIZE) });
  if (state.prefix) q.set("prefix", state.prefix);
  const cursor = state.cursors[state.page];
  if (cursor) q.set("cursor", cursor);
  let page;
  try {
    page = await (await api("GET", `/v1/objects?${q}`)).json();
  } catch (e) {
    say(`Listing failed: ${e.message}`, true);
    return;
  }
  state.cursors[state.page + 1] = page.next_cursor || null;
  const name = (key) => key.slice(state.prefix.length);
  state.shown = [
    ...page.prefixes.map((p) => ({ folder: true, key: p, name: name(p) })),
    ...page.objects.filter((o) => o.key !== state.prefix).map((o) => ({ ...o, name: name(o.key) })),
  ];
  crumbs();
  render();
  $("prev-page").disabled = state.page === 0;
  $("next-page").disabled = !page.next_cursor;
  $("page-number").textContent = `page ${state.page + 1}`;
}

function crumbs() {
  const nav = $("crumbs");
  nav.replaceChildren();
  const root = el("a", "bucket", { href: "#" });
  root.addEventListener("click", (e) => {
    e.preventDefault();
    open("");
  });
  nav.append(root);
  let path = "";
  for (const part of state.prefix.split("/").filter((p) => p !== "")) {
    path += `${part}/`;
    const target = path;
    const link = el("a", part, { href: "#" });
    link.addEventListener("click", (e) => {
      e.preventDefault();
      open(target);
    });
    nav.append(el("span", "/", { class: "sep" }), link);
  }
}

function render() {
  const filter = $("filter").value.toLowerCase();
  const rows = state.shown.filter((r) => r.name.toLowerCase().includes(filter));
  const body = $("rows");
  body.replaceChildren(...rows.map(row));
  $("empty").hidden = rows.length > 0;
  $("select-all").checked = false;
  selectionChanged();
}

function row(item) {
  const tr = el("tr");
  tr.dataset.key = item.key;
  const pick = el("input", undefined, { type: "checkbox", "aria-label": `select ${item.name}` });
  pick.className = "pick";
  pick.disabled = item.folder;
  pick.addEventListener("change", selectionChanged);
  const cell = el("td");
  cell.append(pick);
  const name = el("td", undefined, { class: "name" });
  if (item.folder) {
    const link = el("a", item.name, { href: "#", class: "folder" });
    link.addEventListener("click", (e) => {
      e.preventDefault();
      open(item.key);
    });
    name.append(link);
  } else {
    name.textContent = item.name;
  }
  const size = el("td", item.folder ? "" : bytes(item.size), { class: "num" });
  if (!item.folder) size.title = `${item.size} bytes`;
  const when = el("td", item.folder ? "" : new Date(item.last_modified).toLocaleString());
  const actions = el("td");
  if (!item.folder) {
    actions.append(
      button("Download", () => download(item.key)),
      button("Share", () => share(item.key)),
      button("Delete", () => remove([item.key])),
    );
    if (state.cdn) actions.append(button("Purge CDN", () => purge(item.key)));
  }
  tr.append(cell, name, size, when, actions);
  return tr;
}

function button(label, action) {
  const b = el("button", label, { "data-action": label });
  b.addEventListener("click", action);
  return b;
}

function selected() {
  return [...document.querySelectorAll("#rows input.pick:checked")].map((c) => c.closest("tr").dataset.key);
}

function selectionChanged() {
  const n = selected().length;
  $("delete-selected").disabled = n === 0;
  $("delete-selected").textContent = n > 1 ? `Delete ${n} selected` : "Delete selected";
}

// ---- acting on objects ----

async function download(key) {
  say(`Downloading ${key}…`);
  try {
    const blob = await (await api("GET", `/v1/objects/${encodeKey(key)}`)).blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", undefined, { href: url, download: key.split("/").pop() });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say(`Downloaded ${key} (${bytes(blob.size)}).`);
  } catch (e) {
    say(`Downloading ${key} failed: ${e.message}`, true);
  }
}

async function remove(keys) {
  const what = keys.length === 1 ? keys[0] : `${keys.length} objects`;
  if (!window.confirm(`Delete ${what}? This cannot be undone.`)) return;
  try {
    if (keys.length === 1) {
      await api("DELETE", `/v1/objects/${encodeKey(keys[0])}`);
      say(`Deleted ${keys[0]}.`);
    } else {
      const done = await (await api("POST", "/v1/objects/delete", { json: { keys } })).json();
      const failed = done.failed.map((f) => `${f.key} (${f.message})`).join(", ");
      say(failed ? `Deleted ${done.deleted}; not deleted: ${failed}` : `Deleted ${done.deleted} objects.`, !!failed);
    }
  } catch (e) {
    say(`Deleting ${what} failed: ${e.message}`, true);
  }
  await list();
}

async function purge(key) {
  try {
    const done = await (await api("POST", "/v1/cdn/purge", { json: { paths: [key] } })).json();
    say(`Purged ${key} from CDN endpoint ${done.id}.`);
  } catch (e) {
    say(`Purging ${key} failed: ${e.message}`, true);
  }
}

async function share(key) {
  const dialog = $("share");
  dialog.dataset.key = key;
  $("share-key").textContent = key;
  for (const id of ["share-url", "public-url", "cdn-url"]) $(id).value = "";
  $("share-error").textContent = "";
  dialog.showModal();
  const url = async (cdn) => (await (await api("GET", `/v1/url/${encodeKey(key)}${cdn ? "?cdn=true" : ""}`)).json()).url;
  try {
    $("public-url").value = await url(false);
    $("cdn-url").value = await url(true);
  } catch (e) {
    $("share-error").textContent = e.message;
  }
}

async function createShareLink() {
  const key = $("share").dataset.key;
  const expires = Number($("share-expiry").value);
  try {
    const made = await (await api("POST", "/v1/presign", { json: { key, method: "get", expires } })).json();
    $("share-url").value = made.url;
    $("share-url").select();
  } catch (e) {
    $("share-error").textContent = e.message;
  }
}

async function copyShareLink() {
  const input = $("share-url");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy");
  }
}

// ---- uploading ----

const queue = [];
let running = 0;

function upload(files) {
  for (const file of files) {
    const key = state.prefix + file.name;
    const item = el("li");
    const label = el("span", key);
    const bar = el("progress", undefined, { max: String(Math.max(file.size, 1)), value: "0" });
    const info = el("span", `waiting (${bytes(file.size)})`, { class: "info" });
    item.dataset.key = key;
    item.append(label, bar, info);
    $("uploads").append(item);
    queue.push({ file, key, bar, info });
  }
  pump();
}

function pump() {
  while (running < UPLOADS_AT_ONCE && queue.length > 0) {
    running += 1;
    send(queue.shift()).finally(() => {
      running -= 1;
      if (queue.length === 0 && running === 0) {
        list();
        status();
      }
      pump();
    });
  }
}

/** One file as one streamed PUT (the service goes multipart behind it); XHR, because fetch reports no upload progress. */
function send({ file, key, bar, info }) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    const started = performance.now();
    xhr.open("PUT", `/v1/objects/${encodeKey(key)}`);
    xhr.setRequestHeader("Authorization", `Bearer ${token()}`);
    if (file.type) xhr.setRequestHeader("Content-Type", file.type);
    xhr.upload.addEventListener("progress", (e) => {
      bar.value = e.loaded;
      const seconds = (performance.now() - started) / 1000;
      info.textContent = `${bytes(e.loaded)} of ${bytes(file.size)}, ${bytes(e.loaded / Math.max(seconds, 0.001))}/s`;
    });
    xhr.addEventListener("load", async () => {
      if (xhr.status === 200) {
        bar.value = bar.max;
        const seconds = (performance.now() - started) / 1000;
        info.textContent = `done: ${bytes(file.size)} in ${seconds.toFixed(1)} s`;
        info.parentElement.classList.add("done");
      } else {
        let why = `${xhr.status}`;
        try {
          why = JSON.parse(xhr.responseText).detail || why;
        } catch {
          // not a problem document
        }
        info.textContent = `failed: ${why}`;
        info.classList.add("failed");
        if (xhr.status === 401) signOut("The service refused the token; sign in again.");
      }
      resolve();
    });
    xhr.addEventListener("error", () => {
      info.textContent = "failed: the connection broke";
      info.classList.add("failed");
      resolve();
    });
    xhr.send(file);
  });
}

// ---- status ----

/** The sum of every sample of `family` in Prometheus text. */
function metric(text, family) {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${family} `) || line.startsWith(`${family}{`)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
    }
  }
  return sum;
}

async function status() {
  try {
    const ready = await (await fetch("/readyz")).json();
    $("ready").className = `dot ${ready.ready ? "up" : "down"}`;
    // A breaker is listed once it has seen its endpoint fail; none listed means every circuit is closed.
    const circuits = ready.circuits.map((c) => `circuit ${c.state}`).join(", ") || "circuit closed";
    const upstream = ready.ready
      ? `ready · upstream ${ready.upstream_latency_ms.toFixed(1)} ms`
      : `not ready: ${ready.upstream_error || "no answer yet"}`;
    $("ready-text").textContent = [upstream, circuits].filter(Boolean).join(" · ");
    const text = await (await fetch("/metrics")).text();
    const served = metric(text, "spaces_serve_request_duration_seconds_count");
    const moved = metric(text, "spaces_transferred_bytes_total");
    const retries = metric(text, "spaces_operation_retries_total");
    $("counters").textContent = `· ${served} requests served · ${bytes(moved)} moved · ${retries} retries`;
  } catch {
    $("ready").className = "dot down";
    $("ready-text").textContent = "the service does not answer";
  }
}

// ---- wiring ----

function wire() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", list);
  $("filter").addEventListener("input", render);
  $("file-input").addEventListener("change", (e) => {
    upload([...e.target.files]);
    e.target.value = "";
  });
  $("delete-selected").addEventListener("click", () => remove(selected()));
  $("select-all").addEventListener("change", (e) => {
    for (const c of document.querySelectorAll("#rows input.pick:not(:disabled)")) c.checked = e.target.checked;
    selectionChanged();
  });
  $("prev-page").addEventListener("click", () => {
    state.page -= 1;
    list();
  });
  $("next-page").addEventListener("click", () => {
    state.page += 1;
    list();
  });
  $("share-create").addEventListener("click", createShareLink);
  $("share-copy").addEventListener("click", copyShareLink);
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    upload([...e.dataTransfer.files]);
  });
}

wire();
status();
setInterval(status, 5000);
if (token()) {
  start();
} else {
  signOut();
}
