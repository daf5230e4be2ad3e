// One robot: facts, camera, stop/resume, charts over time, jobs, logs, alarms, commands,
// and its settings (admin only).
import { api, optional } from "../api.js";
import { lineChart } from "../chart.js";
import { stopRobot, resumeRobot } from "../estop.js";
import { append, el, clear, safeUrl, fmtTime } from "../safe.js";
import { table, notAvailable, errorLine } from "./tables.js";

const RANGES = [
  ["1h", 3600],
  ["6h", 6 * 3600],
  ["24h", 24 * 3600],
  ["7d", 7 * 24 * 3600],
];
const DEFAULT_METRICS = ["battery", "cpu_temperature"];

function section(title, testid) {
  const body = el("div", { class: "section-body" }, "loading…");
  return [el("section", { "data-testid": testid }, el("h2", {}, title), body), body];
}

async function fill(body, load) {
  try {
    const content = await load();
    clear(body).append(content);
  } catch (error) {
    clear(body).append(errorLine(error));
  }
}

function cameraNode(url) {
  const href = safeUrl(url);
  if (!url) return el("span", { class: "muted", "data-testid": "camera" }, "no camera reported");
  if (!href) return el("span", { class: "unsafe", "data-testid": "camera" }, url, " (not a web address: not linked)");
  return el("a", { href, target: "_blank", rel: "noopener noreferrer", "data-testid": "camera" }, url);
}

