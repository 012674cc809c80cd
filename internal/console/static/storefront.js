// The storefront: the category tree, search with filters, facet counts and
// paging, and suggestions while the shopper types. Every state is in the
// address (#/?q=…&brand=…), so a search can be shared, bookmarked and
// walked back through with the browser's Back button.
import { get, latest, query } from "./api.js";
import { debounce, h, marked, money, picture, priceRange, replace } from "./dom.js";

const PER_PAGE = 24;
const MAX_RESULTS = 10000; // the search API pages at most this far
const SORTS = [["relevance", "Best match"], ["popular", "Popular"], ["newest", "Newest"], ["price", "Price, low to high"], ["-price", "Price, high to low"]];

let categoriesOnce;
// categories fetches the tree once per page load.
export function categories() {
  categoriesOnce ??= get("/api/categories").catch((err) => { categoriesOnce = undefined; throw err; });
  return categoriesOnce;
}

// forgetCategories drops the fetched tree after an administrator changed it.
export function forgetCategories() {
  categoriesOnce = undefined;
}

// categoryNames maps every slug of the tree to its name.
export async function categoryNames() {
  const names = new Map();
  const walk = (nodes) => nodes.forEach((c) => { names.set(c.slug, c.name); walk(c.children || []); });
  walk(await categories());
  return names;
}

// withParams returns the storefront address for params changed by
// changes; a change of anything but the page goes back to page 1.
function withParams(params, changes) {
  const next = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    next.delete(k);
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined && one !== null && one !== "") next.append(k, one);
  }
  if (!("page" in changes)) next.delete("page");
  const s = next.toString();
  return s ? `#/?${s}` : "#/";
}

// Browsing (no words) asks for the results, then the facet counts: counting
// facets over a whole large catalog takes longer than finding its first
// page, which the shopper can read meanwhile. A search
// with words asks once: it matches fewer products, and each search with
// words counts once in the analytics.
const filterParams = (params) => ({
  q: params.get("q"), category: params.get("category"), brand: params.getAll("brand"),
  min_price: params.get("min_price"), max_price: params.get("max_price"),
  in_stock: params.get("in_stock"),
});
const searchResults = latest((signal, params, withFacets) => get("/api/search" + query({
  ...filterParams(params), sort: params.get("sort"), page: params.get("page"), per_page: PER_PAGE,
  facets: withFacets ? "brand,category,price" : "",
}), { signal }));
const searchFacets = latest((signal, params) => get("/api/search" + query({
  ...filterParams(params), per_page: 1, facets: "brand,category,price",
}), { signal }));

