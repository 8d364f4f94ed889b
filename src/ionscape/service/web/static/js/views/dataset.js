// One dataset: job progress, the annotation explorer (table + ion image viewer), details, sharing.

import { api } from "../api.js";
import { badge, field, h, notice, replace, select } from "../dom.js";
import { formatDate } from "../format.js";
import { ACTIVE, jobProgress } from "../jobs.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { actionForm, progressBar, tabs } from "../widgets.js";
import { annotationTable } from "./annotations.js";
import { ionViewer } from "./viewer.js";

const POLL_MS = 2000;

export async function datasetView(ctx) {
  const dataset = await api.get(`/datasets/${ctx.params.id}`);
  const groups = session.user ? await api.get("/groups") : [];
  const content = h("div.dataset-content");
  const head = h("div.page-head");
  const page = h("section.page.wide", {}, head, content);

  const updateHead = (current) => replace(head, pageHead(current, groups));
  function show(current) {
    updateHead(current);
    if (ACTIVE.has(current.status)) {
      replace(content, jobCard(current));
      poll();
      return;
    }
    const items = [
      current.status === "finished" && { id: "annotations", label: "Annotations", render: () => explorer(current) },
      current.status === "failed" && { id: "job", label: "Job", render: () => failedCard(current, show) },
      { id: "details", label: "Details", render: () => details(current) },
      current.can_edit && { id: "sharing", label: "Sharing", render: () => sharing(current, groups, show, updateHead) },
    ].filter(Boolean);
    replace(content, tabs(items));
  }

  let timer = null;
  function poll() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!ctx.isCurrent()) return;
      try {
        show(await api.get(`/datasets/${dataset.id}`));
      } catch {
        poll();
      }
    }, POLL_MS);
  }
  ctx.onDispose(() => clearTimeout(timer));
  show(dataset);
  return page;
}

function pageHead(dataset, groups) {
  const group = groups.find((g) => g.id === dataset.group_id);
  const visibility = dataset.visibility === "group" && group ? `group: ${group.name}` : dataset.visibility;
  const meta = dataset.metadata;
  return [
    h(
      "div",
      {},
      h("p.crumbs", {}, h("a", { href: "/" }, "Datasets"), " / "),
      h("h1", {}, dataset.name),
      h(
        "p.muted.head-meta",
        {},
        badge(dataset.status),
        " ",
        badge(visibility, dataset.visibility),
        ` Submitted by ${dataset.owner.name} · ${formatDate(dataset.created_at)}`,
        meta.organism && ` · ${[meta.organism, meta.organism_part].filter(Boolean).join(", ").replaceAll("_", " ")}`,
      ),
    ),
    dataset.status === "finished" && h("div.head-stat", {}, h("strong", {}, dataset.n_annotations), h("span.muted", {}, "annotations at FDR ≤ 10 %")),
  ];
}

function jobCard(dataset) {
  const { fraction, stage } = jobProgress(dataset.job);
  const queued = dataset.status === "queued";
  return h(
    "div.card.job-card",
    {},
    h("h2", {}, queued ? "Waiting for a worker" : "Annotating"),
    h("p.muted", {}, queued ? "The job is queued and starts as soon as a worker is free." : "Results appear here when the job is done; this page updates itself."),
    progressBar(fraction, queued ? "queued" : `${Math.round(fraction * 100)} %${stage ? ` · ${stage}` : ""}`),
  );
}

function failedCard(dataset, show) {
  const rerun = async () => show(await api.post(`/datasets/${dataset.id}/rerun`));
  return h(
    "div.card.job-card",
    {},
    h("h2", {}, "The annotation failed"),
    notice("error", dataset.job?.error || "The job failed."),
    dataset.can_edit && actionForm({}, [h("button.button.primary", { type: "submit" }, "Run again")], rerun),
  );
}

function explorer(dataset) {
  const viewer = ionViewer(dataset);
  const table = annotationTable(dataset, (annotation) => viewer.show(annotation));
  return h("div.explorer", {}, table, viewer);
}

