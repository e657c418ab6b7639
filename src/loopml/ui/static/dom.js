// Building the page without parsing stored data as HTML: values are set as text. HTML views and SVG charts
// drawn by the server are copied in through an allowlist (no script, no style, no event handler, and links
// only to this UI's own pages), so even a bug on the server cannot inject markup.
const SVG = "http://www.w3.org/2000/svg";

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const h = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) => fill(document.createElementNS(SVG, tag), attrs, children);

// -- the allowlist -------------------------------------------------------------------------------------
const HTML_TAGS = new Set(["div", "span", "p", "a", "b", "strong", "em", "i", "code", "pre", "small", "h2", "h3", "h4",
  "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "br",
  "details", "summary"]);
const SVG_TAGS = new Set(["svg", "g", "rect", "line", "path", "polyline", "polygon", "circle", "text", "tspan", "title", "a"]);
const ATTRS = new Set(["class", "title", "colspan", "rowspan", "role", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy",
  "r", "rx", "ry", "width", "height", "d", "points", "fill", "stroke", "stroke-width", "stroke-dasharray",
  "stroke-linejoin", "stroke-opacity", "fill-opacity", "opacity", "transform", "text-anchor", "font-size",
  "font-weight", "font-family", "viewBox", "dominant-baseline"]);

function allowed(name, value) {
  if (name === "href") return /^#\/[^\s"'<>]*$/.test(value);
  return ATTRS.has(name) || /^(data|aria)-[a-z-]+$/.test(name);
}

function copy(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.data);
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const svg = node.namespaceURI === SVG;
  const tag = node.localName;
  if (!(svg ? SVG_TAGS : HTML_TAGS).has(tag)) return null;
  const el = svg ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const { name, value } of node.attributes) if (allowed(name, value)) el.setAttribute(name, value);
  for (const child of node.childNodes) { const c = copy(child); if (c) el.append(c); }
  return el;
}

// An HTML view from the server (tables, lists, SVG charts) as nodes, through the allowlist.
export function adopt(markup) {
  const doc = new DOMParser().parseFromString(`<!doctype html><body>${markup}`, "text/html");
  const out = h("div", { class: "lml" });
  for (const child of doc.body.childNodes) { const c = copy(child); if (c) out.append(c); }
  return out;
}

// One SVG chart from the server, parsed strictly as XML, through the allowlist.
export function adoptSvg(markup) {
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  const root = doc.documentElement;
  if (root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) throw new Error("the server sent a chart that is not SVG");
  return copy(root);
}

// -- small pieces --------------------------------------------------------------------------------------
const OK = new Set(["SUCCEEDED", "COMPLETED", "Approved", "Completed", "ok", "OK", "InService", "CACHED"]);
const BAD = new Set(["FAILED", "Rejected", "CompletedWithViolations", "ALARM", "Failed", "violations", "STOPPED"]);
const WAIT = new Set(["PendingManualApproval", "PENDING", "STARTING", "INTERRUPTED", "INSUFFICIENT_DATA", "Creating"]);
export function badge(status) {
  const kind = OK.has(status) ? "ok" : BAD.has(status) ? "bad" : WAIT.has(status) ? "wait" : "run";
  return h("span", { class: `badge ${kind}` }, status ?? "–");
}

export function link(href, text, attrs = {}) { return h("a", { href, ...attrs }, text); }
export function card(title, ...children) { return h("section", { class: "card" }, title ? h("h2", {}, title) : null, children); }
export function errorBox(err) { return h("div", { class: "error", role: "alert" }, err.message || String(err)); }
export function note(text) { return h("p", { class: "muted" }, text); }

export function dl(pairs) {
  return h("dl", {}, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export function when(iso) { return iso ? String(iso).replace("T", " ").slice(0, 19) : "–"; }

// Numbers as the server's charts write them: 0.8544, 23,980, 1.2e-5 (never 2.398e+4).
export function num(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e15) return v.toLocaleString("en-US");
  if (a >= 1000) return a < 1e15 ? Math.round(v).toLocaleString("en-US") : v.toExponential(3);
  if (a >= 1e-4) return String(Number(v.toPrecision(4)));
  return v.toExponential(2);
}

export function dur(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  if (seconds === 0) return "0";
  if (Math.abs(seconds) < 1) return `${Number((seconds * 1000).toPrecision(3))} ms`;
  if (Math.abs(seconds) < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min${whole % 60 ? ` ${whole % 60} s` : ""}`;
  const minutes = Math.floor((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h${minutes ? ` ${minutes} min` : ""}`;
}

export function between(start, end) {
  return start && end ? dur((new Date(end) - new Date(start)) / 1000) : "–";
}

// A value for a table cell: numbers readable, objects as key=value pairs (never raw JSON), null as a dash.
export function fmt(value) {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "number") return num(value);
  if (Array.isArray(value)) return value.map(fmt).join(", ");
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k}=${typeof v === "object" && v !== null ? JSON.stringify(v) : fmt(v)}`).join(" · ");
  return String(value);
}

export function short(digest) { return digest ? h("code", { title: digest }, String(digest).slice(0, 19)) : "–"; }
