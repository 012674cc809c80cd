// Products and categories, as an administrator edits them.
import { ApiError, get, newID, query } from "./api.js";
import { h, priceRange, replace } from "./dom.js";
import { clearErrors, clientError, field, showErrors } from "./forms.js";
import { authed } from "./session.js";
import { categories, forgetCategories } from "./storefront.js";

const STATUSES = ["draft", "active", "archived"];

// productsView lists products, or edits one (id) or a new one ("new").
export async function productsView(body, id, params, { navigate, expired }) {
  if (id) return productEditor(body, id, { navigate, expired });
  const q = params.get("q") || "";
  const search = h("input", { type: "search", id: "product-q", name: "q", value: q, placeholder: "Name, brand, SKU…" });
  const find = h("form", { class: "inline", role: "search" },
    h("label", { for: "product-q" }, "Find a product"), search, h("button", { type: "submit" }, "Find"));
  find.addEventListener("submit", (e) => { e.preventDefault(); navigate(`#/admin/products${query({ q: search.value.trim() })}`); });
  const list = h("ul", { class: "rows" });
  const more = h("button", { type: "button", hidden: true }, "More");
  const status = h("p", { class: "status", role: "status" }, "Loading…");
  replace(body, h("div", { class: "heading-row" }, h("h1", {}, "Products"),
    h("a", { class: "button", href: "#/admin/products/new" }, "New product")), find, status, list, more);

  const row = (p) => h("li", {}, h("a", { href: `#/admin/products/${p.id}` }, p.name),
    h("span", { class: "muted" }, [p.brand, priceRange(p.price), p.status].filter(Boolean).join(" · ")));
  let cursor = null;
  const load = async () => {
    try {
      if (q) {
        const r = await get("/api/search" + query({ q, per_page: 50 }));
        replace(status, `${r.total.toLocaleString()} found (active products; drafts are listed below when the search is empty)`);
        list.append(...r.items.map((it) => row({ ...it, status: "active" })));
        return;
      }
      const page = (await authed("/api/products" + query({ status: STATUSES, sort: "newest", limit: 25, cursor }))).body;
      replace(status, "Newest first, drafts and archived products included.");
      list.append(...page.items.map(row));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      if (!expired(err)) replace(status, h("span", { class: "error" }, err.message));
    }
  };
  more.addEventListener("click", load);
  await load();
  return {};
}

async function productEditor(body, id, { navigate, expired }) {
  let product = { status: "active", variants: [{ price: { currency: "EUR" } }], images: [] };
  if (id !== "new") {
    try {
      product = (await authed(`/api/products/${encodeURIComponent(id)}`)).body;
    } catch (err) {
      if (!expired(err)) replace(body, h("h1", {}, "Product"), h("p", { class: "error" }, err.message));
      return {};
    }
  }
  const tree = await categories().catch(() => []);
  const options = [h("option", { value: "" }, "None")];
  const walk = (nodes, depth) => nodes.forEach((c) => {
    options.push(h("option", { value: c.slug, selected: c.slug === product.category }, `${"  ".repeat(depth)}${c.name}`));
    walk(c.children || [], depth + 1);
  });
  walk(tree, 0);

  const variants = h("div", { class: "rows-edit", name: "variants", tabindex: "-1" });
  const images = h("div", { class: "rows-edit", name: "images", tabindex: "-1" });
  const summary = h("div", { class: "form-summary", role: "alert", tabindex: "-1" });
  const saved = h("p", { class: "status", role: "status" });
  const form = h("form", { class: "editor", novalidate: true }, summary,
    h("fieldset", {}, h("legend", {}, "Product"),
      field("Name", "name", { value: product.name, required: true, maxlength: 200 }),
      field("Slug", "slug", { value: product.slug }, "Part of the product's address; made from the name when left empty."),
      field("Brand", "brand", { value: product.brand }),
      field("Category", "category", { tag: "select", children: options }),
      field("Status", "status", { tag: "select", children: STATUSES.map((st) => h("option", { value: st, selected: st === product.status }, st)) },
        "Only active products are shown in the shop."),
      field("Description", "description", { tag: "textarea", rows: 4, children: [product.description || ""] }),
      field("Tags", "tags", { value: (product.tags || []).join(", ") }, "Separated by commas.")),
    h("fieldset", {}, h("legend", {}, "Variants"),
      h("p", { class: "hint" }, "Each variant is one thing to buy: its SKU, options such as color=red, size=M, price and stock."),
      variants, addButton("Add a variant", () => variants.append(variantRow(variants, {})))),
    h("fieldset", {}, h("legend", {}, "Images"),
      h("p", { class: "hint" }, "Addresses of the pictures, in order, with a short description for people who cannot see them."),
      images, addButton("Add an image", () => images.append(imageRow(images, {})))),
    h("div", { class: "actions" }, h("button", { type: "submit" }, id === "new" ? "Create product" : "Save changes"),
      id !== "new" ? h("a", { href: `#/p/${encodeURIComponent(product.slug)}` }, "See it in the shop") : null),
    saved);
  (product.variants || []).forEach((v) => variants.append(variantRow(variants, v)));
  (product.images || []).forEach((img) => images.append(imageRow(images, img)));
  renumber(variants, "variants");
  renumber(images, "images");

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    replace(saved);
    const { input, errors } = readProduct(form, variants, images);
    if (errors.length) return showErrors(form, clientError(errors));
    // One press, one request: the button waits for the answer.
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const resp = id === "new"
        ? await authed("/api/products", { method: "POST", body: input, headers: { "Idempotency-Key": newID() } })
        : await authed(`/api/products/${product.id}`, { method: "PUT", body: input, headers: { "If-Match": `"${product.version}"` } });
      product = resp.body;
      if (id === "new") {
        navigate(`#/admin/products/${product.id}`);
        return;
      }
      replace(saved, `Saved (version ${product.version}).`);
    } catch (err) {
      if (expired(err)) return;
      if (err instanceof ApiError && err.status === 412) {
        err = { message: "Someone else changed this product since you opened it. Reload the page to see their changes.", fields: [] };
      }
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  replace(body, h("h1", {}, id === "new" ? "New product" : `Edit ${product.name}`), form);
  return {};
}

