// The artifact browser of a run or a model version: the files the record names, each opened by its digest
// (the path is only a label), previewed as a table, JSON, text or image — never rendered as HTML.
import { api, enc } from "./api.js";
import { errorBox, h, link, note, num, short } from "./dom.js";
import { hrefWith } from "./list.js";

function size(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function shown(preview) {
  if (preview.kind === "table") {
    return [h("p", { class: "muted" }, `${num(preview.total_rows)} rows; the first ${preview.rows.length}:`),
      h("div", { class: "table-scroll" }, h("table", { class: "list preview-table" },
        h("thead", {}, h("tr", {}, preview.columns.map((c) => h("th", {}, c)))),
        h("tbody", {}, preview.rows.map((r) => h("tr", {}, r.map((v) => h("td", {}, v === null ? "–" : typeof v === "number" ? num(v) : String(v)))))))) ];
  }
  if (preview.kind === "json") return h("pre", { class: "preview" }, JSON.stringify(preview.json, null, 2));
  if (preview.kind === "text") return [h("pre", { class: "preview" }, preview.text), preview.truncated ? note("The first 64 KiB.") : null];
  if (preview.kind === "image") return h("img", { class: "preview", alt: preview.path, src: `data:${preview.media_type};base64,${preview.base64}` });
  return note(preview.note || "No preview for this file.");
}

export async function artifactBrowser(base, query) {
  const { items } = await api(`${base}/artifacts`);
  if (!items.length) return note("It names no stored file.");
  const chosen = query.get("artifact");
  const rows = items.map((f) => h("tr", { class: f.digest === chosen ? "chosen" : null },
    h("td", {}, link(hrefWith({ artifact: f.digest }), f.path, { class: "artifact", "aria-current": f.digest === chosen ? "true" : null })),
    h("td", { class: "num" }, size(f.size)), h("td", {}, short(f.digest))));
  let preview = note("Choose a file to preview it.");
  if (chosen) {
    try {
      const found = await api(`${base}/artifacts/${enc(chosen)}`);
      preview = [h("h3", {}, found.path), shown(found)];
    } catch (err) { preview = errorBox(err); }
  }
  return h("div", { class: "artifacts" },
    h("div", { class: "table-scroll files" }, h("table", { class: "list" }, h("thead", {}, h("tr", {}, h("th", {}, "file"), h("th", {}, "size"), h("th", {}, "digest"))), h("tbody", {}, rows))),
    h("div", { class: "artifact-preview", id: "artifact-preview" }, preview));
}
