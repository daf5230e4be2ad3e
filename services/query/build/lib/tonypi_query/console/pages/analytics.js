// Analytics: utilization, job outcomes per day, performance and top errors, from the
// analytics API (each shown as "not available" where this server has no such route).
import { optional } from "../api.js";
import { el, clear } from "../safe.js";
import { table, notAvailable, errorLine, keysOf } from "./tables.js";

const REPORTS = [
  ["utilization", "Utilization"],
  ["jobs", "Job outcomes per day"],
  ["performance", "Performance"],
  ["errors", "Top error patterns"],
];

export function analyticsPage(ctx, main) {
  main.append(el("h1", {}, "Analytics"));
  for (const [path, title] of REPORTS) {
    const body = el("div", {}, "loading…");
    main.append(el("section", { "data-testid": `analytics-${path}` }, el("h2", {}, title), body));
    optional(`analytics/${path}`)
      .then((answer) => {
        if (!answer) return clear(body).append(notAvailable(title));
        const items = Array.isArray(answer.data) ? answer.data : answer.data.items || [];
        if (!items.length) return clear(body).append(el("p", { class: "muted" }, "nothing yet"));
        return clear(body).append(table(items, keysOf(items)));
      })
      .catch((error) => clear(body).append(errorLine(error)));
  }
  return () => {};
}