export function robotPage(ctx, main, robotId) {
  const id = encodeURIComponent(robotId);
  const facts = el("dl", { class: "facts", "data-testid": "robot-facts" });
  const camera = el("div", { class: "camera" }, "Camera: ", cameraNode(null));
  const outcome = el("div", { class: "outcome-box", "data-testid": "robot-outcome" });
  const actions = el("div", { class: "actions" });
  if (ctx.can("operator")) {
    actions.append(
      el("button", { class: "danger", "data-testid": "robot-stop", onclick: () => stopRobot(robotId, outcome).then(loadCommands) }, "Emergency stop"),
      el("button", { "data-testid": "robot-resume", onclick: () => resumeRobot(robotId, outcome).then(loadCommands) }, "Resume"),
    );
  }
  const [chartsSection, charts] = section("Charts", "charts");
  const rangeSelect = el(
    "select",
    { "data-testid": "range", onchange: () => loadCharts() },
    RANGES.map(([label, seconds]) => el("option", { value: seconds }, `last ${label}`)),
  );
  chartsSection.insertBefore(el("div", { class: "filters" }, rangeSelect), charts);
  const [jobsSection, jobs] = section("Jobs", "robot-jobs");
  const [logsSection, logs] = section("Log lines", "robot-logs");
  const [alarmsSection, alarms] = section("Alarms", "robot-alarms");
  const [commandsSection, commands] = section("Commands and outcomes", "robot-commands");
  const settings = el("section", { "data-testid": "settings" });

  const title = el("h1", {}, "Robot ", el("span", { class: "robot-id" }, robotId));
  main.append(title, facts, camera, actions, outcome, chartsSection, jobsSection, logsSection, alarmsSection, commandsSection, settings);

  function showFacts(robot) {
    clear(facts);
    const rows = [
      ["Name", robot.name],
      ["Location", robot.location],
      ["Description", robot.description],
      ["Status", robot.status],
      ["Online", robot.online ? "online" : "offline"],
      ["Firmware", robot.firmware],
      ["Last seen", fmtTime(robot.last_seen)],
    ];
    for (const [k, v] of rows) facts.append(el("dt", {}, k), el("dd", { "data-field": k.toLowerCase() }, v));
  }

  function showSettings(robot) {
    const fields = [
      ["name", "Name", "text"],
      ["location", "Location", "text"],
      ["description", "Description", "text"],
      ["battery_threshold_low", "Battery low %", "number"],
      ["battery_threshold_critical", "Battery critical %", "number"],
      ["temp_threshold_warning", "Temperature warning °C", "number"],
      ["temp_threshold_critical", "Temperature critical °C", "number"],
    ];
    const status = el("span", { class: "muted" });
    const form = el("form", { class: "settings", "data-testid": "settings-form" });
    for (const [key, label, type] of fields) {
      const inputNode = el("input", { name: key, type, step: type === "number" ? "any" : undefined });
      inputNode.value = robot[key] ?? "";
      form.append(el("label", {}, label, inputNode));
    }
    form.append(el("button", { type: "submit" }, "Save"), status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      for (const [key, , type] of fields) {
        const value = form.elements[key].value;
        if (type === "number") {
          if (value !== "") body[key] = Number(value);
        } else body[key] = value;
      }
      try {
        const { data } = await api(`robots/${id}`, { method: "PUT", body });
        status.textContent = "saved";
        if (data && data.robot_id) showFacts(data);
      } catch (error) {
        clear(status).append(errorLine(error));
      }
    });
    clear(settings).append(el("h2", {}, "Settings"), form);
  }

  async function loadCharts() {
    const seconds = Number(rangeSelect.value);
    const to = new Date();
    const from = new Date(to.getTime() - seconds * 1000);
    clear(charts).append("loading…");
    try {
      const metrics = await optional("metrics");
      const names = metrics ? (metrics.data.metrics || metrics.data).map((m) => (typeof m === "string" ? m : m.metric || m.name)).filter(Boolean) : [];
      const history = await optional(`robots/${id}/history`, {
        query: { metric: names.length ? names.slice(0, 6) : DEFAULT_METRICS, from: from.toISOString(), to: to.toISOString(), step: "auto" },
      });
      if (!history) {
        clear(charts).append(notAvailable("History"));
        return;
      }
      const series = history.data.series || [];
      append(clear(charts), [
        el("p", { class: "muted" }, `${fmtTime(history.data.from)} – ${fmtTime(history.data.to)}, step ${history.data.step_s} s, from ${history.data.source}`),
        series.map((s) => el("figure", { class: "chart-box" }, el("figcaption", {}, `${s.metric} (${s.unit || ""})`), lineChart(s))),
      ]);
    } catch (error) {
      clear(charts).append(errorLine(error));
    }
  }

  function loadCommands() {
    return fill(commands, async () => {
      const { data } = await api(`robots/${id}/commands`, { query: { limit: 20 } });
      const rows = data.map((c) => ({
        ...c,
        outcome: Object.entries(c.outcomes || {}).map(([r, o]) => `${r}: ${o.outcome}${o.message ? ` (${o.message})` : ""}`).join("; "),
      }));
      return table(rows, [["requested_at", "Requested"], "type", "state", "outcome", ["finished_at", "Finished"]], { testid: "commands-table" });
    });
  }

  async function loadAll() {
    try {
      const { data } = await api(`robots/${id}`);
      showFacts(data);
      if (ctx.can("admin")) showSettings(data);
    } catch (error) {
      clear(facts).append(errorLine(error));
      return;
    }
    loadCharts();
    fill(jobs, async () => table((await api("jobs/history", { query: { robot_id: robotId, limit: 20 } })).data, ["id", "task_name", "status", "percent_complete", ["start_time", "Started"], ["end_time", "Ended"]]));
    fill(logs, async () => table((await api("logs", { query: { robot_id: robotId, limit: 50 } })).data, [["timestamp", "Time"], "level", "category", "message"], { testid: "robot-log-table" }));
    fill(alarms, async () => table((await api("alarms", { query: { robot_id: robotId, limit: 20 } })).data, [["raised_at", "Raised"], "kind", "severity", "state", "message", "acknowledged_by"]));
    loadCommands();
  }

  function onRecords(batch) {
    let commandsChanged = false;
    for (const { event, data } of batch) {
      if (data.robot_id !== robotId && data.robot_id !== "_fleet") continue;
      const payload = (data.data || {}).payload || {};
      if (event === "status" && "camera_url" in payload) append(clear(camera), ["Camera: ", cameraNode(payload.camera_url)]);
      if (data.kinds && data.kinds.includes("command")) commandsChanged = true;
    }
    if (commandsChanged) loadCommands();
  }

  loadAll();
  return ctx.feed.subscribe(onRecords);
}
