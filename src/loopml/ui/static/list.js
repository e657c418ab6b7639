// Lists with pagination, sort, filters and a choice of columns. Their state lives in the page address
// (`#/runs?runs.s=-metrics.auc&runs.o=50`), so the pager and the sort headers are real links: keyboard, new tab,
// back button and reload all keep the view. Cells hold real links to the objects, never clickable rows.
//
// Two kinds: `all` lists (the API returns them whole; filtered, sorted and paged here) and `page` lists (the API
// pages, filters and sorts them; only the columns the API can sort by are sortable).
import { h } from "./dom.js";

function query() { return new URLSearchParams((location.hash.split("?")[1]) || ""); }

export function hrefWith(changes) {
  const params = query();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") params.delete(k); else params.set(k, String(v));
  }
  const text = params.toString();
  return `${location.hash.split("?")[0]}${text ? `?${text}` : ""}`;
}

function stateOf(id, pageSize, defaultSort) {
  const q = query();
  return {
    offset: Math.max(0, parseInt(q.get(`${id}.o`) || "0", 10) || 0),
    size: Math.min(500, Math.max(5, parseInt(q.get(`${id}.n`) || String(pageSize), 10) || pageSize)),
    sort: q.get(`${id}.s`) ?? defaultSort ?? "",
    filters: Object.fromEntries([...q.entries()].filter(([k]) => k.startsWith(`${id}.f.`)).map(([k, v]) => [k.slice(id.length + 3), v])),
    columns: q.get(`${id}.c`),
  };
}

function visibleColumns(columns, id, state) {
  const saved = state.columns ?? sessionStorage.getItem(`loopml.cols.${id}`);
  if (saved === null) return columns.filter((c) => !c.hidden);
  const keys = new Set(saved.split(","));
  return columns.filter((c) => !c.optional || keys.has(c.key));
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined || a === "") return 1;
  if (b === null || b === undefined || b === "") return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function header(col, state, sortable) {
  if (!sortable) return h("th", { scope: "col", class: col.numeric ? "num" : null }, col.label);
  const key = typeof col.sort === "string" ? col.sort : col.key;
  const now = state.sort === key ? "ascending" : state.sort === `-${key}` ? "descending" : "none";
  const next = now === "ascending" ? `-${key}` : key;
  return h("th", { scope: "col", "aria-sort": now, class: col.numeric ? "num" : null },
    h("a", { href: hrefWith({ [`${state.id}.s`]: next, [`${state.id}.o`]: null }), class: "sort", "data-sort": key },
      col.label, h("span", { class: "arrow", "aria-hidden": "true" }, now === "ascending" ? " ▲" : now === "descending" ? " ▼" : " ↕")));
}

function filtersForm(opts, state) {
  if (!(opts.filters || []).length) return null;
  const inputs = opts.filters.map((f) => f.options
    ? h("label", {}, `${f.label} `, h("select", { name: f.key }, h("option", { value: "" }, f.any || "any"),
      f.options.map((o) => h("option", { value: o, selected: state.filters[f.key] === o }, o))))
    : h("label", {}, `${f.label} `, h("input", { name: f.key, value: state.filters[f.key] || "", placeholder: f.placeholder || "", size: f.size || 16 })));
  const apply = (event) => {
    event.preventDefault();
    const changes = { [`${opts.id}.o`]: null };
    for (const f of opts.filters) changes[`${opts.id}.f.${f.key}`] = event.target.elements[f.key].value.trim();
    location.hash = hrefWith(changes);
  };
  return h("form", { class: "filters", onsubmit: apply, "data-list": opts.id }, inputs, h("button", { type: "submit" }, "Filter"));
}

function columnChooser(opts, all, shown) {
  const optional = all.filter((c) => c.optional);
  if (!optional.length) return null;
  const boxes = optional.map((c) => h("label", {}, h("input", { type: "checkbox", value: c.key, checked: shown.includes(c) }), " ", c.title || c.label));
  const apply = (event) => {
    event.preventDefault();
    const keys = [...event.target.querySelectorAll("input:checked")].map((i) => i.value).join(",");
    sessionStorage.setItem(`loopml.cols.${opts.id}`, keys);
    location.hash = hrefWith({ [`${opts.id}.c`]: keys });
  };
  return h("details", { class: "columns" }, h("summary", {}, `Columns (${shown.filter((c) => c.optional).length} of ${optional.length})`),
    h("form", { onsubmit: apply }, h("div", { class: "choices" }, boxes), h("button", { type: "submit" }, "Show")));
}

