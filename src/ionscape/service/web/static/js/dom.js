// Building DOM nodes without HTML strings (so user data is never parsed as markup).

/**
 * Create an element: h("a.button.primary", {href: "/x", onclick: fn}, "text", child, [more]).
 * Attributes starting with "on" become listeners; `false`/null/undefined attributes are skipped;
 * null/false children are skipped, arrays are flattened, strings become text.
 */
export function h(selector, attrs = {}, ...children) {
  const [tag, ...classes] = selector.split(".");
  const node = document.createElement(tag || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = [node.className, value].filter(Boolean).join(" ");
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Append children (nodes, strings, numbers, arrays; null and false are skipped). */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Replace all children of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return append(node, children);
}

let fieldCount = 0;

/** A labelled form field: label text, the control, and an optional hint (its accessible description). */
export function field(label, control, hint = null) {
  control.id ||= `field-${++fieldCount}`;
  const hintNode = hint && h("small.hint", { id: `${control.id}-hint` }, hint);
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div.field", {}, h("label.field-label", { for: control.id }, label), control, hintNode);
}

/** A <select> with [value, label] options and the given value selected. */
export function select(options, value, attrs = {}) {
  return h(
    "select",
    attrs,
    options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, label)),
  );
}

/** A message box: kind is "error", "info" or "success". */
export function notice(kind, ...content) {
  return h(`div.notice.${kind}`, { role: kind === "error" ? "alert" : "status" }, content);
}

/** An empty state: a title, a sentence, and optional actions. */
export function emptyState(title, text, ...actions) {
  return h("div.empty", {}, h("h2", {}, title), h("p", {}, text), actions.length && h("div.actions", {}, actions));
}

/** A pill showing a status or visibility. */
export function badge(text, kind = text) {
  return h(`span.badge.badge-${kind}`, {}, text);
}

/** Debounce `fn` by `ms` milliseconds. */
export function debounce(fn, ms = 300) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Save a Blob as a file named `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
