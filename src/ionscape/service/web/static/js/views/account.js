// The account page: who you are, and API keys for scripts.

import { api } from "../api.js";
import { emptyState, field, h, replace } from "../dom.js";
import { formatDate } from "../format.js";
import { render } from "../router.js";
import { session } from "../session.js";
import { actionForm, copyField } from "../widgets.js";

export async function accountView() {
  if (!session.user) {
    return emptyState("Not signed in", "Sign in to manage your account.", h("a.button.primary", { href: "/login?next=/account" }, "Sign in"));
  }
  const keys = await api.get("/auth/api-keys");
  const user = session.user;
  const created = h("div");
  const name = h("input", { name: "key_name", required: true, maxlength: 200, placeholder: "e.g. laptop scripts" });
  const create = actionForm({ class: "inline-form" }, [field("New key name", name), h("button.button.primary", { type: "submit" }, "Create API key")], async () => {
    const key = await api.post("/auth/api-keys", { name: name.value.trim() });
    replace(
      created,
      h("div.notice.success", {}, h("p", {}, `Key “${key.name}” created. Copy it now: it is not shown again.`), copyField(key.key)),
    );
    name.value = "";
    keys.push(key);
    replace(keyList, keyTable(keys));
  });
  const keyList = h("div", {}, keyTable(keys));
  return h(
    "section.page.narrow",
    {},
    h("div.page-head", {}, h("div", {}, h("h1", {}, "Account"))),
    h("div.card", {}, h("dl.facts", {}, h("dt", {}, "Name"), h("dd", {}, user.name), h("dt", {}, "E-mail"), h("dd", {}, user.email), h("dt", {}, "Member since"), h("dd", {}, formatDate(user.created_at)))),
    h(
      "div.card",
      {},
      h("h2", {}, "API keys"),
      h("p.muted", {}, "Scripts send a key in the ", h("code", {}, "X-API-Key"), " header. ", h("a", { href: "/api/v1/docs" }, "API reference")),
      create,
      created,
      keyList,
    ),
  );
}

function keyTable(keys) {
  if (!keys.length) return h("p.muted", {}, "No API keys yet.");
  const revoke = async (key) => {
    if (!confirm(`Revoke the key “${key.name}”? Scripts using it stop working.`)) return;
    await api.delete(`/auth/api-keys/${key.id}`);
    render();
  };
  return h(
    "table.data-table",
    {},
    h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Created"), h("th"))),
    h("tbody", {}, keys.map((key) => h("tr", {}, h("td", {}, key.name), h("td.muted", {}, formatDate(key.created_at)), h("td", {}, h("button.button.small.ghost", { type: "button", onclick: () => revoke(key) }, "Revoke"))))),
  );
}
