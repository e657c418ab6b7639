// Charts are drawn by the server (POST /api/v1/charts), by the code that draws every chart of loopml, so a
// chart here looks like the same chart in a notebook. chart(spec) returns a box at once; the specs asked for
// in one turn go in one request; settled() waits until every box is drawn.
import { api } from "./api.js";
import { adoptSvg, h } from "./dom.js";

const queue = [];
const pending = new Set();
const BATCH = 30;

async function flush() {
  const batch = queue.splice(0);
  for (let i = 0; i < batch.length; i += BATCH) {
    const part = batch.slice(i, i + BATCH);
    try {
      const { svgs } = await api("/charts", { method: "POST", body: { charts: part.map((item) => item.spec) } });
      part.forEach((item, j) => item.box.replaceChildren(adoptSvg(svgs[j])));
    } catch (err) {
      part.forEach((item) => item.box.replaceChildren(h("p", { class: "error" }, `chart not drawn: ${err.message}`)));
    }
  }
}

export function chart(spec) {
  const box = h("div", { class: "chart", "data-kind": spec.kind }, h("span", { class: "muted" }, "drawing…"));
  if (!queue.length) {
    const done = Promise.resolve().then(flush);
    pending.add(done);
    done.finally(() => pending.delete(done));
  }
  queue.push({ spec, box });
  return box;
}

export async function settled() {
  while (pending.size) await Promise.allSettled([...pending]);
}
