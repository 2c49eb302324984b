// ragtune web UI: sign in with a key, ask (streamed, with clickable citations), search, documents (upload,
// delete, view with the cited span highlighted), audit log, diagnose reports, adapters, cost.
// Server data only ever reaches the page through textContent / attributes: never innerHTML.

import {
  ApiError, forgetKey, getJSON, request, storeKey, storedKey, streamChat, utf16Index,
} from "./api.js";

const $ = (selector) => document.querySelector(selector);

// Build an element: el("a", {href: "#x", class: "y", onclick: fn}, "text", child...). Strings become text nodes.
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const VIEWS = ["signin", "ask", "search", "documents", "doc", "audit", "diagnose", "adapters", "cost"];
const state = {
  me: null,
  view: null,
  docSpan: null, // {start, end, version, quote} passed to the document view when opening a citation or a hit
  reportUrl: null,
  asking: null, // AbortController of the answer being streamed
};

// ---- small formatting helpers ---------------------------------------------------------------------------------

function shortVersion(version) {
  return version ? String(version).slice(0, 12) : "—";
}

function when(iso) {
  if (!iso) return "—";
  return String(iso).replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$|Z$/, " UTC");
}

function metricText(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === "object" && "value" in value) {
    const ci = Array.isArray(value.ci95) ? ` [${metricText(value.ci95[0])}, ${metricText(value.ci95[1])}]` : "";
    return metricText(value.value) + ci;
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function docPath(id) {
  // document ids may contain "/" (paths relative to an ingested folder): encode each segment
  return "/v1/documents/" + String(id).split("/").map(encodeURIComponent).join("/");
}

function notice(message, kind = "info") {
  const box = $("#notice");
  box.textContent = message;
  box.className = kind === "error" ? "notice error" : "notice";
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.hidden = !message;
}

// Report a failed call where it happened; a rejected key signs out.
function failed(err, where) {
  if (err instanceof ApiError && err.status === 401) {
    signOut("Your key was not accepted (revoked or expired?). Sign in again.");
    return;
  }
  const text = err instanceof ApiError ? err.message : `unexpected error: ${err.message || err}`;
  if (where) {
    where.textContent = text;
    where.classList.add("error");
  } else {
    notice(text, "error");
  }
}

function clearState(node, text = "") {
  node.textContent = text;
  node.classList.remove("error");
}

function cell(label, ...children) {
  return el("td", { "data-label": label }, ...children);
}

// ---- sign in / out ------------------------------------------------------------------------------------------

async function signIn(key) {
  const me = await getJSON("/v1/me", { key });
  storeKey(key);
  state.me = me;
  showAccount();
}

function showAccount() {
  const me = state.me;
  const groups = (me.groups || []).join(", ") || "no groups";
  $("#who").textContent = `${me.name || me.key_id}${me.admin ? " (admin)" : ""} · ${groups}`;
  $("#account").hidden = false;
  $("#nav").hidden = false;
}

function signOut(message) {
  if (state.asking) state.asking.abort();
  forgetKey();
  state.me = null;
  $("#account").hidden = true;
  $("#nav").hidden = true;
  $("#key").value = "";
  for (const id of ["#answer-box", "#audit-record", "#diagnose-report"]) $(id).hidden = true;
  closeReport();
  notice(message || "", message ? "error" : "info");
  if (location.hash && location.hash !== "#signin") history.replaceState(null, "", "#");
  show("signin");
  $("#key").focus();
}

// ---- routing ------------------------------------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const [path, query] = raw.split("?", 2);
  const slash = path.indexOf("/");
  const view = slash < 0 ? path : path.slice(0, slash);
  const arg = slash < 0 ? null : decodeURIComponent(path.slice(slash + 1));
  return { view: VIEWS.includes(view) ? view : "ask", arg, params: new URLSearchParams(query || "") };
}

function show(view) {
  for (const name of VIEWS) $(`#view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  state.view = view;
}

async function route({ focus = false } = {}) {
  if (!state.me) {
    show("signin");
    return;
  }
  const { view, arg, params } = parseHash();
  show(view);
  if (focus && view !== "doc") $(`#view-${view} h1`).focus?.();
  const loaders = {
    ask: loadModels,
    search: () => {},
    documents: loadDocuments,
    doc: () => openDocumentView(arg, params),
    audit: () => loadAudit(arg),
    diagnose: () => loadDiagnose(arg),
    adapters: loadAdapters,
    cost: () => loadCost(),
  };
  await loaders[view]?.();
}

// ---- ask ----------------------------------------------------------------------------------------------------

async function loadModels() {
  const select = $("#ask-model");
  if (select.dataset.loaded) return;
  try {
    const { data = [] } = await getJSON("/v1/models");
    const labels = { default: "default (base model + promoted adapter)", base: "base (no adapter)" };
    select.replaceChildren(...data.map((m) => el("option", { value: m.id }, labels[m.id] || `adapter ${m.id}`)));
    if (!data.length) select.append(el("option", { value: "default" }, labels.default));
    select.dataset.loaded = "yes";
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) failed(err);
    // the list is a convenience: asking works with "default"
  }
}