function details(dataset) {
  const meta = dataset.metadata;
  const iso = dataset.config.isotope_generation ?? {};
  const rows = (pairs) => h("dl.facts", {}, pairs.filter(([, value]) => value !== "" && value !== null && value !== undefined).map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
  const counts = dataset.annotation_counts;
  const levels = counts.length ? Object.keys(counts[0]).filter((key) => key !== "database") : [];
  return h(
    "div.details-grid",
    {},
    h(
      "div.card",
      {},
      h("h2", {}, "Sample and instrument"),
      rows([
        ["Organism", meta.organism.replaceAll("_", " ")],
        ["Organism part", meta.organism_part],
        ["Condition", meta.condition.replaceAll("_", " ")],
        ["Polarity", meta.polarity],
        ["Ionisation source", meta.ionisation_source],
        ["Analyzer", meta.analyzer],
        ["Resolving power", meta.resolving_power && `${meta.resolving_power.toLocaleString()} at m/z ${meta.resolving_power_mz}`],
        ["Matrix", meta.matrix.replaceAll("_", " ")],
        ["Pixel size", meta.pixel_size_um && `${meta.pixel_size_um[0]} × ${meta.pixel_size_um[1]} µm`],
      ]),
    ),
    h(
      "div.card",
      {},
      h("h2", {}, "Annotation settings"),
      rows([
        ["Databases", dataset.databases.join(", ")],
        ["Adducts", (iso.adducts ?? []).join(", ")],
        ["Neutral losses", (iso.neutral_losses ?? []).join(", ") || "none"],
        ["Chemical modifications", (iso.chem_mods ?? []).join(", ") || "none"],
        ["m/z tolerance", `${dataset.config.image_generation?.ppm} ppm`],
        ["Isotope peaks", iso.n_peaks],
        ["Peak shape", iso.instrument],
        ["Peak width σ", iso.isocalc_sigma],
        ["Decoy sample size", dataset.config.fdr?.decoy_sample_size],
      ]),
    ),
    counts.length > 0 &&
      h(
        "div.card",
        {},
        h("h2", {}, "Annotations by FDR"),
        h(
          "table.data-table.counts",
          {},
          h("thead", {}, h("tr", {}, h("th", {}, "Database"), levels.map((level) => h("th.num", {}, `≤ ${level}`)))),
          h("tbody", {}, counts.map((row) => h("tr", {}, h("td", {}, row.database), levels.map((level) => h("td.num", {}, row[level]))))),
        ),
      ),
  );
}

function sharing(dataset, groups, show, updateHead) {
  const choices = [["private", "Private", "Only you."], ["group", "Group", "Members of one of your groups."], ["public", "Public", "Everyone, signed in or not."]];
  const group = select(groups.map((g) => [g.id, g.name]), dataset.group_id ?? groups[0]?.id, { name: "group_id" });
  const radios = choices.map(([value, label, hint]) =>
    h(
      "label.choice",
      {},
      h("input", { type: "radio", name: "visibility", value, checked: dataset.visibility === value, disabled: value === "group" && !groups.length }),
      h("span", {}, h("strong", {}, label), h("small.muted", {}, hint)),
    ),
  );
  const groupField = groups.length ? field("Group", group) : h("p.muted.small", {}, "To share with a group, ", h("a", { href: "/groups" }, "create or join one"), " first.");
  const syncGroup = () => {
    if (groups.length) groupField.hidden = radios.every((label) => !label.querySelector("input[value=group]")?.checked);
  };
  radios.forEach((label) => label.querySelector("input").addEventListener("change", syncGroup));
  syncGroup();
  const saved = h("div");
  const shareForm = actionForm(
    { class: "stack" },
    [
      h("div.choices", { role: "radiogroup", "aria-label": "visibility" }, radios),
      groupField,
      h("div.form-actions", {}, h("button.button.primary", { type: "submit" }, "Save sharing"), saved),
    ],
    async (form) => {
      const visibility = form.querySelector("input[name=visibility]:checked").value;
      const updated = await api.patch(`/datasets/${dataset.id}`, { visibility, group_id: visibility === "group" ? group.value : null });
      Object.assign(dataset, updated);
      updateHead(updated);
      replace(saved, notice("success", `Saved: the dataset is ${visibility === "group" ? `shared with ${groups.find((g) => g.id === group.value)?.name}` : visibility}.`));
    },
  );

  const projectSlot = h("div", {}, h("p.muted", {}, "Loading projects…"));
  api.get("/projects", { limit: 500 }).then((page) => {
    const own = page.items.filter((p) => p.can_edit);
    if (!own.length) {
      replace(projectSlot, h("p.muted", {}, "You have no open projects. ", h("a", { href: "/projects" }, "Create one"), " to collect datasets for a publication."));
      return;
    }
    const project = select(own.map((p) => [p.id, p.name]), own[0].id, { name: "project" });
    replace(
      projectSlot,
      actionForm({ class: "inline-form" }, [field("Project", project), h("button.button", { type: "submit" }, "Add to project")], async () => {
        await api.put(`/projects/${project.value}/datasets/${dataset.id}`);
        navigate(`/projects/${project.value}`);
      }),
    );
  });

  const remove = actionForm({}, [h("button.button.danger", { type: "submit" }, "Delete dataset")], async () => {
    if (!confirm(`Delete “${dataset.name}” and its results? This cannot be undone.`)) return;
    await api.delete(`/datasets/${dataset.id}`);
    navigate("/");
  });
  const rerun = actionForm({}, [h("button.button", { type: "submit" }, "Annotate again")], async () => show(await api.post(`/datasets/${dataset.id}/rerun`)));
  return h(
    "div.details-grid",
    {},
    h("div.card", {}, h("h2", {}, "Who can see this dataset"), shareForm),
    h("div.card", {}, h("h2", {}, "Projects"), projectSlot),
    h("div.card.danger-zone", {}, h("h2", {}, "Manage"), h("div.inline-actions", {}, rerun, remove)),
  );
}