// storefront shows the search page for params and returns a view that
// updates in place when they change.
export function storefront(main, params) {
  const filters = h("div", { class: "filters-body" });
  const heading = h("h1", { id: "results-title" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const sort = h("select", { id: "sort" }, SORTS.map(([v, label]) => h("option", { value: v }, label)));
  const grid = h("ul", { class: "grid", "aria-labelledby": "results-title" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const toggle = h("details", { class: "filters", open: matchMedia("(min-width: 48em)").matches },
    h("summary", {}, "Filters"), filters);
  replace(main, h("div", { class: "shop" },
    h("aside", { "aria-label": "Filters" }, toggle),
    h("section", { class: "results" },
      h("div", { class: "results-head" }, h("div", {}, heading, status),
        h("div", { class: "sort" }, h("label", { for: "sort" }, "Sort by"), sort)),
      grid, pager)));

  let shown = params;
  sort.addEventListener("change", () => { location.hash = withParams(shown, { sort: sort.value }); });

  async function update(next) {
    shown = next;
    const q = next.get("q") || "";
    const input = document.getElementById("q");
    if (input && document.activeElement !== input) input.value = q;
    sort.value = next.get("sort") || "relevance";
    main.setAttribute("aria-busy", "true");
    let result, names;
    try {
      [result, names] = await Promise.all([searchResults(next, !!q), categoryNames().catch(() => new Map())]);
    } catch (err) {
      if (err.name === "AbortError") return;
      main.removeAttribute("aria-busy");
      replace(status, h("span", { class: "error" }, `Search failed: ${err.message}`));
      return;
    }
    main.removeAttribute("aria-busy");
    const category = next.get("category");
    const title = q ? `Results for “${q}”` : category ? names.get(category) || category : "All products";
    replace(heading, title);
    document.title = `${title} · Vitrine`;
    replace(status, result.total === 0 ? "No products match." : `${result.total.toLocaleString()} product${result.total === 1 ? "" : "s"}`);
    replace(grid, result.items.map((item) => card(item, names)));
    if (result.total === 0) grid.append(h("li", { class: "empty" }, "Try fewer words, or remove a filter."));
    renderPager(pager, next, result);

    const currency = result.items[0]?.price?.currency || "EUR";
    const showFilters = async (facets) => {
      const focused = document.activeElement?.dataset?.focusKey;
      replace(filters, await filterPanel(next, facets, currency));
      if (focused) filters.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
    };
    if (q) return showFilters(result.facets || {});
    // The counts are asked for once the page is shown, so that on a busy
    // server the two do not compete; the tree shows meanwhile.
    if (!filters.hasChildNodes()) await showFilters({});
    const counted = await searchFacets(next).catch((err) => err);
    if (counted?.name === "AbortError" || shown !== next) return;
    await showFilters(counted instanceof Error ? {} : counted.facets || {});
  }

  update(params);
  return { kind: "storefront", update, stop() {} };
}

function card(item, names) {
  const name = item.highlights?.name?.[0] ? marked(item.highlights.name[0]) : item.name;
  return h("li", { class: "card" },
    h("a", { href: `#/p/${encodeURIComponent(item.slug)}` },
      picture(item.thumbnail || item.image, "", "card-picture", "(max-width: 48em) 50vw, 14rem"),
      h("span", { class: "card-name" }, name)),
    h("span", { class: "card-brand" }, item.brand),
    h("span", { class: "card-category" }, names.get(item.category) || item.category),
    h("span", { class: "card-price" }, priceRange(item.price)),
    item.in_stock ? null : h("span", { class: "badge" }, "Out of stock"));
}

function renderPager(pager, params, result) {
  const page = result.page || 1;
  const pages = Math.max(1, Math.ceil(Math.min(result.total, MAX_RESULTS) / PER_PAGE));
  replace(pager,
    page > 1 ? h("a", { href: withParams(params, { page: page - 1 }), rel: "prev" }, "← Previous") : h("span", {}),
    h("span", { "aria-current": "page" }, `Page ${page} of ${pages.toLocaleString()}`),
    page < pages ? h("a", { href: withParams(params, { page: page + 1 }), rel: "next" }, "Next →") : h("span", {}));
}

// filterPanel: the category tree with counts, brands to pick (any of),
// price ranges and stock.
async function filterPanel(params, facets, currency) {
  const counts = new Map((facets.category || []).map((f) => [f.value, f.count]));
  const current = params.get("category");
  let tree = [];
  try { tree = await categories(); } catch { /* the search still works */ }
  const branch = (nodes, depth) => h("ul", { class: depth ? "tree-branch" : "tree" }, nodes.map((c) => {
    const count = counts.get(c.slug);
    const open = current === c.slug || isAncestor(c, current);
    return h("li", {},
      h("a", { href: withParams(params, { category: c.slug }), "aria-current": current === c.slug ? "page" : null, dataset: { focusKey: `cat:${c.slug}` } },
        c.name, count !== undefined ? h("span", { class: "count" }, count.toLocaleString()) : null),
      open && c.children?.length ? branch(c.children, depth + 1) : null);
  }));

  const brands = params.getAll("brand");
  const brandList = (facets.brand || []).map((f) => {
    const id = `brand-${f.value.replace(/\W+/g, "-")}`;
    const box = h("input", { type: "checkbox", id, checked: brands.includes(f.value), dataset: { focusKey: `brand:${f.value}` } });
    box.addEventListener("change", () => {
      location.hash = withParams(params, { brand: box.checked ? [...brands, f.value] : brands.filter((b) => b !== f.value) });
    });
    return h("li", {}, box, h("label", { for: id }, f.value, h("span", { class: "count" }, f.count.toLocaleString())));
  });

  const price = facets.price;
  const min = params.get("min_price"), max = params.get("max_price");
  const ranges = (price?.ranges || []).filter((r) => r.count > 0).map((r) => {
    const on = min === String(r.from) && (max || "") === (r.to === null ? "" : String(r.to));
    const label = r.to === null ? `${money(r.from, currency)} and up` : `${money(r.from, currency)} – ${money(r.to, currency)}`;
    return h("li", {}, h("a", {
      href: on ? withParams(params, { min_price: "", max_price: "" }) : withParams(params, { min_price: r.from, max_price: r.to ?? "" }),
      "aria-current": on ? "true" : null, dataset: { focusKey: `price:${r.from}` },
    }, label, h("span", { class: "count" }, r.count.toLocaleString())));
  });
  const stock = h("input", { type: "checkbox", id: "in-stock", checked: params.get("in_stock") === "true", dataset: { focusKey: "stock" } });
  stock.addEventListener("change", () => { location.hash = withParams(params, { in_stock: stock.checked ? "true" : "" }); });

  const filtered = current || brands.length || min || max || params.get("in_stock");
  return [
    filtered ? h("p", {}, h("a", { href: withParams(params, { category: "", brand: [], min_price: "", max_price: "", in_stock: "" }), class: "clear" }, "Clear filters")) : null,
    h("section", {}, h("h2", {}, "Categories"),
      current ? h("p", {}, h("a", { href: withParams(params, { category: "" }) }, "← All categories")) : null, branch(tree, 0)),
    brandList.length ? h("section", {}, h("h2", {}, "Brand"), h("ul", { class: "checks" }, brandList)) : null,
    ranges.length ? h("section", {}, h("h2", {}, "Price"),
      price.min !== null ? h("p", { class: "hint" }, `From ${money(price.min, currency)} to ${money(price.max, currency)}`) : null,
      h("ul", { class: "ranges" }, ranges)) : null,
    h("section", {}, h("h2", {}, "Availability"), h("p", { class: "check" }, stock, h("label", { for: "in-stock" }, "In stock only"))),
  ];
}

function isAncestor(node, slug) {
  return (node.children || []).some((c) => c.slug === slug || isAncestor(c, slug));
}

// searchBox makes the header's search field instant: suggestions as the
// shopper types (arrow keys to pick, Enter to open, Escape to close), and
// on the storefront, results that follow the words.
export function searchBox(form, navigate, route) {
  const input = form.querySelector("#q");
  const list = form.querySelector("#suggestions");
  let options = [], active = -1;
  let closes = 0; // counts closings: suggestions asked for before the last one stay unshown

  const suggest = latest((signal, q) => get("/api/search/suggest" + query({ q }), { signal }));
  const close = () => {
    closes++;
    showSuggestions.cancel();
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const pick = (i) => {
    active = i;
    options.forEach((o, j) => o.setAttribute("aria-selected", String(j === i)));
    if (i >= 0) input.setAttribute("aria-activedescendant", options[i].id);
    else input.removeAttribute("aria-activedescendant");
  };

  const showSuggestions = debounce(async (q) => {
    if (!q.trim()) return close();
    const asked = closes;
    let found;
    try { found = (await suggest(q)).suggestions || []; } catch { return; }
    // Suggestions that arrive once the shopper has moved on (other words,
    // another field, another view) are not shown.
    if (input.value !== q || asked !== closes || document.activeElement !== input) return;
    // A suggestion picked with the arrow keys stays picked when the list
    // is refreshed and still holds it.
    const picked = active >= 0 ? options[active].dataset.slug : null;
    options = found.map((sg, i) => {
      const li = h("li", { id: `suggestion-${i}`, role: "option", "aria-selected": "false" }, marked(sg.highlight || sg.name));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); close(); navigate(`#/p/${encodeURIComponent(sg.slug)}`); });
      li.dataset.slug = sg.slug;
      return li;
    });
    replace(list, options);
    list.hidden = options.length === 0;
    input.setAttribute("aria-expanded", String(options.length > 0));
    pick(options.findIndex((o) => o.dataset.slug === picked));
  }, 120);

  const followResults = debounce((q) => {
    if (route().path !== "/") return;
    navigate(withParams(route().params, { q }), { replace: true });
  }, 200);

  input.addEventListener("input", () => { showSuggestions(input.value); followResults(input.value); });
  // The list belongs to the moment of typing: it closes when the field
  // loses focus, the view changes, the tab is left, Escape is pressed
  // anywhere, or a click lands outside the search box.
  input.addEventListener("blur", close);
  addEventListener("hashchange", close);
  document.addEventListener("visibilitychange", () => { if (document.hidden) close(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !list.hidden) close(); });
  document.addEventListener("pointerdown", (e) => { if (!form.contains(e.target)) close(); });
  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = options.length;
      pick(e.key === "ArrowDown" ? (active + 1) % n : (active - 1 + n) % n);
    }
  });
  // Enter submits the form: it opens the suggestion picked with the arrow
  // keys, if any, and searches for the words otherwise.
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const picked = !list.hidden && active >= 0 ? options[active].dataset.slug : null;
    close();
    if (picked) return navigate(`#/p/${encodeURIComponent(picked)}`);
    const params = route().path === "/" ? route().params : new URLSearchParams();
    navigate(withParams(params, { q: input.value.trim() }));
  });
}
