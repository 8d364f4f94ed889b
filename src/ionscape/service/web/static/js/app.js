// Entry point: the account menu in the header and the page routes.

import { h, replace } from "./dom.js";
import { navigate, route, start } from "./router.js";
import { session } from "./session.js";
import { accountView } from "./views/account.js";
import { loginView, signupView } from "./views/auth.js";
import { datasetView } from "./views/dataset.js";
import { datasetListView } from "./views/datasets.js";
import { groupsView } from "./views/groups.js";
import { moldbsView } from "./views/moldbs.js";
import { projectListView, projectView, reviewLinkView } from "./views/projects.js";
import { uploadView } from "./views/upload.js";

route("/", datasetListView, "Datasets");
route("/login", loginView, "Sign in");
route("/signup", signupView, "Create an account");
route("/upload", uploadView, "Upload a dataset");
route("/datasets/:id", datasetView, "Dataset");
route("/databases", moldbsView, "Molecular databases");
route("/groups", groupsView, "Groups");
route("/projects", projectListView, "Projects");
route("/projects/:id", projectView, "Project");
route("/review/:id", reviewLinkView, "Review");
route("/account", accountView, "Account");

function renderAccountMenu(user) {
  const slot = document.getElementById("account");
  if (!user) {
    replace(slot, h("a.button.ghost", { href: "/login" }, "Sign in"), h("a.button.primary", { href: "/signup" }, "Sign up"));
    return;
  }
  const logOut = async () => {
    await session.logOut();
    navigate("/");
  };
  replace(
    slot,
    h("a.user-chip", { href: "/account", title: user.email }, h("span.avatar", {}, user.name.slice(0, 1).toUpperCase()), h("span.user-name", {}, user.name)),
    h("button.button.ghost", { type: "button", onclick: logOut }, "Log out"),
  );
}

session.onChange(renderAccountMenu);
session
  .load()
  .catch(() => renderAccountMenu(null))
  .finally(() => start(document.getElementById("main")));
