// A modal confirmation with a required note, for decisions that the audit trail keeps (approve, reject,
// reopen) and for starting work. Resolves with the note, or null when cancelled.
import { h } from "./dom.js";

// Closing the dialog any way (a button, Escape, leaving the page) answers once; leaving answers null.
function settle(dialog, resolve) {
  let answered = false;
  const answer = (value) => { if (!answered) { answered = true; resolve(value); } };
  dialog.addEventListener("close", () => { answer(null); dialog.remove(); });
  return (value) => { answer(value); dialog.close(); };
}

export function confirmWithNote({ title, summary, action, danger = false, placeholder = "why (kept in the audit trail)" }) {
  return new Promise((resolve) => {
    const text = h("textarea", { id: "dialog-note", rows: 3, placeholder, "aria-label": "note" });
    const error = h("p", { class: "error", hidden: true, role: "alert" });
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "dialog-title" });
    const close = settle(dialog, resolve);
    const submit = (event) => {
      event.preventDefault();
      if (!text.value.trim()) { error.hidden = false; error.textContent = "Write a note: it is kept with the decision."; return; }
      close(text.value.trim());
    };
    dialog.append(h("form", { onsubmit: submit },
      h("h2", { id: "dialog-title" }, title), summary ? h("div", { class: "summary" }, summary) : null,
      h("label", { for: "dialog-note" }, "Note"), text, error,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: danger ? "danger" : "primary", id: "dialog-confirm" }, action),
        h("button", { type: "button", id: "dialog-cancel", onclick: () => close(null) }, "Cancel"))));
    document.body.append(dialog);
    dialog.showModal();
    text.focus();
  });
}

// A modal form with named fields; resolves with their values, or null when cancelled.
export function formDialog({ title, fields, action, intro }) {
  return new Promise((resolve) => {
    const inputs = fields.map((f) => h("label", {}, h("span", {}, f.label),
      h("input", { name: f.name, value: f.value ?? "", required: f.required || false, placeholder: f.placeholder || "" })));
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "dialog-title" });
    const close = settle(dialog, resolve);
    const submit = (event) => {
      event.preventDefault();
      close(Object.fromEntries(fields.map((f) => [f.name, event.target.elements[f.name].value.trim()])));
    };
    dialog.append(h("form", { onsubmit: submit, class: "fields" }, h("h2", { id: "dialog-title" }, title),
      intro ? h("p", { class: "muted" }, intro) : null, inputs,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "dialog-confirm" }, action),
        h("button", { type: "button", id: "dialog-cancel", onclick: () => close(null) }, "Cancel"))));
    document.body.append(dialog);
    dialog.showModal();
  });
}
