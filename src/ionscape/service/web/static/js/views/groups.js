// Groups (labs, teams): create one, add members by e-mail with a role, leave.

import { api } from "../api.js";
import { emptyState, field, h, replace, select } from "../dom.js";
import { flash } from "../flash.js";
import { render } from "../router.js";
import { session } from "../session.js";
import { actionForm } from "../widgets.js";

export async function groupsView() {
  if (!session.user) {
    return emptyState("Sign in to see your groups", "Groups share datasets among their members.", h("a.button.primary", { href: "/login?next=/groups" }, "Sign in"));
  }
  const groups = await api.get("/groups");
  const name = h("input", { name: "group_name", required: true, maxlength: 200, placeholder: "e.g. Smith lab" });
  const create = actionForm({ class: "inline-form" }, [field("New group", name), h("button.button.primary", { type: "submit" }, "Create group")], async () => {
    const group = await api.post("/groups", { name: name.value.trim() });
    flash.set(`Group “${group.name}” created; you are its admin.`);
    render();
  });
  return h(
    "section.page",
    {},
    h("div.page-head", {}, h("div", {}, h("h1", {}, "Groups"), h("p.muted", {}, "Datasets shared with a group are visible to all its members."))),
    h("div.card", {}, create),
    groups.length ? h("div.group-list", {}, groups.map(groupCard)) : emptyState("You are in no group yet", "Create one and add your colleagues by e-mail."),
  );
}

function groupCard(group) {
  const me = group.members.find((m) => m.user.id === session.user.id);
  const isAdmin = me?.role === "admin";
  const remove = async (member) => {
    const leaving = member.user.id === session.user.id;
    if (!confirm(leaving ? `Leave “${group.name}”?` : `Remove ${member.user.name} from “${group.name}”?`)) return;
    await api.delete(`/groups/${group.id}/members/${member.user.id}`);
    render();
  };
  const members = h(
    "ul.members",
    {},
    group.members.map((member) =>
      h(
        "li",
        {},
        h("span.avatar", {}, member.user.name.slice(0, 1).toUpperCase()),
        h("span.member-name", {}, member.user.name, member.user.id === session.user.id && h("small.muted", {}, " (you)")),
        h(`span.badge.badge-${member.role}`, {}, member.role),
        (isAdmin || member.user.id === session.user.id) &&
          h("button.button.small.ghost", { type: "button", onclick: () => remove(member) }, member.user.id === session.user.id ? "Leave" : "Remove"),
      ),
    ),
  );
  const email = h("input", { type: "email", name: "member_email", required: true, placeholder: "colleague@example.org" });
  const role = select([["member", "Member"], ["admin", "Admin"]], "member", { name: "member_role" });
  const list = h("div", {}, members);
  const add =
    isAdmin &&
    actionForm({ class: "inline-form" }, [field("Add a member by e-mail", email), field("Role", role), h("button.button", { type: "submit" }, "Add")], async () => {
      const updated = await api.post(`/groups/${group.id}/members`, { email: email.value.trim(), role: role.value });
      replace(list, groupCard(updated).querySelector("ul.members"));
      email.value = "";
    });
  return h("article.card.group-card", { dataset: { id: group.id } }, h("h2", {}, group.name), list, add);
}
