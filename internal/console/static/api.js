// The HTTP API, as the console calls it. Failures become ApiError, which
// carries the RFC 9457 problem the server sent (with its field errors).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.fields = problem.errors || [];
  }
}

// request sends a request and returns {body, headers}: the decoded JSON
// body (null when there is none) and the response's headers. A Blob body
// (a file) is sent as it is; with asBlob the answer is returned as a Blob
// (a file to save).
export async function request(path, { method = "GET", body, token, headers = {}, signal, asBlob = false } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (body !== undefined) h["Content-Type"] = h["Content-Type"] || "application/json";
  if (token) h.Authorization = `Bearer ${token}`;
  const payload = body === undefined || body instanceof Blob ? body : JSON.stringify(body);
  let resp;
  try {
    resp = await fetch(path, { method, headers: h, signal, body: payload });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { title: "Network error", detail: "The server could not be reached. Check the connection and try again." });
  }
  if (asBlob && resp.ok) return { body: await resp.blob(), headers: resp.headers };
  const text = resp.status === 204 ? "" : await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!resp.ok) throw new ApiError(resp.status, data || { title: resp.statusText });
  return { body: data, headers: resp.headers };
}

export async function get(path, opts) {
  return (await request(path, opts)).body;
}

// query builds a query string, repeating a key for each value of an array
// and leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (one !== undefined && one !== null && one !== "" && one !== false) q.append(k, String(one));
    }
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// latest wraps a request function so that a new call aborts the one
// before: while a shopper types, only the answer to the last words counts.
export function latest(fn) {
  let controller;
  return async (...args) => {
    controller?.abort();
    controller = new AbortController();
    return fn(controller.signal, ...args);
  };
}

// newID returns a random id (for an Idempotency-Key or an event id).
// crypto.randomUUID exists only on https and localhost pages; a console
// reached over plain http elsewhere still has getRandomValues.
export function newID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
