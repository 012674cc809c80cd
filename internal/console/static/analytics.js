// The analytics: live traffic of the instance that answers, the health of
// the event pipeline (search index lag, outbox backlog), and what shoppers
// did (views, searches, top products and searches, searches that found
// nothing).
import { get, query } from "./api.js";
import { h, replace } from "./dom.js";
import { barChart, columnChart, lineChart } from "./charts.js";
import { authed } from "./session.js";

const WINDOWS = [["1h", "Last hour"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"]];
const POLL_MS = 2000;
const KEEP = 90; // samples in the live charts: three minutes

export async function analyticsView(body, params, { navigate, expired }) {
  const period = WINDOWS.some(([w]) => w === params.get("window")) ? params.get("window") : "1h";
  const pick = h("select", { id: "window" }, WINDOWS.map(([w, label]) => h("option", { value: w, selected: w === window }, label)));
  pick.addEventListener("change", () => navigate(`#/admin${query({ window: pick.value })}`));

  const live = h("div", { class: "panel-body" }, h("p", { class: "status" }, "Measuring…"));
  const pipeline = h("div", { class: "panel-body" });
  const activity = h("div", { class: "panel-body" });
  const topViews = h("div", { class: "panel-body" });
  const topSales = h("div", { class: "panel-body" });
  const topSearches = h("div", { class: "panel-body" });
  const zeroSearches = h("div", { class: "panel-body" });
  const panel = (title, content, wide) => h("section", { class: `panel${wide ? " wide" : ""}` }, h("h2", {}, title), content);
  replace(body,
    h("div", { class: "heading-row" }, h("h1", {}, "Analytics"),
      h("p", { class: "inline" }, h("label", { for: "window" }, "Period"), pick)),
    h("div", { class: "panels" },
      panel("Live traffic", live, true),
      panel("Event pipeline", pipeline),
      panel("Shopper activity", activity),
      panel("Most viewed products", topViews),
      panel("Best sellers (units)", topSales),
      panel("Top searches", topSearches),
      panel("Searches that found nothing", zeroSearches)));

  const report = async (path, target, draw) => {
    try {
      replace(target, await draw((await authed(path)).body));
    } catch (err) {
      if (!expired(err)) replace(target, h("p", { class: "error" }, err.message));
    }
  };
  const names = productNames();
  report(`/api/analytics/summary?window=${period}`, activity, (sm) => [
    h("dl", { class: "figures" }, [["Views", sm.totals.views], ["Added to cart", sm.totals.add_to_cart],
      ["Purchases", sm.totals.purchases], ["Searches", sm.totals.searches], ["Found nothing", sm.totals.zero_result_searches]]
      .map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, (v || 0).toLocaleString())))),
    columnChart(sm.series.map((p) => timeLabel(p.minute, period)),
      [{ name: "Views", className: "s1", values: sm.series.map((p) => p.views) },
        { name: "Searches", className: "s2", values: sm.series.map((p) => p.searches) }],
      { title: `Views and searches per ${sm.bucket === "1m" ? "minute" : sm.bucket === "5m" ? "five minutes" : "hour"}` }),
  ]);
  const productBars = async (r, unit) => {
    const products = r.items.map((it) => names(it.product_id));
    await Promise.all(products.map((p) => p.ready));
    return barChart(r.items.map((it, i) => ({
      label: products[i].name, value: it.value, href: products[i].slug ? `#/p/${encodeURIComponent(products[i].slug)}` : null,
    })), { title: unit, empty: "No data in this period yet." });
  };
  report(`/api/analytics/top-products?metric=views&window=${period}`, topViews, (r) => productBars(r, "Views"));
  report(`/api/analytics/top-products?metric=sales&window=${period}`, topSales, (r) => productBars(r, "Units sold"));
  report(`/api/analytics/searches?kind=top&window=${period}`, topSearches, (r) =>
    barChart(r.items.map((it) => ({ label: it.query, value: it.count })), { title: "Top searches", empty: "No searches in this period yet." }));
  report(`/api/analytics/searches?kind=zero-results&window=${period}`, zeroSearches, (r) =>
    barChart(r.items.map((it) => ({
      label: it.query, value: it.count, className: "warn",
      note: it.unknown_words?.length ? `the catalog has no “${it.unknown_words.join("”, “")}”; a synonym would help` : null,
    })), { title: "Searches that found nothing", empty: "Every search found something." }));

  const stop = liveTraffic(live, pipeline, expired);
  return { stop };
}