function addButton(label, add) {
  const b = h("button", { type: "button", class: "secondary" }, label);
  b.addEventListener("click", add);
  return b;
}

// A row's inputs are named by their path in the request body, which is
// how the server's field errors name them; renumber keeps the paths true
// after a row is added or removed.
function renumber(container, prefix) {
  [...container.children].forEach((row, i) => {
    row.querySelector("legend").textContent = `${prefix === "variants" ? "Variant" : "Image"} ${i + 1}`;
    row.querySelectorAll("[data-key]").forEach((el) => {
      const name = `${prefix}[${i}].${el.dataset.key}`;
      const id = `f-${name.replace(/\W+/g, "-")}`;
      el.name = name;
      el.id = id;
      el.closest(".field").querySelector("label").htmlFor = id;
    });
  });
}

function rowField(label, key, attrs) {
  const input = h("input", { ...attrs, dataset: { key } });
  return h("div", { class: "field" }, h("label", {}, label), input);
}

function removeButton(container, prefix, row) {
  const b = h("button", { type: "button", class: "link" }, "Remove");
  b.addEventListener("click", () => { row.remove(); renumber(container, prefix); });
  return b;
}

function variantRow(container, v) {
  const options = Object.entries(v.options || {}).map(([k, val]) => `${k}=${val}`).join(", ");
  const currency = v.price?.currency || "EUR";
  const row = h("fieldset", { class: "row" }, h("legend", {}),
    rowField("SKU", "sku", { value: v.sku, autocapitalize: "characters" }),
    rowField("Options", "options", { value: options, placeholder: "color=red, size=M" }),
    rowField("Price", "price.amount", { value: v.price?.amount !== undefined ? formatAmount(v.price.amount, currency) : "", inputmode: "decimal", placeholder: "19.99" }),
    rowField("Currency", "price.currency", { value: currency, maxlength: 8, class: "short" }),
    rowField("Stock", "stock", { value: v.stock ?? 0, inputmode: "numeric", class: "short" }));
  row.append(removeButton(container, "variants", row));
  queueMicrotask(() => renumber(container, "variants"));
  return row;
}

function imageRow(container, img) {
  const row = h("fieldset", { class: "row" }, h("legend", {}),
    rowField("Address (URL)", "url", { value: img.url, type: "url", placeholder: "https://…" }),
    rowField("Description", "alt", { value: img.alt }));
  row.append(removeButton(container, "images", row));
  queueMicrotask(() => renumber(container, "images"));
  return row;
}

// digits is how many minor units a currency has (2 for EUR, 0 for JPY).
function digits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

function formatAmount(amount, currency) {
  return (amount / 10 ** digits(currency)).toFixed(digits(currency));
}