const MARKER = /\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]/g;

// The same text the server derives from a draft (ragtune.generate.citations.strip_markers).
function stripMarkers(text) {
  return text.replace(MARKER, "").replace(/\s+([.,;:!?])/g, "$1").trim();
}

function citeButton(citation) {
  return el("button", {
    type: "button", class: "cite", dataset: { n: citation.n },
    "aria-label": `Citation ${citation.n}: ${citation.doc_id}, characters ${citation.start} to ${citation.end}`,
    onclick: () => openCitation(citation),
  }, `[${citation.n}]`);
}

// Show the verified answer with a button for each citation. When the draft (the streamed text, which carries the
// model's [n] markers) is the verified answer plus markers, the buttons sit where the model put the markers;
// markers whose citation did not verify disappear. Otherwise (abstained, rewritten) the buttons follow the text.
function renderAnswer(container, draft, verified, citations) {
  container.replaceChildren();
  const queues = new Map();
  for (const c of citations) {
    const n = Number(c.n);
    if (!queues.has(n)) queues.set(n, []);
    queues.get(n).push(c);
  }
  const take = (n) => {
    const queue = queues.get(n);
    if (!queue || !queue.length) return null;
    return queue.length > 1 ? queue.shift() : queue[0];
  };
  const used = new Set();
  if (citations.length && stripMarkers(draft) === verified.trim()) {
    let last = 0;
    for (const match of draft.matchAll(MARKER)) {
      container.append(draft.slice(last, match.index));
      for (const number of match[1].split(/\s*[,;]\s*/)) {
        const citation = take(Number(number));
        if (citation) {
          container.append(citeButton(citation));
          used.add(citation);
        }
      }
      last = match.index + match[0].length;
    }
    container.append(draft.slice(last));
    const rest = citations.filter((c) => !used.has(c));
    if (rest.length) container.append(" ", ...rest.map(citeButton));
    return;
  }
  container.append(verified);
  if (citations.length) container.append(" ", ...citations.map(citeButton));
}

function renderCitations(citations) {
  const list = $("#citations");
  list.replaceChildren(...citations.map((c) => el("li", { value: c.n, dataset: { n: c.n } },
    el("button", { type: "button", class: "link", onclick: () => openCitation(c) }, c.doc_id),
    el("span", { class: "meta" }, ` · characters ${c.start}–${c.end} · version ${shortVersion(c.doc_version)}`),
    c.quote ? el("div", {}, el("q", {}, c.quote)) : null,
  )));
  $("#citations-box").hidden = citations.length === 0;
}

async function ask(question) {
  const box = $("#answer-box");
  const answer = $("#answer");
  const status = $("#answer-state");
  const audit = $("#answer-audit");
  box.hidden = false;
  answer.replaceChildren();
  answer.setAttribute("aria-busy", "true");
  clearState(status, "Retrieving and generating…");
  $("#citations-box").hidden = true;
  audit.hidden = true;
  const controller = new AbortController();
  state.asking = controller;
  $("#ask-submit").disabled = true;
  $("#ask-stop").hidden = false;
  const streamed = document.createTextNode("");
  answer.append(streamed);
  try {
    const { text, ragtune } = await streamChat({
      model: $("#ask-model").value || "default",
      messages: [{ role: "user", content: question }],
    }, {
      signal: controller.signal,
      onToken: (piece) => {
        streamed.appendData(piece);
        if (status.textContent) clearState(status, "");
      },
    });
    const meta = ragtune || {};
    const citations = Array.isArray(meta.citations) ? meta.citations : [];
    // the grounded answer (unsupported citations dropped) may differ from the raw streamed text
    const final = typeof meta.answer === "string" ? meta.answer : stripMarkers(text);
    renderAnswer(answer, text.trim(), final, citations);
    renderCitations(citations);
    if (meta.abstained) {
      clearState(status, `Abstained${meta.abstain_reason ? `: ${meta.abstain_reason}` : ""}.`);
    } else {
      clearState(status, citations.length ? "" : "No citations.");
    }
    if (meta.audit_id) {
      audit.replaceChildren("Audit record ", el("a", { href: `#audit/${encodeURIComponent(meta.audit_id)}` },
        meta.audit_id));
      audit.hidden = false;
    }
  } catch (err) {
    if (err.name === "AbortError") clearState(status, "Stopped.");
    else failed(err, status);
  } finally {
    answer.setAttribute("aria-busy", "false");
    state.asking = null;
    $("#ask-submit").disabled = false;
    $("#ask-stop").hidden = true;
  }
}

