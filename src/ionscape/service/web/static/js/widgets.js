// Small reusable pieces of UI: forms that show API errors, progress bars, copyable secrets, tabs.

import { h, notice, replace } from "./dom.js";

/**
 * A <form> whose submit runs `action(form)`; while it runs the submit button is disabled, and an
 * error it throws is shown above the buttons with the API's message.
 */
export function actionForm(attrs, children, action) {
  const errors = h("div.form-errors", { "aria-live": "polite" });
  const form = h("form", { ...attrs, novalidate: false }, children, errors);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach((button) => (button.disabled = true));
    replace(errors);
    try {
      await action(form);
    } catch (error) {
      replace(errors, notice("error", error.message || String(error)));
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  });
  return form;
}

/** A progress bar; call `.set(fraction, label)` to update it. */
export function progressBar(fraction = 0, label = "") {
  const fill = h("div.progress-fill");
  const text = h("span.progress-label");
  const bar = h("div.progress", { role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, fill);
  const node = h("div.progress-row", {}, bar, text);
  node.set = (value, caption = "") => {
    const percent = Math.max(0, Math.min(100, Math.round(value * 100)));
    fill.style.width = `${percent}%`;
    bar.setAttribute("aria-valuenow", percent);
    text.textContent = caption;
  };
  node.set(fraction, label);
  return node;
}

/** A read-only text box with a copy button, for keys and links shown once. */
export function copyField(value, label = "Copy") {
  const input = h("input.mono", { type: "text", readonly: true, value });
  const button = h("button.button", { type: "button" }, label);
  button.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
  });
  return h("div.copy-field", {}, input, button);
}

/** Tabs: [{id, label, render: () => Node}]; the first (or `initial`) is shown. */
export function tabs(items, initial = items[0].id, onChange = () => {}) {
  const panel = h("div.tab-panel", { role: "tabpanel" });
  const buttons = items.map((item) =>
    h("button.tab", { type: "button", role: "tab", dataset: { tab: item.id }, onclick: () => show(item.id) }, item.label),
  );
  function show(id) {
    const item = items.find((candidate) => candidate.id === id) || items[0];
    for (const button of buttons) button.setAttribute("aria-selected", String(button.dataset.tab === item.id));
    replace(panel, item.render());
    onChange(item.id);
  }
  const node = h("div.tabs", {}, h("div.tab-list", { role: "tablist" }, buttons), panel);
  show(initial);
  return node;
}
