// Import and export of the whole catalog (docs/import-export.md): upload
// a file, watch its import job, read the report of its bad lines; save
// the catalog as NDJSON or CSV.
import { ApiError } from "./api.js";
import { h, replace } from "./dom.js";
import { authed } from "./session.js";

const POLL_MS = 1000;

export function catalogFilesView(root, { expired }) {
  const status = h("div", { class: "import-status", role: "status", "aria-live": "polite" });
  const report = h("div", { class: "import-report" });
  const file = h("input", { type: "file", name: "file", accept: ".ndjson,.jsonl,.csv,application/x-ndjson,text/csv", required: true });
  const submit = h("button", { type: "submit" }, "Import");
  const form = h("form", { class: "import-form" },
    h("label", { class: "field" }, h("span", {}, "Catalog file (NDJSON or CSV)"), file), submit);
  let stopped = false;

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    submit.disabled = true;
    replace(report);
    replace(status, h("p", {}, `Sending ${f.name}…`));
    const type = f.name.toLowerCase().endsWith(".csv") ? "text/csv" : "application/x-ndjson";
    try {
      let { body: job, headers } = await authed("/api/products/import", { method: "POST", body: f, headers: { "Content-Type": type } });
      const where = headers.get("Location");
      while (job.state === "running" && !stopped) {
        show(status, job, f.size);
        await new Promise((r) => setTimeout(r, POLL_MS));
        job = (await authed(where)).body;
      }
      show(status, job, f.size);
      showReport(report, job);
    } catch (err) {
      if (!expired(err)) replace(status, h("p", { class: "error" }, err.message));
    } finally {
      submit.disabled = false;
    }
  });

  const exports = ["ndjson", "csv"].map((format) => {
    const b = h("button", { type: "button" }, `Download as ${format.toUpperCase()}`);
    b.addEventListener("click", () => download(format, b, status, expired));
    return b;
  });

  replace(root,
    h("section", {}, h("h1", {}, "Import products"),
      h("p", {}, "Products are created or updated by their slug, their variants by SKU. Bad lines are reported and skipped; importing the same file again changes nothing. Image URLs are kept as links, not fetched."),
      form, status, report),
    h("section", {}, h("h2", {}, "Export the catalog"),
      h("p", {}, "Every product, drafts included, in the formats the import reads."), h("p", { class: "actions" }, exports)));
  return { stop() { stopped = true; } };
}

function show(el, job, size) {
  const s = job.summary;
  const pct = size ? Math.min(100, Math.round((100 * s.bytes) / size)) : 0;
  replace(el,
    h("progress", { max: 100, value: job.state === "running" ? pct : 100, "aria-label": "Import progress" }),
    h("p", {}, `${stateText(job.state)}: ${s.lines} lines read — ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ${s.failed} failed.`),
    job.error ? h("p", { class: "error" }, job.error) : null);
}

function stateText(state) {
  return { running: "Importing", done: "Done", failed: "Stopped", interrupted: "Interrupted" }[state] || state;
}

function showReport(el, job) {
  if (!job.problems.length) return replace(el);
  const more = job.problems_omitted ? h("p", {}, `…and ${job.problems_omitted} more problems.`) : null;
  replace(el, h("h2", {}, "Lines not imported"),
    h("table", { class: "import-problems" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Line"), h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Problem"))),
      h("tbody", {}, job.problems.map((p) => h("tr", {}, h("td", {}, String(p.line)), h("td", {}, p.field || "—"), h("td", {}, p.message))))),
    more);
}

// download fetches the export with the session's token (a plain link
// would not carry it) and saves it.
async function download(format, button, status, expired) {
  button.disabled = true;
  try {
    const { body } = await authed(`/api/products/export?format=${format}`, { asBlob: true });
    const url = URL.createObjectURL(body);
    const a = h("a", { href: url, download: `catalog.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    if (!expired(err)) replace(status, h("p", { class: "error" }, err instanceof ApiError ? err.message : String(err)));
  } finally {
    button.disabled = false;
  }
}