function openCitation(c) {
  openDocument(c.doc_id, { start: c.start, end: c.end, version: c.doc_version, quote: c.quote });
}

// ---- search -------------------------------------------------------------------------------------------------

async function search(query, mode) {
  const status = $("#search-state");
  const list = $("#search-results");
  clearState(status, "Searching…");
  list.replaceChildren();
  try {
    const { results = [] } = await getJSON("/v1/search", { method: "POST", json: { query, mode, k: 10 } });
    clearState(status, `${results.length} result${results.length === 1 ? "" : "s"}.`);
    list.replaceChildren(...results.map((hit) => el("li", { dataset: { docId: hit.doc_id } },
      el("button", {
        type: "button", class: "link",
        onclick: () => openDocument(hit.doc_id, { start: hit.start, end: hit.end, version: hit.doc_version,
          quote: hit.text }),
      }, hit.doc_id),
      el("span", { class: "meta" }, ` · score ${metricText(hit.score)} · characters ${hit.start}–${hit.end}`),
      el("p", { class: "snippet" }, hit.text && hit.text.length > 300 ? `${hit.text.slice(0, 300)}…` : hit.text),
    )));
  } catch (err) {
    failed(err, status);
  }
}

// ---- documents ----------------------------------------------------------------------------------------------

// When the document was last (re)indexed, and when its source last synced (known to admin keys).
function syncState(doc, sources) {
  const parts = [doc.updated ? `indexed ${when(doc.updated)}` : "indexed"];
  const source = sources.get(doc.source);
  if (source) parts.push(source.synced ? `source synced ${when(source.synced)}` : "source never synced");
  return parts.join(" · ");
}

async function loadSources() {
  const sources = new Map();
  const box = $("#sources-box");
  if (!state.me || !state.me.admin) {
    box.hidden = true;
    return sources;
  }
  try {
    const result = await getJSON("/v1/sources");
    for (const src of result.sources || []) sources.set(src.name, src);
    $("#sources-table tbody").replaceChildren(...[...sources.values()].map((src) => el("tr", { dataset: { source: src.name } },
      cell("Source", src.name),
      cell("Root", el("span", { class: "mono" }, src.root ?? "—")),
      cell("Documents", src.documents ?? "—"),
      cell("Last synced", src.synced ? when(src.synced) : "never"),
      el("td", {}, src.root
        ? el("button", { type: "button", class: "secondary", "aria-label": `Sync source ${src.name}`,
          onclick: (event) => syncSource(src.name, event.target) }, "Sync now")
        : null),
    )));
    box.hidden = sources.size === 0;
  } catch (err) {
    box.hidden = true;
    if (err instanceof ApiError && err.status === 401) failed(err);
  }
  return sources;
}

async function syncSource(name, button) {
  const status = $("#sources-state");
  button.disabled = true;
  clearState(status, `Syncing ${name}…`);
  try {
    const report = await getJSON("/v1/sync", { method: "POST", json: { source: name } });
    await loadDocuments();
    clearState(status, `Synced ${name}: ${summarize(report)}.`);
  } catch (err) {
    failed(err, status);
  } finally {
    button.disabled = false;
  }
}

async function loadDocuments() {
  const status = $("#documents-state");
  const body = $("#documents-table tbody");
  clearState(status, "Loading…");
  try {
    const [{ documents = [] }, sources] = await Promise.all([getJSON("/v1/documents"), loadSources()]);
    clearState(status, `${documents.length} document${documents.length === 1 ? "" : "s"}.`);
    body.replaceChildren(...documents.map((doc) => el("tr", { dataset: { docId: doc.id } },
      cell("Document", el("button", { type: "button", class: "link", onclick: () => openDocument(doc.id) }, doc.id),
        doc.title && doc.title !== doc.id ? el("div", { class: "meta" }, doc.title) : null),
      cell("Source", doc.source ?? "—"),
      cell("Version", el("span", { class: "mono", title: doc.version || "" }, shortVersion(doc.version))),
      cell("Chunks", doc.chunks ?? "—"),
      cell("Groups", (doc.groups || []).length ? doc.groups.map((g) => el("span", { class: "pill" }, g)) : "everyone"),
      cell("Sync state", syncState(doc, sources)),
      el("td", {}, el("button", { type: "button", class: "danger", "aria-label": `Delete ${doc.id}`,
        onclick: () => deleteDocument(doc.id) }, "Delete")),
    )));
  } catch (err) {
    failed(err, status);
  }
}

