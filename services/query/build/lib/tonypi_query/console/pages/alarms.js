// Alarms: open and recent, filter by kind, severity and state, acknowledge (operator), live.
import { api } from "../api.js";
import { el, clear, setText, fmtTime } from "../safe.js";
import { errorLine } from "./tables.js";

const KINDS = ["battery", "temperature", "servo", "emergency_stop", "offline", "job_failed"];

export function alarmsPage(ctx, main) {
  const filters = { kind: "", severity: "", state: "open" };
  const rows = new Map(); // alarm id -> {tr, cells}
  const tbody = el("tbody", { "data-testid": "alarm-rows" });
  const status = el("div", { class: "muted" });
  const select = (name, options) =>
    el(
      "select",
      { name, "data-testid": `filter-${name}`, onchange: (e) => { filters[name] = e.target.value; load(); } },
      options.map(([value, label]) => {
        const option = el("option", { value }, label);
        option.selected = filters[name] === value;
        return option;
      }),
    );
  main.append(
    el("h1", {}, "Alarms"),
    el(
      "form",
      { class: "filters", onsubmit: (e) => e.preventDefault() },
      select("state", [["open", "open"], ["cleared", "cleared"], ["", "open and cleared"]]),
      select("kind", [["", "any kind"], ...KINDS.map((k) => [k, k])]),
      select("severity", [["", "any severity"], ["warning", "warning"], ["critical", "critical"]]),
    ),
    status,
    el(
      "table",
      { class: "grid", "data-testid": "alarms-table" },
      el("thead", {}, el("tr", {}, ["Raised", "Robot", "Kind", "Severity", "State", "Message", "Acknowledged", ""].map((h) => el("th", {}, h)))),
      tbody,
    ),
  );

  function matches(alarm) {
    return (!filters.kind || alarm.kind === filters.kind) && (!filters.severity || alarm.severity === filters.severity) && (!filters.state || alarm.state === filters.state);
  }

  function upsert(alarm, live) {
    let entry = rows.get(alarm.id);
    if (!entry) {
      if (!matches(alarm)) return;
      const cells = {};
      const cell = (key) => (cells[key] = el("td", { class: key }));
      const tr = el("tr", { "data-alarm": alarm.id }, cell("raised_at"), cell("robot_id"), cell("kind"), cell("severity"), cell("state"), cell("message"), cell("ack"), cell("actions"));
      entry = { tr, cells, alarm };
      rows.set(alarm.id, entry);
      if (live) tbody.prepend(tr);
      else tbody.append(tr);
    }
    entry.alarm = { ...entry.alarm, ...alarm };
    const a = entry.alarm;
    const { cells } = entry;
    setText(cells.raised_at, fmtTime(a.raised_at));
    setText(cells.robot_id, a.robot_id);
    setText(cells.kind, a.kind);
    setText(cells.severity, a.severity);
    entry.tr.className = `severity-${a.severity === "critical" ? "critical" : "warning"}`;
    setText(cells.state, a.state);
    setText(cells.message, a.message);
    const who = a.acknowledged_by ? a.acknowledged_by.name : "";
    setText(cells.ack, a.acknowledged_at ? `${who} ${fmtTime(a.acknowledged_at)}` : "");
    clear(cells.actions);
    if (ctx.can("operator") && !a.acknowledged_at && a.state === "open") {
      cells.actions.append(el("button", { class: "small", "data-testid": "ack", onclick: () => ack(a.id) }, "Acknowledge"));
    }
  }

  async function ack(id) {
    try {
      const { data } = await api(`alarms/${id}/ack`, { method: "POST", body: {} });
      if (data && data.id !== undefined) upsert(data, false);
    } catch (error) {
      clear(status).append(errorLine(error));
    }
  }

  async function load() {
    rows.clear();
    tbody.replaceChildren();
    try {
      const { data } = await api("alarms", { query: { ...filters, limit: 200 } });
      data.forEach((alarm) => upsert(alarm, false));
      setText(status, `${data.length} alarms`);
    } catch (error) {
      clear(status).append(errorLine(error));
    }
  }

  function onRecords(batch) {
    for (const { data } of batch) {
      const alarms = ((data.data || {}).rows || {}).alarms || [];
      alarms.forEach((alarm) => upsert(alarm, true));
    }
  }

  load();
  return ctx.feed.subscribe(onRecords);
}
