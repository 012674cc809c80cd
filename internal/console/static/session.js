// The administrator's session: the tokens live in sessionStorage, so they
// end with the tab, and are sent only to this origin's API.
import { ApiError, get, request } from "./api.js";

const KEY = "vitrine.session";

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
}

function save(tokens) {
  sessionStorage.setItem(KEY, JSON.stringify({ access: tokens.access_token, refresh: tokens.refresh_token }));
}

export function signedIn() {
  return load() !== null;
}

// logIn exchanges an e-mail and password for tokens and checks that the
// account may use the admin console.
export async function logIn(email, password) {
  const tokens = await get("/api/auth/login", { method: "POST", body: { email, password } });
  const me = await get("/api/auth/me", { token: tokens.access_token });
  if (me.role !== "admin") {
    throw new ApiError(403, { detail: "This account is not an administrator's." });
  }
  save(tokens);
  return me;
}

export async function logOut() {
  const session = load();
  sessionStorage.removeItem(KEY);
  if (session) {
    await request("/api/auth/logout", { method: "POST", body: { refresh_token: session.refresh } }).catch(() => {});
  }
}

// authed sends a request with the access token, refreshing it once when
// it has expired. With no session, or a refused refresh, it throws a 401
// that the views answer by showing the login form.
export async function authed(path, opts = {}) {
  let session = load();
  if (!session) throw new ApiError(401, { detail: "Please log in." });
  try {
    return await request(path, { ...opts, token: session.access });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
  try {
    save(await get("/api/auth/refresh", { method: "POST", body: { refresh_token: session.refresh } }));
  } catch {
    sessionStorage.removeItem(KEY);
    throw new ApiError(401, { detail: "Your session has ended; please log in again." });
  }
  session = load();
  return request(path, { ...opts, token: session.access });
}
