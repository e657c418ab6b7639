// The loopml web UI: a hash router over pages that read the REST API with the user's bearer token.
import { api, ApiError, borrowToken, clearToken, setToken, token } from "./api.js";
import { settled } from "./charts.js";
import { errorBox, h } from "./dom.js";
import { auditPage } from "./page-audit.js";
import { dataPage, datasetPage, featureGroupPage } from "./page-data.js";
import { endpointPage, endpointsPage } from "./page-endpoints.js";
import { groupPage, lineagePage, modelsPage, versionPage } from "./page-models.js";
import { alarmPage, monitoringExecutionPage, monitoringPage, schedulePage } from "./page-monitoring.js";
import { executionPage, pipelinesPage } from "./page-pipelines.js";
import { comparePage, runPage, runsPage } from "./page-runs.js";
import { session } from "./session.js";

const main = document.getElementById("main");
const NEXT = "loopml.next";
const NAME = "[A-Za-z0-9][A-Za-z0-9_.-]*";
const ID = "[A-Za-z0-9_-]+";

const ROUTES = [
  [`^/pipelines$`, pipelinesPage],
  [`^/executions/(${ID})$`, executionPage],
  [`^/runs$`, runsPage],
  [`^/runs/(${ID})$`, runPage],
  [`^/compare$`, comparePage],
  [`^/models$`, modelsPage],
  [`^/models/(${NAME})$`, groupPage],
  [`^/models/(${NAME})/(\\d+)$`, versionPage],
  [`^/lineage/(${NAME})/(\\d+)$`, lineagePage],
  [`^/endpoints$`, endpointsPage],
  [`^/endpoints/(${NAME})$`, endpointPage],
  [`^/monitoring$`, monitoringPage],
  [`^/monitoring/schedules/(${NAME})$`, schedulePage],
  [`^/monitoring/executions/(${ID})$`, monitoringExecutionPage],
  [`^/monitoring/alarms/(${NAME})$`, alarmPage],
  [`^/data$`, dataPage],
  [`^/data/datasets/(${NAME})/(\\d+)$`, datasetPage],
  [`^/data/feature-groups/(${NAME})$`, featureGroupPage],
  [`^/audit$`, auditPage],
].map(([pattern, page]) => [new RegExp(pattern), page]);
const SECTIONS = { executions: "pipelines", compare: "runs", lineage: "models" };

function show(...nodes) { main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined)); }
function go(hash) { location.hash = hash; }

function renderWho() {
  const who = document.getElementById("who");
  if (!session.me) { who.replaceChildren(); return; }
  const out = () => { clearToken({ everywhere: true }); session.me = null; renderWho(); go("#/login"); };
  who.replaceChildren(h("span", {}, `${session.me.user} (${session.me.roles.join(", ") || "no role"})`),
    token() ? h("button", { onclick: out, id: "sign-out" }, "Sign out") : null);
}

function login() {
  const input = h("input", { class: "wide", type: "password", placeholder: "lml_…", "aria-label": "token", id: "token", autocomplete: "off" });
  const out = h("div");
  const submit = async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    try {
      session.me = await api("/me");
      renderWho();
      go(sessionStorage.getItem(NEXT) || "#/pipelines");
      sessionStorage.removeItem(NEXT);
    } catch (err) { clearToken(); out.replaceChildren(errorBox(err)); }
  };
  return [h("h1", {}, "Sign in"), h("section", { class: "card" },
    h("p", {}, "Paste a bearer token. An admin creates one on the server with ", h("code", {}, "loopml tokens create --user NAME"), "."),
    h("form", { onsubmit: submit }, input, " ", h("button", { class: "primary", type: "submit", id: "login" }, "Sign in")), out)];
}

async function whoAmI(hash) {
  if (session.me) return true;
  if (!token()) await borrowToken();
  try {
    session.me = await api("/me");  // single-user mode needs no token
    renderWho();
    return true;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    clearToken();
    if (hash !== "#/login") sessionStorage.setItem(NEXT, hash);
    go("#/login");
    return false;
  }
}

function markNav(path) {
  const first = path.split("/")[1] || "";
  const section = SECTIONS[first] || first;
  document.querySelectorAll("#nav a").forEach((a) => {
    const on = a.getAttribute("href") === `#/${section}`;
    a.classList.toggle("active", on);
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
}

async function route() {
  const hash = location.hash || "#/pipelines";
  const [path, search] = [hash.slice(1).split("?")[0], hash.split("?")[1] || ""];
  markNav(path);
  document.querySelectorAll("dialog[open]").forEach((d) => d.close());  // leaving a page cancels its dialog
  delete main.dataset.route;
  try {
    if (path === "/login") { show(login()); return; }
    if (!(await whoAmI(hash))) return;
    const found = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([m]) => m);
    if (!found) { show(errorBox(new Error(`There is no page ${hash}.`))); return; }
    const [match, page] = found;
    const nodes = await page(...match.slice(1).map(decodeURIComponent), new URLSearchParams(search));
    if (location.hash !== hash && location.hash) return;  // the user moved on meanwhile
    show(nodes);
    await settled();
    document.title = `${(main.querySelector("h1") || {}).textContent || "loopml"} · loopml`;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { clearToken(); session.me = null; renderWho(); sessionStorage.setItem(NEXT, hash); go("#/login"); return; }
    show(h("h1", {}, "Something went wrong"), errorBox(err));
  } finally {
    if (location.hash === hash || !location.hash) main.dataset.route = hash;
  }
}

window.addEventListener("hashchange", route);
route();
