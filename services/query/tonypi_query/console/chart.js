// A small SVG line chart (mean line over a min-max band), drawn with createElementNS: a few
// dozen lines instead of a vendored library, and nothing in it can carry markup.
import { clean } from "./safe.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 180;
const PAD = { left: 48, right: 8, top: 10, bottom: 22 };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = clean(text);
  return node;
}

function finite(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/** One series {metric, unit, points: [{t, min, max, mean}]} as an <svg>. */
export function lineChart(series) {
  const points = (series.points || []).filter((p) => finite(p.mean) && !Number.isNaN(Date.parse(p.t)));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "data-metric": clean(series.metric) });
  root.append(svg("title", {}, `${series.metric} (${series.unit || ""})`));
  if (!points.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "no data in this range"));
    return root;
  }
  const times = points.map((p) => Date.parse(p.t));
  const lows = points.map((p) => (finite(p.min) ? p.min : p.mean));
  const highs = points.map((p) => (finite(p.max) ? p.max : p.mean));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  let lo = Math.min(...lows);
  let hi = Math.max(...highs);
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0 || 1)) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const band = [
    ...points.map((_, i) => `${x(times[i]).toFixed(1)},${y(highs[i]).toFixed(1)}`),
    ...points.map((_, i) => `${x(times[i]).toFixed(1)},${y(lows[i]).toFixed(1)}`).reverse(),
  ].join(" ");
  root.append(svg("polygon", { points: band, class: "band" }));
  const line = points.map((p, i) => `${x(times[i]).toFixed(1)},${y(p.mean).toFixed(1)}`).join(" ");
  root.append(svg("polyline", { points: line, class: "line" }));
  root.append(svg("line", { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, class: "axis" }));
  root.append(svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: "axis" }));
  root.append(svg("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, hi.toPrecision(3)));
  root.append(svg("text", { x: PAD.left - 4, y: H - PAD.bottom, "text-anchor": "end" }, lo.toPrecision(3)));
  const label = (t) => new Date(t).toISOString().slice(5, 16).replace("T", " ");
  root.append(svg("text", { x: PAD.left, y: H - 6 }, label(t0)));
  root.append(svg("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end" }, label(t1)));
  return root;
}