// readProduct turns the form into the API's product input, with errors for
// what cannot be read (a price that is not a number); the server checks
// the rest and its answer names the fields the same way.
function readProduct(form, variants, images) {
  const value = (name) => form.elements[name]?.value.trim() ?? "";
  const errors = [];
  const input = {
    name: value("name"), slug: value("slug") || undefined, brand: value("brand"), category: value("category") || undefined,
    status: value("status"), description: value("description"),
    tags: value("tags").split(",").map((t) => t.trim()).filter(Boolean),
    variants: [...variants.children].map((_, i) => {
      const p = `variants[${i}]`;
      const currency = value(`${p}.price.currency`).toUpperCase();
      const price = value(`${p}.price.amount`).replace(",", ".");
      const amount = Math.round(Number(price) * 10 ** digits(currency));
      if (price === "" || !Number.isFinite(amount)) errors.push({ field: `${p}.price.amount`, detail: "enter a price such as 19.99" });
      const stock = Number(value(`${p}.stock`) || 0);
      if (!Number.isInteger(stock)) errors.push({ field: `${p}.stock`, detail: "enter a whole number" });
      const options = {};
      for (const pair of value(`${p}.options`).split(",").map((o) => o.trim()).filter(Boolean)) {
        const [k, ...rest] = pair.split("=");
        if (!k.trim() || rest.length === 0) errors.push({ field: `${p}.options`, detail: "write options as name=value, separated by commas" });
        else options[k.trim()] = rest.join("=").trim();
      }
      return { sku: value(`${p}.sku`), options, price: { amount, currency }, stock };
    }),
    images: [...images.children].map((_, i) => ({ url: value(`images[${i}].url`), alt: value(`images[${i}].alt`) })),
  };
  if (!input.name) errors.push({ field: "name", detail: "a product needs a name" });
  return { input, errors };
}

// categoriesView shows the tree, with a form to add a category or to
// rename or move one, and a button to delete an empty one.
export async function categoriesView(body, { expired }) {
  const summary = h("div", { class: "form-summary", role: "alert", tabindex: "-1" });
  const done = h("p", { class: "status", role: "status" });
  const treeBox = h("div", {});
  let editing = null;
  const parent = h("select", { id: "f-parent", name: "parent" });
  const form = h("form", { class: "editor", novalidate: true }, summary,
    h("fieldset", {}, h("legend", { id: "category-legend" }, "New category"),
      field("Name", "name", { required: true }),
      field("Slug", "slug", {}, "Made from the name when left empty; it cannot change later."),
      h("div", { class: "field" }, h("label", { for: "f-parent" }, "Parent"), parent)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save category"),
      addButton("New category", () => edit(null))), done);

  function edit(c) {
    editing = c;
    clearErrors(form);
    form.querySelector("#category-legend").textContent = c ? `Edit ${c.name}` : "New category";
    form.elements.name.value = c?.name || "";
    form.elements.slug.value = c?.slug || "";
    form.elements.slug.disabled = !!c;
    parent.value = c?.parent || "";
    form.elements.name.focus();
  }

  async function render() {
    const tree = await get("/api/categories", { headers: { "Cache-Control": "no-cache" } });
    const options = [h("option", { value: "" }, "None (top level)")];
    const branch = (nodes, depth) => h("ul", { class: depth ? "tree-branch" : "tree admin-tree" }, nodes.map((c) => {
      options.push(h("option", { value: c.slug }, `${"  ".repeat(depth)}${c.name}`));
      const editB = h("button", { type: "button", class: "link" }, "Edit");
      editB.addEventListener("click", () => edit(c));
      const del = h("button", { type: "button", class: "link danger" }, "Delete");
      del.addEventListener("click", async () => {
        if (!confirm(`Delete the category ${c.name}?`)) return;
        try {
          await authed(`/api/categories/${encodeURIComponent(c.slug)}`, { method: "DELETE" });
          forgetCategories();
          replace(done, `Deleted ${c.name}.`);
          render();
        } catch (err) {
          if (!expired(err)) showErrors(form, err);
        }
      });
      return h("li", {}, h("span", {}, c.name, " ", h("code", {}, c.slug)), editB, del,
        c.children?.length ? branch(c.children, depth + 1) : null);
    }));
    replace(treeBox, branch(tree, 0));
    const keep = parent.value;
    replace(parent, options);
    parent.value = keep;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const input = { name: form.elements.name.value.trim(), parent: parent.value || undefined };
    try {
      if (editing) {
        await authed(`/api/categories/${encodeURIComponent(editing.slug)}`, { method: "PUT", body: input });
      } else {
        await authed("/api/categories", { method: "POST", body: { ...input, slug: form.elements.slug.value.trim() || undefined } });
      }
      forgetCategories();
      replace(done, `Saved ${input.name}.`);
      edit(null);
      await render();
    } catch (err) {
      if (!expired(err)) showErrors(form, err);
    }
  });
  replace(body, h("h1", {}, "Categories"), h("div", { class: "two-columns" }, treeBox, form));
  await render().catch((err) => replace(treeBox, h("p", { class: "error" }, err.message)));
  return {};
}