function pager(state, count, more, total) {
  const first = count ? state.offset + 1 : 0;
  const last = state.offset + count;
  const prev = Math.max(0, state.offset - state.size);
  const sizes = [10, 25, 50, 100, 200].map((n) => h("option", { value: n, selected: n === state.size }, String(n)));
  return h("nav", { class: "pager", "aria-label": "pages", "data-list": state.id },
    state.offset > 0 ? h("a", { href: hrefWith({ [`${state.id}.o`]: prev || null }), rel: "prev" }, "‹ Previous") : h("span", { class: "muted" }, "‹ Previous"),
    h("span", { class: "range" }, total !== undefined ? `${first}–${last} of ${total}` : `${first}–${last}${more ? " of more" : ""}`),
    more ? h("a", { href: hrefWith({ [`${state.id}.o`]: state.offset + state.size }), rel: "next" }, "Next ›") : h("span", { class: "muted" }, "Next ›"),
    h("label", {}, "per page ", h("select", { onchange: (e) => { location.hash = hrefWith({ [`${state.id}.n`]: e.target.value, [`${state.id}.o`]: null }); } }, sizes)));
}

async function rowsFor(opts, state) {
  if (opts.page) {
    const found = await opts.page({ limit: state.size, offset: state.offset, sort: state.sort, filters: state.filters });
    return { rows: found.items, more: found.next_offset !== null && found.next_offset !== undefined };
  }
  const { items, capped } = await opts.all();
  let rows = items.filter((row) => Object.entries(state.filters).every(([k, v]) => {
    const f = (opts.filters || []).find((x) => x.key === k);
    return !v || !f || String(f.value(row) ?? "").toLowerCase().includes(v.toLowerCase());
  }));
  const key = state.sort.replace(/^-/, "");
  const col = (typeof opts.columns === "function" ? [] : opts.columns).find((c) => c.key === key && c.value);
  if (col) rows = rows.slice().sort((a, b) => (state.sort.startsWith("-") ? -1 : 1) * compare(col.value(a), col.value(b)));
  return { rows: rows.slice(state.offset, state.offset + state.size), more: state.offset + state.size < rows.length,
    total: rows.length, capped };
}

function rowOf(row, columns, opts, depth = 0) {
  const cells = columns.map((c, i) => h("td", { class: c.numeric ? "num" : c.wrap ? "wrap" : null },
    i === 0 && opts.children ? toggle(row, columns, opts, depth) : null, c.cell(row) ?? "–"));
  return h("tr", { class: [opts.rowClass ? opts.rowClass(row) : "", depth ? "child" : ""].join(" ").trim() || null,
    "data-id": opts.rowId ? opts.rowId(row) : null, "data-depth": depth || null }, cells);
}

// A button that shows a row's children (the trials of a tuning study) as indented rows under it.
function toggle(row, columns, opts, depth) {
  const load = opts.children(row);
  if (!load) return depth ? h("span", { class: "indent", "aria-hidden": "true" }, "↳ ") : null;
  const button = h("button", { type: "button", class: "expand", "aria-expanded": "false", title: "show its runs" }, "▸");
  button.addEventListener("click", async () => {
    const tr = button.closest("tr");
    const open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    button.textContent = open ? "▸" : "▾";
    if (open) {
      while (tr.nextSibling && Number(tr.nextSibling.dataset.depth || 0) > depth) tr.nextSibling.remove();
      return;
    }
    const kids = await load();
    tr.after(...kids.map((kid) => rowOf(kid, columns, { ...opts, children: () => null }, depth + 1)));
  });
  return button;
}

export async function listView(opts) {
  const state = { id: opts.id, ...stateOf(opts.id, opts.pageSize || 25, opts.defaultSort) };
  const { rows, more, total, capped } = await rowsFor(opts, state);
  const all = typeof opts.columns === "function" ? opts.columns(rows) : opts.columns;
  const columns = visibleColumns(all, opts.id, state);
  const sortable = (c) => (opts.page ? typeof c.sort === "string" : Boolean(c.value));
  const table = h("table", { class: "list", "data-list": opts.id },
    h("thead", {}, h("tr", {}, columns.map((c) => header(c, state, sortable(c))))),
    h("tbody", {}, rows.length ? rows.map((row) => rowOf(row, columns, opts))
      : h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, opts.empty || "Nothing here yet."))));
  if (opts.onRows) opts.onRows(rows);
  return h("div", { class: "list-view", id: `list-${opts.id}` },
    h("div", { class: "toolbar" }, filtersForm(opts, state), columnChooser(opts, all, columns), opts.tools || null),
    h("div", { class: "table-scroll" }, table),
    pager(state, rows.length, more, total),
    capped ? h("p", { class: "muted" }, "Only the first 5,000 are listed; narrow the filters to see the others.") : null);
}