async function deleteDocument(id) {
  if (!window.confirm(`Delete ${id}? Its chunks leave the index; audit records keep what they cited.`)) return;
  const status = $("#documents-state");
  try {
    await request(docPath(id), { method: "DELETE" });
    await loadDocuments();
    clearState(status, `Deleted ${id}. ${status.textContent}`);
  } catch (err) {
    failed(err, status);
  }
}

function summarize(result) {
  if (!result || typeof result !== "object") return "";
  const parts = [];
  if (result.unchanged === true) parts.push("unchanged");
  else if (result.updated === true) parts.push("updated");
  for (const k of ["added", "updated", "removed", "unchanged"]) {
    const v = result[k];
    if (typeof v === "number" || Array.isArray(v)) parts.push(`${k} ${Array.isArray(v) ? v.length : v}`);
  }
  if (typeof result.chunks === "number") parts.push(`${result.chunks} chunk${result.chunks === 1 ? "" : "s"}`);
  if (Array.isArray(result.failed) && result.failed.length) parts.push(`${result.failed.length} failed`);
  return parts.join(", ");
}

async function upload(form) {
  const status = $("#upload-state");
  const file = $("#upload-file").files[0];
  if (!file) return;
  const data = new FormData();
  data.append("file", file, file.name);
  const source = $("#upload-source").value.trim();
  const groups = $("#upload-groups").value.trim();
  if (source) data.append("source", source);
  if (groups) data.append("groups", groups);
  clearState(status, `Uploading ${file.name}…`);
  $("#upload-submit").disabled = true;
  try {
    const result = await getJSON("/v1/documents", { method: "POST", body: data });
    const summary = summarize(result);
    form.reset();
    await loadDocuments();
    clearState(status, `Uploaded ${file.name}${result && result.id ? ` as ${result.id}` : ""}` +
      `${summary ? ` (${summary})` : ""}.`);
  } catch (err) {
    failed(err, status);
  } finally {
    $("#upload-submit").disabled = false;
  }
}

// ---- one document, with a span highlighted ---------------------------------------------------------------------

function openDocument(id, span = null) {
  state.docSpan = span;
  const query = span ? `?start=${span.start}&end=${span.end}` : "";
  const hash = `#doc/${encodeURIComponent(id)}${query}`;
  if (location.hash === hash) route();
  else location.hash = hash;
}

// Put `text` into `container` with characters [start, end) (code-point offsets) in a <mark>; returns the mark.
function highlight(container, text, start, end) {
  container.replaceChildren();
  if (!(Number.isInteger(start) && Number.isInteger(end) && end >= start)) {
    container.append(text);
    return null;
  }
  const a = utf16Index(text, start);
  const b = utf16Index(text, end);
  const mark = el("mark", { id: "cited", tabindex: "-1" }, text.slice(a, b));
  container.append(text.slice(0, a), mark, text.slice(b));
  return mark;
}

async function openDocumentView(id, params) {
  const title = $("#doc-title");
  const meta = $("#doc-meta");
  const warning = $("#doc-warning");
  const textBox = $("#doc-text");
  title.textContent = id || "Document";
  meta.replaceChildren();
  warning.hidden = true;
  textBox.textContent = "Loading…";
  const fromHash = params.has("start") && params.has("end")
    ? { start: Number(params.get("start")), end: Number(params.get("end")) } : null;
  const span = state.docSpan && fromHash && state.docSpan.start === fromHash.start
    && state.docSpan.end === fromHash.end ? state.docSpan : fromHash;
  try {
    const doc = await getJSON(docPath(id));
    title.textContent = doc.title || doc.id;
    const rows = [["Document", doc.id], ["Source", doc.source ?? "—"], ["Version", doc.version ?? "—"],
      ["Chunks", Array.isArray(doc.chunks) ? doc.chunks.length : (doc.chunks ?? "—")]];
    if (span) rows.push(["Highlighted", `characters ${span.start}–${span.end}`]);
    meta.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
    const text = doc.text ?? "";
    const mark = span ? highlight(textBox, text, span.start, span.end) : highlight(textBox, text, null, null);
    const problems = [];
    if (span && span.version && doc.version && span.version !== doc.version) {
      problems.push(`The citation points at version ${shortVersion(span.version)}, but the document is now at ` +
        `version ${shortVersion(doc.version)}: the highlighted characters may no longer be the cited text.`);
    }
    if (mark && span.quote && mark.textContent !== span.quote) {
      problems.push("The highlighted text differs from the quoted text.");
    }
    warning.textContent = problems.join(" ");
    warning.hidden = problems.length === 0;
    if (mark) {
      mark.scrollIntoView({ block: "center" });
      mark.focus({ preventScroll: true });
    }
  } catch (err) {
    textBox.textContent = "";
    failed(err, warning);
    warning.hidden = false;
  }
}

