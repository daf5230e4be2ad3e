// Jobs: history with date and status filters; dispatch a start_job now, or schedule one
// (docs/schedules.md) and manage the schedules.
import { api } from "../api.js";
import { follow } from "../estop.js";
import { el, clear } from "../safe.js";
import { table, errorLine } from "./tables.js";

const STATUSES = ["", "active", "completed", "cancelled", "failed", "superseded"];

function day(value, endOfDay) {
  if (!value) return undefined;
  const d = new Date(`${value}T00:00:00Z`);
  if (endOfDay) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString();
}

export function jobsPage(ctx, main) {
  const history = el("div", { "data-testid": "jobs-history" });
  const form = el(
    "form",
    { class: "filters", onsubmit: (e) => { e.preventDefault(); load(); } },
    el("label", {}, "from ", el("input", { type: "date", name: "since" })),
    el("label", {}, "to ", el("input", { type: "date", name: "until" })),
    el("select", { name: "status" }, STATUSES.map((s) => el("option", { value: s }, s || "any status"))),
    el("input", { name: "robot_id", placeholder: "robot" }),
    el("button", { type: "submit" }, "Show"),
  );
  main.append(el("h1", {}, "Jobs"), form, history);

  async function load() {
    const f = form.elements;
    try {
      const { data } = await api("jobs/history", {
        query: { since: day(f.since.value), until: day(f.until.value, true), status: f.status.value, robot_id: f.robot_id.value.trim(), limit: 200 },
      });
      clear(history).append(table(data, ["id", "robot_id", "task_name", "status", "phase", "percent_complete", ["start_time", "Started"], ["end_time", "Ended"], "command_id"], { testid: "jobs-table" }));
    } catch (error) {
      clear(history).append(errorLine(error));
    }
  }

  if (ctx.can("operator")) main.append(dispatchForm(), scheduleForm());
  const schedules = el("div", { "data-testid": "schedules" });
  main.append(el("h2", {}, "Schedules"), schedules);

  function dispatchForm() {
    const out = el("div", { class: "outcome-box" });
    const f = el(
      "form",
      { class: "filters", "data-testid": "dispatch-form" },
      el("input", { name: "robot_id", placeholder: "robot", required: true }),
      el("input", { name: "task_name", placeholder: "task name", required: true, maxlength: 64 }),
      el("input", { name: "items_total", type: "number", min: 1, max: 10000, value: 10 }),
      el("button", { type: "submit" }, "Start job now"),
    );
    f.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const body = { type: "start_job", params: { task_name: f.elements.task_name.value, items_total: Number(f.elements.items_total.value) } };
        const { data } = await api(`robots/${encodeURIComponent(f.elements.robot_id.value.trim())}/commands`, { method: "POST", body });
        if (data && data.command_id) await follow(out, data);
      } catch (error) {
        clear(out).append(errorLine(error));
      }
    });
    return el("section", {}, el("h2", {}, "Dispatch"), f, out);
  }

  function scheduleForm() {
    const out = el("div", { class: "muted" });
    const f = el(
      "form",
      { class: "filters", "data-testid": "schedule-form" },
      el("input", { name: "robot_ids", placeholder: "robots, comma-separated", required: true }),
      el("input", { name: "task_name", placeholder: "task name", required: true, maxlength: 64 }),
      el("input", { name: "items_total", type: "number", min: 1, max: 10000, value: 10 }),
      el("input", { name: "at", type: "datetime-local", title: "once, at (UTC)" }),
      el("input", { name: "cron", placeholder: "or cron (UTC), e.g. 0 6 * * 1-5" }),
      el("button", { type: "submit" }, "Schedule"),
    );
    f.addEventListener("submit", async (event) => {
      event.preventDefault();
      const e = f.elements;
      const body = {
        robot_ids: e.robot_ids.value.split(",").map((s) => s.trim()).filter(Boolean),
        task_name: e.task_name.value,
        items_total: Number(e.items_total.value),
      };
      if (e.cron.value.trim()) body.cron = e.cron.value.trim();
      else if (e.at.value) body.at = `${e.at.value}:00+00:00`;
      try {
        await api("schedules", { method: "POST", body });
        clear(out).append("scheduled");
        loadSchedules();
      } catch (error) {
        clear(out).append(errorLine(error));
      }
    });
    return el("section", {}, el("h2", {}, "Schedule a job"), f, out);
  }

  async function change(id, verb) {
    try {
      await api(`schedules/${encodeURIComponent(id)}/${verb}`, { method: "POST", body: {} });
    } catch (error) {
      schedules.prepend(errorLine(error));
    }
    loadSchedules();
  }

  async function loadSchedules() {
    try {
      const { data } = await api("schedules", { query: { limit: 50 } });
      const verbs = { active: ["pause", "cancel"], paused: ["resume", "cancel"] };
      const extra = ctx.can("operator")
        ? (s) => (verbs[s.state] || []).map((verb) => el("button", { class: "small", onclick: () => change(s.schedule_id, verb) }, verb))
        : undefined;
      clear(schedules).append(table(data, ["task_name", "robot_ids", "state", "cron", "at", ["next_fire_at", "Next"], "fired"], { extra }));
    } catch (error) {
      clear(schedules).append(errorLine(error));
    }
  }

  load();
  loadSchedules();
  return () => {};
}
