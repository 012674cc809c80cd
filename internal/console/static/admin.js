// The admin console: log in, then the analytics, the products and the
// categories.
//
//   #/admin                     analytics
//   #/admin/products            products, newest first, or found by search
//   #/admin/products/new        a new product
//   #/admin/products/ID         a product to edit
//   #/admin/categories          the category tree
//   #/admin/files               import a catalog file, export the catalog
import { ApiError } from "./api.js";
import { h, replace } from "./dom.js";
import { clearErrors, field, showErrors } from "./forms.js";
import { logIn, logOut, signedIn } from "./session.js";

const SECTIONS = [["/admin", "Analytics"], ["/admin/products", "Products"], ["/admin/categories", "Categories"],
  ["/admin/files", "Import & export"]];

export async function adminPage(main, path, params, navigate) {
  if (!signedIn() || path === "/login") return loginForm(main, params.get("next") || "#/admin", navigate);
  const body = h("div", { class: "admin-body" });
  const section = SECTIONS.slice().reverse().find(([p]) => path.startsWith(p))[0];
  const out = h("button", { type: "button", class: "link" }, "Log out");
  out.addEventListener("click", async () => { await logOut(); navigate("#/"); });
  replace(main, h("div", { class: "admin" },
    h("nav", { class: "tabs", "aria-label": "Admin" },
      SECTIONS.map(([p, label]) => h("a", { href: `#${p}`, "aria-current": p === section ? "page" : null }, label)), out),
    body));

  // A view that finds the session gone sends the administrator to log in
  // and back here afterwards.
  const expired = (err) => {
    if (err instanceof ApiError && err.status === 401) {
      navigate(`#/login?next=${encodeURIComponent(location.hash)}`);
      return true;
    }
    return false;
  };
  if (section === "/admin/products") {
    const { productsView } = await import("./catalogadmin.js");
    return productsView(body, path.slice("/admin/products".length).replace(/^\//, ""), params, { navigate, expired });
  }
  if (section === "/admin/categories") {
    const { categoriesView } = await import("./catalogadmin.js");
    return categoriesView(body, { expired });
  }
  if (section === "/admin/files") {
    const { catalogFilesView } = await import("./catalogfiles.js");
    return catalogFilesView(body, { expired });
  }
  const { analyticsView } = await import("./analytics.js");
  return analyticsView(body, params, { navigate, expired });
}

function loginForm(main, next, navigate) {
  const summary = h("div", { class: "form-summary", role: "alert", tabindex: "-1" });
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h("form", { class: "login", novalidate: true }, summary,
    field("E-mail", "email", { type: "email", autocomplete: "username", required: true }),
    field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
    submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      await logIn(form.elements.email.value.trim(), form.elements.password.value);
      navigate(next.startsWith("#/") ? next : "#/admin");
    } catch (err) {
      showErrors(form, err.status === 401 ? { message: "That e-mail and password do not match an account.", fields: [] } : err);
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, h("section", { class: "login-page" }, h("h1", {}, "Log in to the admin console"), form));
  return {};
}
