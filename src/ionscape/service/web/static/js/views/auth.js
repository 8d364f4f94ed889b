// Sign in and sign up.

import { field, h } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { actionForm } from "../widgets.js";

function nextPath(ctx) {
  const next = ctx.query.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function authCard(title, subtitle, form, footer) {
  return h("section.auth-card.card", {}, h("h1", {}, title), h("p.muted", {}, subtitle), form, h("p.auth-footer", {}, footer));
}

export function loginView(ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const form = actionForm(
    { class: "stack" },
    [field("E-mail", email), field("Password", password), h("button.button.primary.wide", { type: "submit" }, "Sign in")],
    async () => {
      await session.logIn(email.value, password.value);
      navigate(nextPath(ctx), { replaceEntry: true });
    },
  );
  return authCard("Sign in", "Welcome back.", form, ["No account yet? ", h("a", { href: "/signup" }, "Create one")]);
}

export function signupView(ctx) {
  const name = h("input", { name: "name", autocomplete: "name", required: true, maxlength: 200 });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const form = actionForm(
    { class: "stack" },
    [
      field("Name", name),
      field("E-mail", email),
      field("Password", password, "At least 8 characters."),
      h("button.button.primary.wide", { type: "submit" }, "Create account"),
    ],
    async () => {
      await session.signUp(name.value.trim(), email.value.trim(), password.value);
      navigate(nextPath(ctx), { replaceEntry: true });
    },
  );
  return authCard(
    "Create an account",
    "Upload datasets, annotate them and share the results.",
    form,
    ["Already registered? ", h("a", { href: "/login" }, "Sign in")],
  );
}
