// Projects: collections of datasets, a secret review link, publication (public, read-only, DOI).

import { api, review } from "../api.js";
import { badge, emptyState, field, h, notice, replace, select } from "../dom.js";
import { flash } from "../flash.js";
import { formatDate } from "../format.js";
import { navigate, render } from "../router.js";
import { session } from "../session.js";
import { actionForm, copyField } from "../widgets.js";
import { datasetTable } from "./datasets.js";

export async function projectListView() {
  const page = await api.get("/projects", { limit: 500 });
  const name = h("input", { name: "project_name", required: true, maxlength: 300, placeholder: "e.g. Colon spheroids 2024" });
  const description = h("textarea", { name: "description", rows: 2, maxlength: 20000, placeholder: "What the datasets show (optional)" });
  const create =
    session.user &&
    actionForm({ class: "stack" }, [h("div.grid-2", {}, field("Name", name), field("Description", description)), h("div.form-actions", {}, h("button.button.primary", { type: "submit" }, "Create project"))], async () => {
      const project = await api.post("/projects", { name: name.value.trim(), description: description.value.trim() });
      navigate(`/projects/${project.id}`);
    });
  return h(
    "section.page",
    {},
    h("div.page-head", {}, h("div", {}, h("h1", {}, "Projects"), h("p.muted", {}, "Collect datasets, share them with reviewers through a secret link, then publish them."))),
    create && h("div.card", {}, h("h2", {}, "New project"), create),
    page.items.length
      ? h("div.project-list", {}, page.items.map(projectCard))
      : emptyState("No projects yet", session.user ? "Create one above." : "Published projects appear here."),
  );
}

function projectCard(project) {
  return h(
    "a.card.project-card",
    { href: `/projects/${project.id}` },
    h("h2", {}, project.name),
    h("p.muted.small", {}, `${project.owner.name} · ${project.n_datasets} dataset${project.n_datasets === 1 ? "" : "s"} · ${formatDate(project.created_at)}`),
    project.description && h("p.clamp", {}, project.description),
    h("div", {}, project.published_at ? badge("published") : badge(project.visibility)),
  );
}

export async function projectView(ctx) {
  const project = await api.get(`/projects/${ctx.params.id}`);
  const datasets = await api.get("/datasets", { project_id: project.id, limit: 500 });
  const viaReviewLink = review.all()[project.id] && project.owner.id !== session.user?.id;
  return h(
    "section.page",
    {},
    h(
      "div.page-head",
      {},
      h(
        "div",
        {},
        h("p.crumbs", {}, h("a", { href: "/projects" }, "Projects"), " / "),
        h("h1", {}, project.name),
        h("p.muted.head-meta", {}, project.published_at ? badge("published") : badge(project.visibility), ` by ${project.owner.name} · created ${formatDate(project.created_at)}`),
      ),
    ),
    viaReviewLink && notice("info", "You are viewing this project through a review link."),
    project.published_at && publication(project),
    project.description && h("div.card.prose", {}, project.description),
    h("div.card", {}, h("h2", {}, "Datasets"), datasets.items.length ? datasetList(project, datasets.items) : emptyState("No datasets in this project yet", project.can_edit ? "Add your datasets from their Sharing tab." : "")),
    project.can_edit && ownerTools(project),
  );
}

function publication(project) {
  return h(
    "div.card.publication",
    {},
    h("h2", {}, "Published"),
    h("p", {}, `Published on ${formatDate(project.published_at)}. The project and its datasets are public and read-only.`),
    project.doi && h("p", {}, "DOI: ", h("a", { href: `https://doi.org/${project.doi}`, rel: "noopener", target: "_blank" }, project.doi)),
    project.paper_url && h("p", {}, "Paper: ", h("a", { href: project.paper_url, rel: "noopener", target: "_blank" }, project.paper_url)),
  );
}

