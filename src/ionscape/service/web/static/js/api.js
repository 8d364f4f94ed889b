// The JSON API client: session cookie + CSRF header, review tokens, errors with the server's message.

export const API = "/api/v1";
const REVIEW_KEY = "ionscape.review";

/** An HTTP error carrying the API's `detail` message and status code. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function cookie(name) {
  const prefix = `${name}=`;
  const found = document.cookie.split("; ").find((part) => part.startsWith(prefix));
  return found ? decodeURIComponent(found.slice(prefix.length)) : "";
}

/** Review tokens given by secret links, per project id (kept for this browser tab). */
export const review = {
  all: () => JSON.parse(sessionStorage.getItem(REVIEW_KEY) || "{}"),
  add(projectId, token) {
    sessionStorage.setItem(REVIEW_KEY, JSON.stringify({ ...review.all(), [projectId]: token }));
  },
  /** The most recently added token (the API accepts one per request). */
  current: () => Object.values(review.all()).at(-1) || null,
};

/** A URL under the API with query parameters (empty values dropped) and the review token. */
export function apiUrl(path, query = {}) {
  const url = new URL(API + path, location.origin);
  for (const [key, value] of Object.entries(query)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  const token = review.current();
  if (token && !url.searchParams.has("review_token")) url.searchParams.set("review_token", token);
  return url.pathname + url.search;
}

/**
 * Call the API. `json` is sent as a JSON body, `body` as is (Blob, FormData); `query` goes into the URL.
 * Returns the parsed JSON (or the Response for `raw: true`); throws ApiError with the server's message.
 */
export async function request(method, path, { json, body, query, raw = false, signal } = {}) {
  const headers = {};
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = cookie("ionscape_csrf");
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, query), { method, headers, body, signal, credentials: "same-origin" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).detail || message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

export const api = {
  get: (path, query, options = {}) => request("GET", path, { ...options, query }),
  post: (path, json, options = {}) => request("POST", path, { ...options, json }),
  put: (path, options = {}) => request("PUT", path, options),
  patch: (path, json) => request("PATCH", path, { json }),
  delete: (path) => request("DELETE", path),
};
