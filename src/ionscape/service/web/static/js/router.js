// Client-side routing with the History API: "/datasets/:id" patterns, link interception, view cleanup.

import { ApiError } from "./api.js";
import { emptyState, h, notice, replace } from "./dom.js";
import { flash } from "./flash.js";

const routes = [];
let outlet = null;
let disposers = [];
let renderCount = 0;

/** Register a view: `render(ctx)` returns a Node; ctx has params, query, onDispose(fn), isCurrent(). */
export function route(pattern, render, title) {
  const names = [];
  const regex = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${regex}/?$`), names, render, title });
}

/** Go to `path` (adds a history entry unless `replaceEntry`). */
export function navigate(path, { replaceEntry = false } = {}) {
  if (replaceEntry) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

/** Render the current location again (after sign in, say). */
export async function render() {
  const current = ++renderCount;
  for (const dispose of disposers.splice(0)) dispose();
  const match = findRoute(location.pathname);
  const ctx = {
    params: match?.params || {},
    query: new URLSearchParams(location.search),
    onDispose: (fn) => disposers.push(fn),
    isCurrent: () => current === renderCount,
  };
  document.title = match?.route.title ? `${match.route.title} · ionscape` : "ionscape";
  markActiveLinks();
  if (!match) {
    replace(outlet, notFound("Page not found", "There is nothing at this address."));
    return;
  }
  replace(outlet, h("div.loading", { "aria-busy": "true" }, h("span.spinner"), "Loading…"));
  try {
    const node = await match.route.render(ctx);
    const message = flash.take();
    if (ctx.isCurrent()) replace(outlet, message && notice("success", message), node);
  } catch (error) {
    if (ctx.isCurrent()) replace(outlet, errorView(error));
    if (!(error instanceof ApiError)) console.error(error);
  }
  if (ctx.isCurrent()) outlet.focus({ preventScroll: true });
}

function findRoute(path) {
  for (const candidate of routes) {
    const found = candidate.regex.exec(path);
    if (found) {
      const params = Object.fromEntries(candidate.names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { route: candidate, params };
    }
  }
  return null;
}

/** A page-level error: not found, sign-in needed, or the message. */
export function errorView(error) {
  if (error instanceof ApiError && error.status === 404) {
    return notFound("Not found", "It does not exist, or it is not shared with you.");
  }
  if (error instanceof ApiError && error.status === 401) {
    return emptyState(
      "Please sign in",
      "This page needs an account.",
      h("a.button.primary", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, "Sign in"),
    );
  }
  return emptyState("Something went wrong", error.message || String(error));
}

function notFound(title, text) {
  return h("div.not-found", {}, emptyState(title, text, h("a.button", { href: "/" }, "Go to datasets")));
}

function markActiveLinks() {
  for (const link of document.querySelectorAll("nav a[href]")) {
    const href = link.getAttribute("href");
    const active = href === "/" ? location.pathname === "/" : location.pathname.startsWith(href);
    link.classList.toggle("active", active);
  }
}

/** Take over same-origin link clicks and the back button. */
export function start(target) {
  outlet = target;
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener("popstate", render);
  render();
}
