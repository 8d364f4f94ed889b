// A dataset's annotation table: filters, sorting, pages, the molecules behind each formula.

import { api, apiUrl } from "../api.js";
import { debounce, emptyState, field, h, replace, select } from "../dom.js";
import { formatFdr, formatMz, formatScore, ionLabel } from "../format.js";

const PAGE = 20;
const FDR_LEVELS = [["0.05", "5 %"], ["0.1", "10 %"], ["0.2", "20 %"], ["0.5", "50 %"], ["", "All"]];
const SORTABLE = { msm: "MSM", mz: "m/z", fdr: "FDR" };

/** The annotation table of `dataset`; `onSelect(annotation)` when a row is chosen (the first one on load). */
export function annotationTable(dataset, onSelect) {
  const adducts = dataset.config?.isotope_generation?.adducts ?? [];
  const state = { database: "", fdr: "0.1", mz_min: "", mz_max: "", q: "", adduct: "", sort: "-msm", offset: 0 };
  let selectedId = null;
  let firstLoad = true;
  const body = h("div.table-wrap");
  const summary = h("span.muted.small");

  async function load() {
    const page = await api.get(`/datasets/${dataset.id}/annotations`, { ...state, limit: PAGE });
    summary.textContent = `${page.total} annotation${page.total === 1 ? "" : "s"}`;
    if (!page.items.length) {
      replace(body, emptyState("No annotations match", state.fdr ? "Try a higher FDR or other filters." : "Try other filters."));
      return;
    }
    replace(body, table(page.items), pager(page));
    if (firstLoad) {
      firstLoad = false;
      choose(page.items[0]);
    }
  }

  function choose(annotation) {
    selectedId = annotation.id;
    for (const row of body.querySelectorAll("tbody tr")) row.classList.toggle("selected", Number(row.dataset.id) === selectedId);
    onSelect(annotation);
  }

  function header(key, label) {
    if (!(key in SORTABLE)) return h("th", { scope: "col" }, label);
    const direction = state.sort === key ? "ascending" : state.sort === `-${key}` ? "descending" : "none";
    const toggle = () => {
      state.sort = state.sort === `-${key}` ? key : `-${key}`;
      state.offset = 0;
      load();
    };
    return h(
      "th.sortable",
      { scope: "col", "aria-sort": direction },
      h("button.sort", { type: "button", onclick: toggle }, label, h("span.arrow", {}, direction === "ascending" ? "▲" : direction === "descending" ? "▼" : "↕")),
    );
  }

  function table(items) {
    return h(
      "table.data-table.annotations",
      {},
      h("thead", {}, h("tr", {}, header("ion", "Ion"), header("molecules", "Molecules"), header("mz", "m/z"), header("msm", "MSM"), header("fdr", "FDR"))),
      h(
        "tbody",
        {},
        items.map((a) =>
          h(
            `tr${a.id === selectedId ? ".selected" : ""}`,
            { dataset: { id: a.id }, tabindex: 0, onclick: () => choose(a), onkeydown: (e) => e.key === "Enter" && choose(a) },
            h("td.ion", { "data-label": "Ion" }, h("span.formula", {}, ionLabel(a)), dataset.databases.length > 1 && h("small.muted", {}, ` ${a.database}`)),
            h("td.molecules-cell", { "data-label": "Molecules", title: a.molecules.map((m) => `${m.name} (${m.id})`).join("\n") }, moleculeSummary(a.molecules)),
            h("td.num.mono", { "data-label": "m/z" }, formatMz(a.mz)),
            h("td.num.mono", { "data-label": "MSM" }, formatScore(a.msm)),
            h("td.num", { "data-label": "FDR" }, h(`span.fdr.fdr-${a.fdr === null ? "none" : Math.round(a.fdr * 100)}`, {}, formatFdr(a.fdr))),
          ),
        ),
      ),
    );
  }

  function pager(page) {
    if (page.total <= PAGE) return null;
    const go = (offset) => {
      state.offset = offset;
      load();
    };
    const last = Math.floor((page.total - 1) / PAGE) * PAGE;
    return h(
      "div.pager",
      {},
      h("button.button", { type: "button", disabled: state.offset === 0, onclick: () => go(state.offset - PAGE) }, "← Previous"),
      h("span.muted", {}, `${state.offset + 1}–${Math.min(state.offset + PAGE, page.total)} of ${page.total}`),
      h("button.button", { type: "button", disabled: state.offset >= last, onclick: () => go(state.offset + PAGE) }, "Next →"),
    );
  }

  const refresh = () => {
    state.offset = 0;
    load().catch((error) => replace(body, emptyState("Cannot load annotations", error.message)));
  };
  const delayed = debounce(refresh, 300);
  const bind = (name, control, live = false) => {
    control.addEventListener(live ? "input" : "change", () => {
      state[name] = control.value.trim();
      live ? delayed() : refresh();
    });
    return control;
  };
  const filters = h(
    "div.filters.compact",
    {},
    dataset.databases.length > 1 && field("Database", bind("database", select([["", "All"], ...dataset.databases.map((d) => [d, d])], "", { name: "database" }))),
    field("FDR ≤", bind("fdr", select(FDR_LEVELS, state.fdr, { name: "fdr" }))),
    field("Adduct", bind("adduct", select([["", "All"], ...adducts.map((a) => [a, a])], "", { name: "adduct" }))),
    field("m/z from", bind("mz_min", h("input", { type: "number", name: "mz_min", step: "any", min: 0, placeholder: "min" }), true)),
    field("to", bind("mz_max", h("input", { type: "number", name: "mz_max", step: "any", min: 0, placeholder: "max" }), true)),
    field("Formula or name", bind("q", h("input", { type: "search", name: "q", placeholder: "e.g. C6H12O6, glucose" }), true)),
  );
  const csv = h("a.button", { href: apiUrl(`/datasets/${dataset.id}/annotations.csv`), download: `${dataset.name}_annotations.csv` }, "Download CSV");
  const node = h("section.annotation-table.card", {}, h("div.section-head", {}, h("h2", {}, "Annotations"), summary, csv), filters, body);
  node.ready = load();
  return node;
}

function moleculeSummary(molecules) {
  if (!molecules.length) return "—";
  const first = molecules[0].name;
  return [h("span.molecule-name", {}, first), molecules.length > 1 && h("span.more", {}, ` +${molecules.length - 1}`)];
}
