// The console's router: the part of the address after "#" names the view,
// so the server serves one page and every other path stays the API's.
//
//   #/?q=…&brand=…&page=…   storefront (search, filters, paging)
//   #/p/SLUG                 a product
//   #/admin…                 the admin console (see admin.js)
import { focusHeading } from "./dom.js";
import { searchBox, storefront } from "./storefront.js";

const main = document.getElementById("main");
let current; // the view showing, which may have work to stop
let shows = 0; // counts navigations, so that a slow one a later one overtook stays out of sight

export function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, search] = hash.split("?");
  return { path, params: new URLSearchParams(search || "") };
}

export function navigate(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, "", hash);
    show({ keepFocus: true });
  } else if (location.hash === hash) {
    show(); // the same address, a new state (after logging in, say)
  } else {
    location.hash = hash;
  }
}

async function show({ keepFocus = false } = {}) {
  const n = ++shows;
  const { path, params } = route();
  // The storefront updates in place while the shopper types or filters,
  // keeping focus where it is; any other change of view stops the one
  // before (its timers and requests) and starts from the new heading.
  if (path === "/" && current?.kind === "storefront" && main.contains(current.root)) {
    current.update(params);
    return;
  }
  current?.stop?.();
  current = undefined;
  // Each view draws into a box of its own: one still loading when the
  // next address comes draws into a box no longer on the page, and never
  // takes the focus from the view that replaced it (say, from the field
  // an administrator is typing in).
  const root = document.createElement("div");
  main.replaceChildren(root);
  let view;
  if (path.startsWith("/p/")) {
    const { productPage } = await import("./product.js");
    view = await productPage(root, decodeURIComponent(path.slice(3)));
  } else if (path.startsWith("/admin") || path === "/login") {
    const { adminPage } = await import("./admin.js");
    view = await adminPage(root, path, params, navigate);
  } else {
    view = storefront(root, params);
  }
  if (n !== shows) {
    view?.stop?.();
    return;
  }
  current = { ...view, root };
  if (!keepFocus) focusHeading(main);
}

searchBox(document.getElementById("search-form"), navigate, route);
addEventListener("hashchange", () => show());
show({ keepFocus: true });