// ---- audit --------------------------------------------------------------------------------------------------

function outcome(record) {
  if (record.abstained) return "abstained";
  if (Array.isArray(record.citations)) return `${record.citations.length} citation(s)`;
  return record.kind === "answer" ? "answered" : "—";
}

async function loadAudit(recordId) {
  const status = $("#audit-state");
  const body = $("#audit-table tbody");
  clearState(status, "Loading…");
  verifyAudit();
  try {
    const result = await getJSON("/v1/audit?limit=50");
    const records = result.records || result.items || [];
    clearState(status, `${records.length} record${records.length === 1 ? "" : "s"} shown.`);
    body.replaceChildren(...records.map((r) => el("tr", { dataset: { recordId: r.id } },
      cell("Record", el("a", { href: `#audit/${encodeURIComponent(r.id)}`, class: "mono" }, r.id)),
      cell("Time", when(r.created)),
      cell("Kind", r.kind ?? "—"),
      cell("Question", r.question ?? "—"),
      cell("Outcome", outcome(r)),
    )));
  } catch (err) {
    failed(err, status);
  }
  if (recordId) await showRecord(recordId);
  else $("#audit-record").hidden = true;
}

async function showRecord(id) {
  const box = $("#audit-record");
  state.record = id;
  clearState($("#audit-replay-state"));
  const summary = $("#audit-record-summary");
  box.hidden = false;
  $("#audit-record-title").textContent = `Record ${id}`;
  summary.replaceChildren();
  $("#audit-record-json").textContent = "Loading…";
  try {
    const r = await getJSON(`/v1/audit/${encodeURIComponent(id)}`);
    const model = r.model || {};
    const rows = [
      ["Time", when(r.created)], ["Kind", r.kind], ["API key", r.api_key_id ?? "—"],
      ["Question", r.question], ["Answer", r.answer], ["Abstained", r.abstained === undefined ? undefined :
        (r.abstained ? `yes${r.abstain_reason ? ` (${r.abstain_reason})` : ""}` : "no")],
      ["Model", model.model_id ? `${model.model_id}${model.adapter_id ? ` + ${model.adapter_id}` : ""}` : undefined],
      ["Store version", r.store_version], ["Hash", r.hash], ["Previous hash", r.prev_hash],
    ].filter(([, v]) => v !== undefined && v !== null);
    summary.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
    if (Array.isArray(r.citations) && r.citations.length) {
      summary.append(el("dt", {}, "Citations"), el("dd", {}, el("ol", { class: "citations" },
        r.citations.map((c) => el("li", { value: c.n },
          el("button", { type: "button", class: "link", onclick: () => openCitation(c) }, c.doc_id),
          el("span", { class: "meta" }, ` · characters ${c.start}–${c.end}`))))));
    }
    $("#audit-record-json").textContent = JSON.stringify(r, null, 2);
    $("#audit-record-title").focus?.();
  } catch (err) {
    $("#audit-record-json").textContent = "";
    failed(err, summary);
  }
}

async function replay(id) {
  const status = $("#audit-replay-state");
  clearState(status, "Replaying (retrieval and generation run again)…");
  try {
    const r = await getJSON(`/v1/audit/${encodeURIComponent(id)}/replay`, { method: "POST" });
    const same = ["same_model", "same_retrieval", "same_answer"].map((k) => `${k.replace("_", " ")}: ${r[k] ? "yes" : "no"}`);
    clearState(status, `${r.identical ? "Identical" : "Differs"} at store version ${r.store_version} (${same.join(", ")}).` +
      (r.identical ? "" : ` Replayed answer: ${r.replayed_answer}`));
  } catch (err) {
    failed(err, status);
  }
}

async function verifyAudit() {
  const badge = $("#audit-badge");
  badge.className = "badge";
  badge.textContent = "verifying…";
  try {
    const v = await getJSON("/v1/audit/verify");
    if (v.ok) {
      badge.className = "badge ok";
      badge.textContent = `chain verified · ${v.records} record${v.records === 1 ? "" : "s"}`;
    } else {
      badge.className = "badge bad";
      badge.textContent = `chain BROKEN at record ${v.first_bad}${v.reason ? `: ${v.reason}` : ""}`;
    }
  } catch (err) {
    badge.className = "badge bad";
    badge.textContent = err instanceof ApiError ? `cannot verify: ${err.message}` : "cannot verify";
    if (err instanceof ApiError && err.status === 401) failed(err);
  }
}

