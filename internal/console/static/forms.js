// Problems next to the fields they name. The API answers a bad request
// with an RFC 9457 problem whose errors name fields by their path in the
// JSON body ("variants[0].price.currency"); the console's inputs carry the
// same paths as their names, so each message lands by its input.
import { h, replace } from "./dom.js";

// clearErrors removes the messages of a previous attempt.
export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((el) => el.remove());
  form.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    el.setAttribute("aria-describedby", (el.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.startsWith("error-")).join(" "));
  });
  const summary = form.querySelector(".form-summary");
  if (summary) replace(summary);
}

// showErrors puts each field error by its input (or the closest input
// whose name starts its path), the rest in the form's summary, and moves
// focus to the first field at fault.
export function showErrors(form, err) {
  clearErrors(form);
  const summary = form.querySelector(".form-summary");
  const fields = err.fields || [];
  const unplaced = [];
  let first;
  fields.forEach((fe, i) => {
    const input = inputFor(form, fe.field);
    if (!input) return unplaced.push(fe);
    const id = `error-${i}-${Math.random().toString(36).slice(2, 7)}`;
    const msg = h("p", { class: "field-error", id, dataset: { errorFor: fe.field } }, rowLabel(input, fe.field), fe.detail);
    (input.closest(".field") || input).after(msg);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") || ""} ${id}`.trim());
    first ??= input;
  });
  const lines = unplaced.map((fe) => h("li", {}, fe.field ? `${fe.field}: ` : "", fe.detail));
  replace(summary,
    h("p", {}, fields.length ? `Please correct ${fields.length === 1 ? "the field" : `the ${fields.length} fields`} marked below.` : err.message),
    lines.length ? h("ul", {}, lines) : null);
  (first || summary).focus();
}

// inputFor finds the input named field, or the one whose name is the
// longest start of field ("variants[0].options.size" → the options input).
function inputFor(form, field) {
  let best = null, bestName = "";
  for (const el of form.querySelectorAll("[name]")) {
    const name = el.getAttribute("name");
    if ((field === name || field.startsWith(name + ".") || field.startsWith(name + "[")) && name.length > bestName.length) {
      best = el;
      bestName = name;
    }
  }
  return best;
}

// rowLabel names a field within a row ("Variant 2, Currency: "), where the
// message, below the row, would not say which input it is about.
function rowLabel(input, field) {
  const m = /^(\w+)\[(\d+)\]/.exec(field);
  if (!m) return "";
  const label = input.labels?.[0]?.textContent;
  return `${m[1] === "variants" ? "Variant" : "Image"} ${Number(m[2]) + 1}${label ? `, ${label}` : ""}: `;
}

// field builds a labelled input (or select, textarea: tag) with attrs.
export function field(label, name, { tag = "input", children = [], ...attrs } = {}, hint) {
  const id = `f-${name.replace(/\W+/g, "-")}`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h(tag, { id, name, "aria-describedby": hintId, ...attrs }, children);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint", id: hintId }, hint) : null);
}

// clientError is a problem the console finds before sending, shown the
// same way as the server's.
export function clientError(errors) {
  return { message: "Please correct the fields marked below.", fields: errors };
}
