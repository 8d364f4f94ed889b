// Who is signed in; views subscribe to changes (sign in, sign out).

import { ApiError, api } from "./api.js";

let user = null;
const listeners = new Set();

export const session = {
  get user() {
    return user;
  },
  /** Ask the server who the session cookie belongs to. */
  async load() {
    try {
      user = await api.get("/auth/me");
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      user = null;
    }
    notify();
  },
  async signUp(name, email, password) {
    user = (await api.post("/auth/signup", { name, email, password })).user;
    notify();
  },
  async logIn(email, password) {
    user = (await api.post("/auth/login", { email, password })).user;
    notify();
  },
  async logOut() {
    await api.post("/auth/logout");
    user = null;
    notify();
  },
  onChange(listener) {
    listeners.add(listener);
  },
};

function notify() {
  for (const listener of listeners) listener(user);
}