// ---- diagnose -----------------------------------------------------------------------------------------------

function closeReport() {
  if (state.reportUrl) URL.revokeObjectURL(state.reportUrl);
  state.reportUrl = null;
  $("#diagnose-frame").removeAttribute("src");
  $("#diagnose-open").removeAttribute("href");
  $("#diagnose-report").hidden = true;
}

async function loadDiagnose(runId) {
  const status = $("#diagnose-state");
  const list = $("#diagnose-list");
  clearState(status, "Loading…");
  try {
    const result = await getJSON("/v1/diagnose");
    const runs = result.runs || [];
    clearState(status, runs.length ? `${runs.length} report${runs.length === 1 ? "" : "s"}.` :
      "No diagnose runs yet (ragtune diagnose --qa QA.jsonl).");
    list.replaceChildren(...runs.map((run) => el("li", { dataset: { runId: run.id } },
      run.has_report === false
        ? el("span", { class: "mono" }, run.id)
        : el("a", { href: `#diagnose/${encodeURIComponent(run.id)}`, "aria-label": `Open report ${run.id}` }, run.id),
      el("span", { class: "meta" }, [
        run.verdict ? ` · verdict ${run.verdict}` : "", run.created ? ` · ${when(run.created)}` : "",
        run.target !== undefined && run.target !== null ? ` · target ${metricText(run.target)}` : "",
        run.has_report === false ? " · no HTML report (run without --report)" : "",
      ].join("")),
      run.conditions && Object.keys(run.conditions).length ? el("div", { class: "meta" },
        Object.entries(run.conditions).map(([k, v]) => `${k} ${metricText(v)}`).join(" · ")) : null,
    )));
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      clearState(status, "Diagnose runs are shown to admin keys only: their eval sets may quote any document.");
      list.replaceChildren();
      closeReport();
      return;
    }
    failed(err, status);
  }
  if (runId) await openReport(runId);
  else closeReport();
}

async function openReport(id) {
  const box = $("#diagnose-report");
  const title = $("#diagnose-report-title");
  closeReport();
  box.hidden = false;
  title.textContent = `Report ${id}`;
  try {
    const response = await request(`/v1/diagnose/${encodeURIComponent(id)}/report`, { accept: "text/html" });
    const html = await response.text();
    // the report is fetched with the key and shown from a blob URL in a sandboxed frame (no scripts run)
    state.reportUrl = URL.createObjectURL(new Blob([html], { type: "text/html" }));
    $("#diagnose-frame").src = state.reportUrl;
    $("#diagnose-open").href = state.reportUrl;
  } catch (err) {
    failed(err, title);
  }
}

// ---- adapters -----------------------------------------------------------------------------------------------

async function loadAdapters() {
  const status = $("#adapters-state");
  const body = $("#adapters-table tbody");
  clearState(status, "Loading…");
  try {
    const { adapters = [] } = await getJSON("/v1/adapters");
    clearState(status, adapters.length ? `${adapters.length} adapter${adapters.length === 1 ? "" : "s"}.` :
      "No adapters yet (ragtune finetune --train T.jsonl).");
    body.replaceChildren(...adapters.map((a) => el("tr", { dataset: { adapterId: a.id } },
      cell("Adapter", el("span", { class: "mono" }, a.id)),
      cell("Name", a.name ?? "—"),
      cell("Created", when(a.created)),
      cell("Promoted", a.promoted ? "yes" : "no"),
      cell("Metrics", a.metrics && Object.keys(a.metrics).length
        ? el("dl", { class: "meta-list" }, Object.entries(a.metrics).flatMap(([k, v]) =>
          [el("dt", {}, k), el("dd", {}, metricText(v))]))
        : "—"),
    )));
  } catch (err) {
    failed(err, status);
  }
}

// ---- cost ---------------------------------------------------------------------------------------------------

const OPTION_LABEL = {
  prompt: "a prompted model", rag: "RAG", finetune: "a fine-tuned adapter", "rag+finetune": "RAG with a fine-tuned adapter",
};
const OPTION_COLOR = { prompt: "#4c72b0", rag: "#dd8452", finetune: "#55a868", "rag+finetune": "#8172b3" };
const OPTION_DASH = { prompt: "", rag: "6 4", finetune: "8 3 2 3", "rag+finetune": "2 3" };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

