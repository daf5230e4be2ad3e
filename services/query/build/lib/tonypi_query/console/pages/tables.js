// Small shared renderers: a table of objects, a "not available" notice, an error line.
import { el, fmtTime } from "../safe.js";

const TIME_KEYS = /(_at|_time|timestamp|last_seen|^day$|^t$)/;

function cellText(key, value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  if (typeof value === "string" && TIME_KEYS.test(key)) return fmtTime(value);
  if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(2);
  return String(value);
}

/** A table of `items` with the given columns ([key, label] or key), cells as text. */
export function table(items, columns, { testid, rowAttrs, extra } = {}) {
  const cols = columns.map((c) => (Array.isArray(c) ? c : [c, c]));
  const body = el("tbody");
  for (const item of items) {
    const tr = el("tr", rowAttrs ? rowAttrs(item) : {}, cols.map(([key]) => el("td", { class: key }, cellText(key, item[key]))));
    if (extra) tr.append(el("td", { class: "actions" }, extra(item)));
    body.append(tr);
  }
  const head = el("tr", {}, cols.map(([, label]) => el("th", {}, label)), extra ? el("th") : null);
  return el("table", { class: "grid", "data-testid": testid }, el("thead", {}, head), body);
}

export function notAvailable(what) {
  return el("p", { class: "muted not-available", "data-testid": "not-available" }, `${what}: not available on this server`);
}

export function errorLine(error) {
  return el("p", { class: "error" }, error.detail || error.message || String(error));
}

/** The keys of the first item, for a table of objects whose shape the server decides. */
export function keysOf(items) {
  return items.length ? Object.keys(items[0]) : [];
}
