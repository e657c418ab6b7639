// Talking to the control plane: every call sends the bearer token; nothing is kept in cookies.
// The token lives in this tab's sessionStorage; a tab opened from another (a link in a new tab) asks the open
// tabs of this origin for it over a BroadcastChannel, so links open signed in, and signing out signs out all.
const KEY = "loopml.token";
const channel = "BroadcastChannel" in window ? new BroadcastChannel("loopml") : null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function token() { return sessionStorage.getItem(KEY); }
export function setToken(value) { sessionStorage.setItem(KEY, value); }
export function clearToken({ everywhere = false } = {}) {
  sessionStorage.removeItem(KEY);
  if (everywhere && channel) channel.postMessage({ type: "signed-out" });
}

if (channel) {
  channel.onmessage = (event) => {
    const message = event.data || {};
    if (message.type === "token?" && token()) channel.postMessage({ type: "token", value: token() });
    if (message.type === "signed-out" && token()) { sessionStorage.removeItem(KEY); location.reload(); }
  };
}

// Ask the other open tabs for their token; resolves true when one answered within `wait` ms.
export function borrowToken(wait = 400) {
  if (!channel || token()) return Promise.resolve(Boolean(token()));
  return new Promise((resolve) => {
    const listen = (event) => {
      if ((event.data || {}).type !== "token" || token()) return;
      setToken(event.data.value);
      done(true);
    };
    const done = (found) => { channel.removeEventListener("message", listen); clearTimeout(timer); resolve(found); };
    const timer = setTimeout(() => done(false), wait);
    channel.addEventListener("message", listen);
    channel.postMessage({ type: "token?" });
  });
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const secret = token();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit",
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Every item of a list route, page after page (up to `cap`); `capped` says when more were left out.
export async function everything(path, cap = 5000) {
  const items = [];
  const join = path.includes("?") ? "&" : "?";
  let offset = 0;
  while (offset !== null && items.length < cap) {
    const page = await api(`${path}${join}limit=500&offset=${offset}`);
    items.push(...page.items);
    offset = page.next_offset;
  }
  return { items: items.slice(0, cap), capped: offset !== null };
}

export const enc = encodeURIComponent;