function datasetList(project, datasets) {
  const table = datasetTable(datasets);
  if (project.can_edit) {
    for (const row of table.querySelectorAll("tbody tr")) {
      const remove = async () => {
        await api.delete(`/projects/${project.id}/datasets/${row.dataset.id}`);
        render();
      };
      row.append(h("td", {}, h("button.button.small.ghost", { type: "button", onclick: remove }, "Remove")));
    }
    table.querySelector("thead tr").append(h("th"));
  }
  return table;
}

function ownerTools(project) {
  const linkSlot = h("div", {}, project.has_review_link ? h("p.muted", {}, "A review link is active. Creating a new one ends the old one.") : h("p.muted", {}, "Reviewers with the link see this project and its datasets without an account."));
  const createLink = actionForm({ class: "inline-actions" }, [h("button.button", { type: "submit" }, project.has_review_link ? "New review link" : "Create review link")], async () => {
    const link = await api.post(`/projects/${project.id}/review-link`);
    replace(linkSlot, h("p", {}, "Send this link to reviewers. It is shown only now:"), copyField(`${location.origin}/review/${project.id}?token=${encodeURIComponent(link.token)}`));
  });
  const revoke =
    project.has_review_link &&
    actionForm({}, [h("button.button.ghost", { type: "submit" }, "Revoke link")], async () => {
      await api.delete(`/projects/${project.id}/review-link`);
      render();
    });

  const name = h("input", { name: "name", value: project.name, required: true, maxlength: 300 });
  const description = h("textarea", { name: "description", rows: 3, maxlength: 20000 }, project.description);
  const visibility = select([["private", "Private"], ["public", "Public"]], project.visibility, { name: "visibility" });
  const edit = actionForm({ class: "stack" }, [h("div.grid-2", {}, field("Name", name), field("Visibility", visibility)), field("Description", description), h("div.form-actions", {}, h("button.button", { type: "submit" }, "Save"))], async () => {
    await api.patch(`/projects/${project.id}`, { name: name.value.trim(), description: description.value, visibility: visibility.value });
    flash.set("Project saved.");
    render();
  });

  const doi = h("input", { name: "doi", placeholder: "10.1234/abcd" });
  const paper = h("input", { name: "paper_url", type: "url", placeholder: "https://…" });
  const publish = actionForm({ class: "stack" }, [h("div.grid-2", {}, field("DOI", doi), field("Paper link", paper)), h("div.form-actions", {}, h("button.button.primary", { type: "submit" }, "Publish project"))], async () => {
    if (!confirm("Publish? The project and all its datasets become public and can no longer be changed.")) return;
    await api.post(`/projects/${project.id}/publish`, { doi: doi.value.trim() || null, paper_url: paper.value.trim() || null });
    flash.set("Published.");
    render();
  });
  const remove = actionForm({}, [h("button.button.danger", { type: "submit" }, "Delete project")], async () => {
    if (!confirm("Delete this project? Its datasets stay.")) return;
    await api.delete(`/projects/${project.id}`);
    navigate("/projects");
  });
  return h(
    "div.details-grid",
    {},
    h("div.card", {}, h("h2", {}, "Review link"), linkSlot, h("div.inline-actions", {}, createLink, revoke)),
    h("div.card", {}, h("h2", {}, "Publish"), h("p.muted", {}, "Makes the project and its datasets public and read-only."), publish),
    h("div.card", {}, h("h2", {}, "Edit"), edit),
    h("div.card.danger-zone", {}, h("h2", {}, "Delete"), remove),
  );
}

/** /review/<project>?token=…: remember the token for this tab and open the project. */
export function reviewLinkView(ctx) {
  const token = ctx.query.get("token");
  if (!token) return emptyState("Incomplete review link", "The link has no token; copy the whole link.");
  review.add(ctx.params.id, token);
  queueMicrotask(() => navigate(`/projects/${ctx.params.id}`, { replaceEntry: true }));
  return h("div.loading", {}, "Opening the project…");
}
