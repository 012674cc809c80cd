// A product's page: its pictures, price, variants (pick the options to see
// a variant's price and stock), description and attributes.
import { ApiError, get, newID, request } from "./api.js";
import { h, money, picture, priceRange, replace } from "./dom.js";
import { categoryNames } from "./storefront.js";

export async function productPage(main, slug) {
  replace(main, h("p", { class: "status", role: "status" }, "Loading…"));
  let p;
  try {
    p = await get(`/api/products/${encodeURIComponent(slug)}`);
  } catch (err) {
    const missing = err instanceof ApiError && err.status === 404;
    replace(main, h("h1", {}, missing ? "Product not found" : "The product could not be loaded"),
      h("p", {}, missing ? "It may have been removed. " : `${err.message} `, h("a", { href: "#/" }, "Back to the shop")));
    return {};
  }
  document.title = `${p.name} · Vitrine`;
  const names = await categoryNames().catch(() => new Map());
  recordView(p.id);

  replace(main, h("article", { class: "product" },
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: "#/" }, "Shop"), " › ",
      p.category ? h("a", { href: `#/?category=${encodeURIComponent(p.category)}` }, names.get(p.category) || p.category) : null),
    gallery(p.images || [], p.name),
    h("div", { class: "product-info" },
      h("h1", {}, p.name),
      p.brand ? h("p", { class: "brand" }, p.brand) : null,
      h("p", { class: "price" }, priceRange(p.price)),
      variantPicker(p),
      p.description ? h("p", { class: "description" }, p.description) : null,
      attributes(p.attributes || {}))));
  return {};
}

function gallery(images, name) {
  if (images.length === 0) return h("div", { class: "gallery" }, picture("", name, "main-picture"));
  const main = h("div", { class: "gallery-main" }, picture(images[0].url, images[0].alt || name, "main-picture"));
  const thumbs = images.length > 1 ? h("ul", { class: "thumbs", "aria-label": "Pictures" }, images.map((img, i) => {
    const button = h("button", { type: "button", "aria-label": `Show picture ${i + 1}: ${img.alt || name}`, "aria-pressed": String(i === 0) },
      picture(img.thumbnail || img.url, "", "thumb-picture"));
    button.addEventListener("click", () => {
      replace(main, picture(img.url, img.alt || name, "main-picture"));
      button.parentElement.parentElement.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    });
    return h("li", {}, button);
  })) : null;
  return h("div", { class: "gallery" }, main, thumbs);
}

// variantPicker offers one choice per option (colour, size…) and shows the
// variant those choices make; a product without options has one variant.
function variantPicker(p) {
  const variants = p.variants || [];
  const keys = [...new Set(variants.flatMap((v) => Object.keys(v.options || {})))].sort();
  const chosen = Object.fromEntries(keys.map((k) => [k, variants[0]?.options?.[k]]));
  const detail = h("p", { class: "variant", role: "status", "aria-live": "polite" });
  const render = () => {
    const v = variants.find((v) => keys.every((k) => (v.options || {})[k] === chosen[k]));
    if (!v) return replace(detail, "This combination is not made.");
    replace(detail, h("strong", {}, money(v.price.amount, v.price.currency)), " · ",
      v.stock > 0 ? `${v.stock} in stock` : h("span", { class: "badge" }, "Out of stock"), " · ",
      h("span", { class: "sku" }, `SKU ${v.sku}`));
  };
  const selects = keys.map((k) => {
    const values = [...new Set(variants.map((v) => (v.options || {})[k]).filter(Boolean))];
    const id = `option-${k.replace(/\W+/g, "-")}`;
    const select = h("select", { id }, values.map((val) => h("option", { value: val, selected: val === chosen[k] }, val)));
    select.addEventListener("change", () => { chosen[k] = select.value; render(); });
    return h("p", { class: "option" }, h("label", { for: id }, k), select);
  });
  render();
  return h("section", { class: "variants", "aria-label": "Variants" }, selects, detail,
    variants.length > 1 ? h("table", {},
      h("caption", {}, `${variants.length} variants`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "SKU"), keys.map((k) => h("th", { scope: "col" }, k)),
        h("th", { scope: "col" }, "Price"), h("th", { scope: "col" }, "Stock"))),
      h("tbody", {}, variants.map((v) => h("tr", {}, h("td", {}, v.sku), keys.map((k) => h("td", {}, (v.options || {})[k] || "")),
        h("td", {}, money(v.price.amount, v.price.currency)), h("td", {}, String(v.stock ?? 0)))))) : null);
}

function attributes(attrs) {
  const entries = Object.entries(attrs);
  if (entries.length === 0) return null;
  return h("dl", { class: "attributes" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

// recordView tells analytics that a shopper looked at the product; it
// feeds the top products. A failure costs the shopper nothing.
function recordView(productID) {
  request("/api/analytics/events", { method: "POST", body: { events: [{ id: newID(), type: "view", product_id: productID }] } }).catch(() => {});
}
