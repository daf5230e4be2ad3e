// Logs: filters, search, and a live tail from the feed.
import { api } from "../api.js";
import { el, clear, fmtTime } from "../safe.js";
import { errorLine } from "./tables.js";

const MAX_ROWS = 500;

export function logsPage(ctx, main) {
  const filters = { level: "", category: "", robot_id: "", q: "" };
  const tbody = el("tbody", { "data-testid": "log-rows" });
  const status = el("div", { class: "muted" });
  const tail = el("input", { type: "checkbox", "data-testid": "tail" });
  tail.checked = true;
  const input = (name, placeholder) =>
    el("input", { name, placeholder, "data-testid": `filter-${name}`, onchange: (e) => { filters[name] = e.target.value.trim(); load(); } });
  main.append(
    el("h1", {}, "Logs"),
    el("form", { class: "filters", onsubmit: (e) => e.preventDefault() }, input("level", "level"), input("category", "category"), input("robot_id", "robot"), input("q", "search"), el("label", {}, tail, " live tail")),
    status,
    el("table", { class: "grid logs", "data-testid": "logs-table" }, el("thead", {}, el("tr", {}, ["Time", "Level", "Category", "Robot", "Message"].map((h) => el("th", {}, h)))), tbody),
  );

  function row(line) {
    return el(
      "tr",
      { class: `level-${String(line.level || "").toLowerCase().replace(/[^a-z]/g, "")}` },
      el("td", {}, fmtTime(line.timestamp)),
      el("td", {}, line.level),
      el("td", {}, line.category),
      el("td", {}, line.robot_id),
      el("td", { class: "message" }, line.message),
    );
  }

  function matches(line) {
    if (filters.level && String(line.level || "").toUpperCase() !== filters.level.toUpperCase()) return false;
    if (filters.category && line.category !== filters.category) return false;
    if (filters.robot_id && line.robot_id !== filters.robot_id) return false;
    return !filters.q || String(line.message || "").toLowerCase().includes(filters.q.toLowerCase());
  }

  async function load() {
    try {
      const { data } = await api("logs", { query: { ...filters, limit: 200 } });
      tbody.replaceChildren(...data.map(row));
      clear(status).append(`${data.length} lines, newest first`);
    } catch (error) {
      clear(status).append(errorLine(error));
    }
  }

  function onRecords(batch) {
    if (!tail.checked) return;
    const fresh = [];
    for (const { data } of batch) {
      for (const line of ((data.data || {}).rows || {}).logs || []) if (matches(line)) fresh.push(row(line));
    }
    if (!fresh.length) return;
    tbody.prepend(...fresh.reverse());
    while (tbody.children.length > MAX_ROWS) tbody.lastElementChild.remove();
  }

  load();
  return ctx.feed.subscribe(onRecords);
}