// productNames resolves product ids to names and slugs for the rankings,
// fetching each once.
function productNames() {
  const known = new Map();
  return (id) => {
    if (!known.has(id)) {
      const entry = { name: id.slice(0, 8), slug: "" };
      known.set(id, entry);
      entry.ready = get(`/api/products/${encodeURIComponent(id)}`).then((p) => { entry.name = p.name; entry.slug = p.slug; }).catch(() => {});
    }
    return known.get(id);
  };
}

function timeLabel(iso, period) {
  const d = new Date(iso);
  return period === "7d" ? d.toLocaleDateString(undefined, { weekday: "short", hour: "2-digit" })
    : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

// liveTraffic reads the instance's counters every two seconds and draws
// the request rate and latency between two readings, as Prometheus's
// rate() and histogram_quantile() would; and beside them, the search
// index's lag and the outbox's backlog.
function liveTraffic(live, pipeline, expired) {
  let previous = null, timer = null, stopped = false;
  const rate = [], p50 = [], p95 = [], lag = [], backlog = [];
  const push = (list, point) => { list.push(point); if (list.length > KEEP) list.shift(); };

  async function tick() {
    try {
      const [traffic, status] = await Promise.all([
        authed("/api/ops/traffic").then((r) => r.body),
        get("/api/search/status").catch(() => null),
      ]);
      const t = Date.parse(traffic.at) / 1000;
      if (previous && t > previous.t) {
        const seconds = t - previous.t;
        push(rate, { t, v: (traffic.requests - previous.requests) / seconds });
        const delta = traffic.latency.map((b, i) => ({ le: b.le, count: b.count - (previous.latency[i]?.count || 0) }));
        push(p50, { t, v: quantile(0.5, delta) * 1000 });
        push(p95, { t, v: quantile(0.95, delta) * 1000 });
      }
      previous = { t, requests: traffic.requests, latency: traffic.latency };
      if (status) push(lag, { t, v: status.lag });
      if (traffic.gauges.outbox_backlog !== undefined) push(backlog, { t, v: traffic.gauges.outbox_backlog });
      drawLive(t, status, traffic);
    } catch (err) {
      if (expired(err)) return;
      replace(live, h("p", { class: "error" }, `Live traffic unavailable: ${err.message}`));
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  }

  function drawLive(t, status, traffic) {
    if (rate.length === 0) return;
    replace(live, h("div", { class: "two-columns" },
      lineChart([{ name: "Requests per second", className: "s1", points: rate }], { title: "Requests per second", unit: "req/s" }),
      lineChart([{ name: "p50", className: "s1", points: p50 }, { name: "p95", className: "s3", points: p95 }],
        { title: "Latency", unit: "ms" })),
    h("p", { class: "hint" }, `Measured every ${POLL_MS / 1000} s on the instance that answers; ${traffic.errors.toLocaleString()} server errors since it started.`));
    const charts = [];
    if (status) {
      charts.push(h("dl", { class: "figures" },
        h("div", {}, h("dt", {}, "Products in the search index"), h("dd", {}, status.documents.toLocaleString())),
        h("div", {}, h("dt", {}, "Index lag (events)"), h("dd", { class: status.lag > 0 ? "warn" : "ok" }, status.lag.toLocaleString())),
        traffic.gauges.outbox_backlog !== undefined ?
          h("div", {}, h("dt", {}, "Outbox backlog (events)"), h("dd", { class: traffic.gauges.outbox_backlog > 0 ? "warn" : "ok" },
            traffic.gauges.outbox_backlog.toLocaleString())) : null));
    }
    if (lag.length > 1) {
      charts.push(lineChart([{ name: "Index lag", className: "s2", points: lag },
        ...(backlog.length ? [{ name: "Outbox backlog", className: "s3", points: backlog }] : [])],
      { title: "Events waiting", unit: "events", format: (v) => Math.round(v).toLocaleString(), width: 420 }));
    }
    replace(pipeline, charts.length ? charts : h("p", { class: "status" }, "Measuring…"));
  }

  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

// quantile estimates the q-quantile of a cumulative histogram's
// observations (buckets [{le, count}], le null for +Inf), interpolating
// within the bucket as Prometheus does. No observations: 0.
function quantile(q, buckets) {
  const total = buckets.at(-1)?.count || 0;
  if (total <= 0) return 0;
  const rank = q * total;
  let lower = 0, below = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === null) return lower; // past the last bound: say the bound
      return lower + (b.le - lower) * ((rank - below) / Math.max(b.count - below, 1));
    }
    lower = b.le ?? lower;
    below = b.count;
  }
  return lower;
}
