// SVG charts drawn by hand: bar charts, line charts, a layered DAG and a lineage graph.
import { s } from "./dom.js";

const COLORS = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777"];
export const STATUS_COLORS = { SUCCEEDED: "#bbf7d0", CACHED: "#ddd6fe", FAILED: "#fecaca", RUNNING: "#a5f3fc",
  PENDING: "#fde68a", SKIPPED: "#e5e7eb" };

function defs() {
  return s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#9ca3af" })));
}

export function barChart(items, { width = 420, label = "" } = {}) {
  const rowH = 22, left = 130, height = items.length * rowH + 24;
  const max = Math.max(...items.map((d) => Math.abs(d.value)), 1e-12);
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  items.forEach((d, i) => {
    const y = i * rowH + 4, w = (Math.abs(d.value) / max) * (width - left - 60);
    svg.append(s("text", { x: left - 6, y: y + 14, "text-anchor": "end" }, d.label));
    svg.append(s("rect", { x: left, y, width: Math.max(w, 1), height: rowH - 6, fill: d.color || COLORS[i % COLORS.length] }));
    svg.append(s("text", { x: left + w + 4, y: y + 14 }, typeof d.value === "number" ? d.value.toPrecision(4) : d.value));
  });
  return svg;
}

export function lineChart(series, { width = 520, height = 220, xLabel = "", label = "" } = {}) {
  const pad = { l: 48, r: 110, t: 10, b: 28 };
  const points = series.flatMap((sr) => sr.points);
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  if (!points.length) return svg;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const sy = (y) => height - pad.b - ((y - y0) / (y1 - y0 || 1)) * (height - pad.t - pad.b);
  svg.append(s("line", { class: "axis", x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b }));
  svg.append(s("line", { class: "axis", x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b }));
  svg.append(s("text", { x: 4, y: pad.t + 8 }, y1.toPrecision(3)), s("text", { x: 4, y: height - pad.b }, y0.toPrecision(3)));
  svg.append(s("text", { x: width - pad.r, y: height - 6, "text-anchor": "end" }, xLabel));
  series.forEach((sr, i) => {
    const color = COLORS[i % COLORS.length];
    const d = sr.points.map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    svg.append(s("path", { d, stroke: color, fill: "none", "stroke-width": 2 }));
    sr.points.forEach((p) => svg.append(s("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 3, fill: color }, s("title", {}, `${sr.name} @ ${p[0]}: ${p[1]}`))));
    svg.append(s("text", { x: width - pad.r + 8, y: pad.t + 14 * (i + 1), fill: color }, sr.name));
  });
  return svg;
}

function layers(nodes, edges) {
  const depth = Object.fromEntries(nodes.map((n) => [n.id, 0]));
  for (let pass = 0; pass < nodes.length; pass++) {
    for (const [a, b] of edges) depth[b] = Math.max(depth[b], depth[a] + 1);
  }
  const cols = [];
  nodes.forEach((n) => { (cols[depth[n.id]] ||= []).push(n); });
  return cols;
}

export function graph(nodes, edges, { onClick, nodeW = 150, nodeH = 46 } = {}) {
  const cols = layers(nodes, edges);
  const gapX = 60, gapY = 18, rows = Math.max(...cols.map((c) => c.length), 1);
  const width = cols.length * (nodeW + gapX) + 20, height = rows * (nodeH + gapY) + 20;
  const pos = {};
  cols.forEach((col, i) => col.forEach((n, j) => {
    const offset = ((rows - col.length) * (nodeH + gapY)) / 2;
    pos[n.id] = { x: 10 + i * (nodeW + gapX), y: 10 + offset + j * (nodeH + gapY) };
  }));
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "graph" }, defs());
  for (const [a, b] of edges) {
    const p = pos[a], q = pos[b];
    if (!p || !q) continue;
    const x1 = p.x + nodeW, y1 = p.y + nodeH / 2, x2 = q.x, y2 = q.y + nodeH / 2, mx = (x1 + x2) / 2;
    svg.append(s("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
  }
  for (const n of nodes) {
    const p = pos[n.id];
    const g = s("g", { class: "node", transform: `translate(${p.x},${p.y})`, "data-node": n.id, onclick: onClick && (() => onClick(n)) },
      s("rect", { width: nodeW, height: nodeH, fill: n.color || "#fff" }),
      s("text", { x: 8, y: 18, "font-weight": 600 }, n.label.slice(0, Math.floor((nodeW - 16) / 7))),
      s("text", { x: 8, y: 36 }, (n.sub || "").slice(0, Math.floor((nodeW - 16) / 6.4))),
      s("title", {}, n.title || n.label));
    svg.append(g);
  }
  return svg;
}
