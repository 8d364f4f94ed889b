// The datasets list: search and filters, live status while jobs run, annotation counts.

import { api } from "../api.js";
import { badge, debounce, emptyState, field, h, replace, select } from "../dom.js";
import { formatDate } from "../format.js";
import { ACTIVE, statusCell } from "../jobs.js";
import { session } from "../session.js";

const PAGE = 25;
const POLL_MS = 2000;
const FILTERS = ["q", "polarity", "organism", "submitter", "group_id", "from", "to"];

export async function datasetListView(ctx) {
  const state = Object.fromEntries(FILTERS.map((name) => [name, ctx.query.get(name) || ""]));
  let offset = 0;
  const groups = session.user ? await api.get("/groups") : [];
  const results = h("div.dataset-results");
  const summary = h("p.muted.result-summary");

  async function load() {
    const query = {
      q: state.q,
      polarity: state.polarity,
      organism: state.organism,
      submitter: state.submitter,
      group_id: state.group_id,
      created_after: state.from && new Date(`${state.from}T00:00:00`).toISOString(),
      created_before: state.to && new Date(new Date(`${state.to}T00:00:00`).getTime() + 86400000).toISOString(),
      limit: PAGE,
      offset,
    };
    const page = await api.get("/datasets", query);
    if (!ctx.isCurrent()) return;
    summary.textContent = page.total === 1 ? "1 dataset" : `${page.total} datasets`;
    replace(results, page.items.length ? datasetTable(page.items) : noDatasets(), pager(page));
    schedulePoll(page.items.some((dataset) => ACTIVE.has(dataset.status)));
  }

  let timer = null;
  function schedulePoll(active) {
    clearTimeout(timer);
    if (active && ctx.isCurrent()) timer = setTimeout(() => load().catch(() => schedulePoll(true)), POLL_MS);
  }
  ctx.onDispose(() => clearTimeout(timer));

  function pager(page) {
    if (page.total <= PAGE) return null;
    const go = (delta) => {
      offset = Math.max(0, offset + delta);
      load();
    };
    return h(
      "div.pager",
      {},
      h("button.button", { type: "button", disabled: offset === 0, onclick: () => go(-PAGE) }, "← Newer"),
      h("span.muted", {}, `${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total}`),
      h("button.button", { type: "button", disabled: offset + PAGE >= page.total, onclick: () => go(PAGE) }, "Older →"),
    );
  }

  function noDatasets() {
    if (FILTERS.some((name) => state[name])) return emptyState("No matching datasets", "Try other filters.");
    if (!session.user) {
      return emptyState(
        "No public datasets yet",
        "Sign in to see your own datasets and those shared with you.",
        h("a.button.primary", { href: "/login" }, "Sign in"),
      );
    }
    return emptyState(
      "No datasets yet",
      "Upload an imzML dataset to annotate it against molecular databases.",
      h("a.button.primary", { href: "/upload" }, "Upload a dataset"),
    );
  }

  const reload = () => {
    offset = 0;
    const params = new URLSearchParams(Object.entries(state).filter(([, value]) => value));
    history.replaceState(null, "", params.size ? `/?${params}` : "/");
    load();
  };
  const bind = (name, control, event = "change") => {
    control.addEventListener(event, () => {
      state[name] = control.value.trim();
      event === "input" ? delayedReload() : reload();
    });
    return control;
  };
  const delayedReload = debounce(reload, 300);
  const members = new Map();
  for (const group of groups) for (const member of group.members) members.set(member.user.id, member.user.name);
  if (session.user) members.delete(session.user.id);

  const filters = h(
    "div.filters.card",
    {},
    field("Search", bind("q", h("input", { type: "search", placeholder: "Dataset name", value: state.q, name: "q" }), "input")),
    field("Polarity", bind("polarity", select([["", "Any"], ["positive", "Positive"], ["negative", "Negative"]], state.polarity, { name: "polarity" }))),
    field("Organism", bind("organism", h("input", { type: "search", placeholder: "e.g. Mus musculus", value: state.organism, name: "organism" }), "input")),
    session.user &&
      field(
        "Submitter",
        bind("submitter", select([["", "Anyone"], [session.user.id, "Me"], ...members], state.submitter, { name: "submitter" })),
      ),
    groups.length > 0 && field("Group", bind("group_id", select([["", "Any"], ...groups.map((g) => [g.id, g.name])], state.group_id, { name: "group_id" }))),
    field("From", bind("from", h("input", { type: "date", value: state.from, name: "from" }))),
    field("To", bind("to", h("input", { type: "date", value: state.to, name: "to" }))),
  );

  await load();
  return h(
    "section.page",
    {},
    h(
      "div.page-head",
      {},
      h("div", {}, h("h1", {}, "Datasets"), summary),
      session.user && h("a.button.primary", { href: "/upload" }, "Upload dataset"),
    ),
    filters,
    results,
  );
}

/** The table of datasets (rows become cards on narrow screens). */
export function datasetTable(datasets) {
  return h(
    "table.data-table.datasets",
    {},
    h(
      "thead",
      {},
      h("tr", {}, ["Dataset", "Submitter", "Polarity", "Databases", "Annotations", "Status", "Submitted"].map((title) => h("th", { scope: "col" }, title))),
    ),
    h("tbody", {}, datasets.map(datasetRow)),
  );
}

function datasetRow(dataset) {
  const meta = dataset.metadata;
  const sample = [meta.organism, meta.organism_part, meta.condition].filter(Boolean).join(" · ");
  return h(
    "tr",
    { dataset: { id: dataset.id, status: dataset.status } },
    h(
      "td.name-cell",
      { "data-label": "Dataset" },
      h("a.dataset-link", { href: `/datasets/${dataset.id}` }, dataset.name),
      " ",
      dataset.visibility !== "private" && badge(dataset.visibility),
      sample && h("div.muted.small", {}, sample.replaceAll("_", " ")),
    ),
    h("td", { "data-label": "Submitter" }, dataset.owner.name),
    h("td", { "data-label": "Polarity" }, meta.polarity === "positive" ? "+" : "−"),
    h("td", { "data-label": "Databases" }, dataset.databases.join(", ")),
    h(
      "td.num",
      { "data-label": "Annotations", title: "annotations at FDR ≤ 10 %" },
      dataset.status === "finished" ? h("span.count", {}, dataset.n_annotations, h("small.muted", {}, " @10 %")) : "—",
    ),
    h("td", { "data-label": "Status" }, statusCell(dataset)),
    h("td.muted", { "data-label": "Submitted" }, formatDate(dataset.created_at)),
  );
}
