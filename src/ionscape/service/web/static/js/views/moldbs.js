// Molecular databases: the bundled ones, and the user's own CSV databases (checked line by line).

import { api } from "../api.js";
import { emptyState, field, h, select } from "../dom.js";
import { flash } from "../flash.js";
import { render } from "../router.js";
import { session } from "../session.js";
import { actionForm } from "../widgets.js";

export async function moldbsView() {
  const moldbs = await api.get("/moldbs");
  const bundled = moldbs.filter((db) => db.bundled);
  const own = moldbs.filter((db) => !db.bundled);
  return h(
    "section.page",
    {},
    h("div.page-head", {}, h("div", {}, h("h1", {}, "Molecular databases"), h("p.muted", {}, "Annotations are searched in these databases; each gets its own FDR."))),
    h("div.card", {}, h("h2", {}, "Bundled"), databaseTable(bundled, false)),
    session.user
      ? [h("div.card", {}, h("h2", {}, "Yours"), own.length ? databaseTable(own, true) : emptyState("No databases of your own yet", "Upload a CSV below; it can then be chosen when you submit a dataset.")), uploadCard()]
      : h("div.card", {}, emptyState("Your own databases", "Sign in to upload CSV databases.", h("a.button.primary", { href: "/login?next=/databases" }, "Sign in"))),
  );
}

function databaseTable(databases, deletable) {
  const targeting = (db) => (db.targeted ? "targeted" : "untargeted");
  const remove = async (db) => {
    if (!confirm(`Delete the database “${db.name}”? Datasets annotated with it keep their results.`)) return;
    await api.delete(`/moldbs/${db.id}`);
    render();
  };
  return h(
    "table.data-table.moldbs",
    {},
    h("thead", {}, h("tr", {}, ["Name", "Molecules", "Formulas", deletable ? "FDR" : "About", ""].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      databases.map((db) =>
        h(
          "tr",
          { dataset: { id: db.id } },
          h("td", { "data-label": "Name" }, h("strong", {}, db.name)),
          h("td.num", { "data-label": "Molecules" }, db.n_molecules.toLocaleString()),
          h("td.num", { "data-label": "Formulas" }, db.n_formulas.toLocaleString()),
          h("td.muted", { "data-label": deletable ? "FDR" : "About" }, deletable ? targeting(db) : db.description),
          h("td", {}, deletable && h("button.button.small.danger", { type: "button", onclick: () => remove(db) }, "Delete")),
        ),
      ),
    ),
  );
}

function uploadCard() {
  const name = h("input", { name: "name", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,99}", placeholder: "e.g. my_lipids" });
  const file = h("input", { type: "file", name: "file", accept: ".csv,.tsv,.tab", required: true });
  const targeted = select([["false", "Untargeted: FDR-controlled"], ["true", "Targeted: report every ion, no FDR filter"]], "false", { name: "targeted" });
  file.addEventListener("change", () => {
    if (!name.value && file.files[0]) name.value = file.files[0].name.replace(/\.[^.]+$/, "").replace(/[^A-Za-z0-9_.-]+/g, "_");
  });
  const form = actionForm(
    { class: "stack" },
    [
      h("div.grid-3", {}, field("File", file, "CSV or TSV with id, name and formula columns, or a formula list."), field("Name", name, "Letters, digits, _ - ."), field("FDR", targeted)),
      h("div.form-actions", {}, h("button.button.primary", { type: "submit" }, "Upload database")),
    ],
    async () => {
      if (!file.files[0]) throw new Error("Choose a CSV file.");
      const body = new FormData();
      body.set("name", name.value.trim());
      body.set("file", file.files[0]);
      if (targeted.value) body.set("targeted", targeted.value);
      const db = await api.post("/moldbs", undefined, { body });
      flash.set(`“${db.name}” is ready: ${db.n_molecules} molecules, ${db.n_formulas} formulas.`);
      render();
    },
  );
  return h("div.card", {}, h("h2", {}, "Upload a database"), form);
}