function money(value, currency) {
  if (value === null || value === undefined) return "unknown";
  const digits = value !== 0 && Math.abs(value) < 0.01 ? 6 : 2;
  return `${value.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

// Monthly cost against queries a day, both axes logarithmic (as in the diagnose report), drawn from the sweep.
function costChart(data) {
  const width = 640, height = 320, left = 64, right = 36, top = 12, bottom = 44;
  const options = Object.keys(data.options).filter((n) => data.options[n].complete);
  const points = data.sweep.filter((row) => row.queries_per_day > 0);
  const ys = points.flatMap((row) => options.map((n) => row[n])).filter((v) => v > 0);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", id: "cost-svg",
    "aria-label": "Cost a month against queries a day per option, with break-even points" });
  if (!options.length || !points.length || !ys.length) return root;
  const [x0, x1] = [Math.log10(points[0].queries_per_day), Math.log10(points[points.length - 1].queries_per_day)];
  const [y0, y1] = [Math.floor(Math.log10(Math.min(...ys))), Math.ceil(Math.log10(Math.max(...ys)))];
  const X = (v) => left + (Math.log10(v) - x0) / Math.max(x1 - x0, 1e-9) * (width - left - right);
  const Y = (v) => top + (1 - (Math.log10(Math.max(v, 10 ** y0)) - y0) / Math.max(y1 - y0, 1e-9)) * (height - top - bottom);
  const axes = svg("g", { class: "axes" });
  for (let d = Math.ceil(x0); d <= Math.floor(x1); d += 1) {
    axes.append(svg("line", { x1: X(10 ** d), x2: X(10 ** d), y1: top, y2: height - bottom, class: "grid" }),
      svg("text", { x: X(10 ** d), y: height - bottom + 16, "text-anchor": "middle" }, (10 ** d).toLocaleString("en")));
  }
  for (let d = y0; d <= y1; d += 1) {
    axes.append(svg("line", { x1: left, x2: width - right, y1: Y(10 ** d), y2: Y(10 ** d), class: "grid" }),
      svg("text", { x: left - 6, y: Y(10 ** d) + 4, "text-anchor": "end" }, (10 ** d).toLocaleString("en")));
  }
  axes.append(svg("text", { x: (left + width - right) / 2, y: height - 6, "text-anchor": "middle" }, "queries a day"),
    svg("text", { x: 14, y: (top + height - bottom) / 2, "text-anchor": "middle",
      transform: `rotate(-90 14 ${(top + height - bottom) / 2})` }, `cost a month (${data.currency})`));
  root.append(axes);
  for (const name of options) {
    const path = points.map((row, i) => `${i ? "L" : "M"}${X(row.queries_per_day).toFixed(1)},${Y(row[name]).toFixed(1)}`);
    root.append(svg("path", { d: path.join(" "), fill: "none", stroke: OPTION_COLOR[name], "stroke-width": 2,
      "stroke-dasharray": OPTION_DASH[name], class: "cost-line", "data-option": name }));
  }
  const volume = data.volume.queries_per_day;
  if (volume && volume >= points[0].queries_per_day && volume <= points[points.length - 1].queries_per_day) {
    root.append(svg("line", { x1: X(volume), x2: X(volume), y1: top, y2: height - bottom, class: "now" }));
  }
  for (const b of data.break_even) {
    const [a] = b.options;
    const row = points.find((r) => Math.abs(r.queries_per_day - b.queries_per_day) < 0.01);
    if (!row || row[a] === undefined || row[a] === null) continue;
    const mark = svg("circle", { cx: X(b.queries_per_day), cy: Y(row[a]), r: 4, class: "break-even" });
    mark.append(svg("title", {}, `${OPTION_LABEL[b.options[0]]} = ${OPTION_LABEL[b.options[1]]} at ` +
      `${Math.round(b.queries_per_day).toLocaleString("en")} queries/day`));
    root.append(mark, svg("text", { x: X(b.queries_per_day) + 6, y: Y(row[a]) + 14, class: "mark" },
      `${Math.round(b.queries_per_day).toLocaleString("en")}/day`));
  }
  const legend = svg("g", { class: "legend" });
  options.forEach((name, i) => {
    legend.append(svg("line", { x1: left + 10, x2: left + 34, y1: top + 10 + i * 16, y2: top + 10 + i * 16,
      stroke: OPTION_COLOR[name], "stroke-width": 2, "stroke-dasharray": OPTION_DASH[name] }),
    svg("text", { x: left + 40, y: top + 14 + i * 16 }, OPTION_LABEL[name]));
  });
  root.append(legend);
  return root;
}

async function loadCost(volume = null) {
  const status = $("#cost-state");
  const box = $("#cost-box");
  clearState(status, "Loading…");
  const query = volume === null ? "" : `?volume=${encodeURIComponent(volume)}`;
  try {
    const data = await getJSON(`/v1/cost${query}`);
    const at = data.volume.queries_per_day;
    clearState(status, at === null ? "No volume measured or given: enter queries a day." :
      `At ${Math.round(at).toLocaleString("en")} queries a day (${data.volume.status}${data.volume.from ? `: ${data.volume.from}` : ""}).`);
    $("#cost-recommendation").textContent = data.recommendation;
    $("#cost-chart").replaceChildren(costChart(data));
    $("#cost-caption").textContent = data.break_even.length
      ? "Dots are break-evens: " + data.break_even.map((b) => `${OPTION_LABEL[b.cheaper_below]} is cheaper below ` +
        `${Math.round(b.queries_per_day).toLocaleString("en")} queries/day, ${OPTION_LABEL[b.cheaper_above]} above`).join("; ") + "."
      : "No break-even in range: one option is cheaper at every volume.";
    $("#cost-table tbody").replaceChildren(...Object.entries(data.options).map(([name, o]) => el("tr", { dataset: { option: name } },
      cell("Option", OPTION_LABEL[name] ?? name), cell("A month", money(o.monthly, data.currency)),
      cell("Per 1,000 queries", money(o.per_1k_queries, data.currency)), cell("Per query", money(o.per_query, data.currency)),
      cell("Fixed a month", money(o.fixed_per_month, data.currency)), cell("One-off", money(o.one_off, data.currency)),
      cell("Unknown inputs", o.unknown.join(", ") || "—"))));
    $("#cost-inputs tbody").replaceChildren(...Object.entries(data.inputs).map(([name, p]) => el("tr", {},
      cell("Input", name), cell("Status", p.status), cell("Value", p.value === null ? "—" : metricText(p.value)),
      cell("From", p.from || "—"))));
    $("#cost-missing").replaceChildren(...data.missing.map((m) => el("li", { class: "warning" }, `missing: ${m}`)));
    box.hidden = false;
  } catch (err) {
    box.hidden = true;
    if (err instanceof ApiError && err.status === 403) {
      clearState(status, "Costs are shown to admin keys only: they reveal query volumes across every key.");
      return;
    }
    failed(err, status);
  }
}

// ---- wiring -------------------------------------------------------------------------------------------------

function wire() {
  $("#signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("#signin-error");
    error.hidden = true;
    const key = $("#key").value.trim();
    if (!key) return;
    try {
      await signIn(key);
      notice("");
      if (!location.hash || location.hash === "#signin") location.hash = "#ask";
      await route({ focus: true });
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? "That key was not accepted." : `Cannot sign in: ${err.message}`;
      error.hidden = false;
      $("#key").focus();
    }
  });
  $("#signout").addEventListener("click", () => signOut());

  $("#ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("#question").value.trim();
    if (question && !state.asking) ask(question);
  });
  $("#question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("#ask-form").requestSubmit();
    }
  });
  $("#ask-stop").addEventListener("click", () => state.asking?.abort());

  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("#search-q").value.trim();
    if (query) search(query, $("#search-mode").value);
  });

  $("#upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    upload(event.target);
  });
  $("#documents-refresh").addEventListener("click", loadDocuments);
  $("#doc-back").addEventListener("click", () => {
    if (history.length > 1) history.back();
    else location.hash = "#documents";
  });

  $("#audit-verify").addEventListener("click", verifyAudit);
  $("#audit-refresh").addEventListener("click", () => loadAudit(null));
  $("#audit-replay").addEventListener("click", () => state.record && replay(state.record));
  $("#audit-record-close").addEventListener("click", () => { location.hash = "#audit"; });
  $("#diagnose-close").addEventListener("click", () => { location.hash = "#diagnose"; });
  $("#cost-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#cost-volume").value.trim();
    loadCost(value === "" ? null : Number(value));
  });

  for (const h of document.querySelectorAll(".view h1, .card h2")) h.setAttribute("tabindex", "-1");
  window.addEventListener("hashchange", () => route({ focus: true }));
}

async function start() {
  wire();
  const key = storedKey();
  if (key) {
    try {
      await signIn(key);
    } catch (err) {
      forgetKey();
      if (!(err instanceof ApiError && err.status === 401)) notice(`Cannot reach the server: ${err.message}`, "error");
    }
  }
  if (!state.me) {
    show("signin");
    return;
  }
  await route();
}

start();
