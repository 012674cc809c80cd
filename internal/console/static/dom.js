// Small helpers to build the page from data. Text always goes in as text
// nodes, never as HTML, so nothing a product or a shopper wrote can run.

const SVG = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// h("a", {href: "#/"}, "Home") builds an HTML element.
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s("rect", {x: 0}) builds an SVG element.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

// replace puts children in the place of el's content.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// marked turns the search API's highlights (HTML-escaped text with the
// matched parts in <mark>) into nodes without parsing them as HTML.
export function marked(highlight) {
  const out = [];
  const parts = highlight.split(/<\/?mark>/);
  parts.forEach((part, i) => {
    const text = unescapeHTML(part);
    if (text) out.push(i % 2 ? h("mark", {}, text) : text);
  });
  return out;
}

function unescapeHTML(text) {
  return text.replace(/&(lt|gt|amp|quot|#39|#34);/g, (_, e) =>
    ({ lt: "<", gt: ">", amp: "&", quot: '"', "#39": "'", "#34": '"' })[e]);
}

// money formats minor units of a currency for the reader's locale.
export function money(amount, currency) {
  if (amount === undefined || amount === null) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount / 100);
  } catch {
    return (amount / 100).toFixed(2) + " " + (currency || "");
  }
}

// priceRange formats a product's {min, max, currency}.
export function priceRange(price) {
  if (!price) return "";
  const low = money(price.min, price.currency);
  return price.max > price.min ? `${low} – ${money(price.max, price.currency)}` : low;
}

// An uploaded picture's thumbnail (160 pixels wide) has a card size too
// (480): given the width its box takes (sizes), the browser picks the one
// that stays sharp.
const uploadedThumbnail = /^(\/images\/[0-9a-f]{64}\/)thumbnail\.jpg$/;

// picture shows an image, or a quiet placeholder when there is none or it
// does not load (a product's images may live on a host that is gone).
export function picture(url, alt, className, sizes) {
  const box = h("div", { class: `picture ${className || ""}` });
  if (!url) return replace(box, h("span", { class: "no-picture", "aria-hidden": "true" }, "No image"));
  const sized = sizes && uploadedThumbnail.exec(url);
  const img = h("img", {
    src: url, alt: alt || "", loading: "lazy", decoding: "async",
    srcset: sized ? `${url} 160w, ${sized[1]}card.jpg 480w` : undefined, sizes: sized ? sizes : undefined,
  });
  img.addEventListener("error", () => {
    box.classList.add("broken");
    // A picture with no description is decoration (a card's, beside the
    // product's name): its placeholder is hidden from screen readers too.
    replace(box, alt ? h("span", { class: "no-picture", role: "img", "aria-label": alt }, alt)
      : h("span", { class: "no-picture", "aria-hidden": "true" }, "Image unavailable"));
  }, { once: true });
  return replace(box, img);
}

// debounce runs fn once calls have paused for ms; cancel() drops the
// call waiting.
export function debounce(fn, ms) {
  let timer;
  const call = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
}

// focusHeading moves focus to a view's heading, so that a screen reader
// announces the new page and the keyboard starts from it.
export function focusHeading(root) {
  const heading = root.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}
