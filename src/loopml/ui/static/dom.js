// Building DOM nodes without parsing HTML strings: every value is set as text, so stored data cannot inject markup.
const SVG = "http://www.w3.org/2000/svg";

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const h = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) => fill(document.createElementNS(SVG, tag), attrs, children);

export function badge(status) { return h("span", { class: `badge s-${status}` }, status); }

export function table(columns, rows, onClick) {
  const head = h("tr", {}, columns.map(([label]) => h("th", {}, label)));
  const body = rows.map((row) => h("tr", { class: onClick ? "click" : "", onclick: onClick && (() => onClick(row)) },
    columns.map(([, get]) => h("td", {}, get(row) ?? ""))));
  return h("table", {}, h("thead", {}, head), h("tbody", {}, body.length ? body : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "nothing yet"))));
}

export function dl(pairs) {
  return h("dl", {}, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export function when(iso) { return iso ? String(iso).replace("T", " ").slice(0, 19) : "-"; }

export function fmt(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (value && typeof value === "object") return JSON.stringify(value);
  return value ?? "";
}
