// Fleet: one page of robots (Link paging), filters, live from the feed, batched per frame.
import { api } from "../api.js";
import { stopRobot, resumeRobot } from "../estop.js";
import { el, setText, fmtTime, fmtNumber } from "../safe.js";

const LIMIT = 100;

function progressText(job) {
  if (!job) return "";
  const pct = typeof job.percent_complete === "number" ? ` ${job.percent_complete.toFixed(0)}%` : "";
  return `${job.task_name || "job"} ${job.status || ""}${pct}`;
}

export function fleetPage(ctx, main) {
  const filters = { online: "", status: "", location: "", prefix: "" };
  const rows = new Map(); // robot_id -> {tr, cells, robot}
  const pages = [null]; // the `after` cursor of each page seen (Link), for going back
  let pageIndex = 0;
  let nextUrl = null;
  let full = false;
  const outcome = el("div", { class: "outcome-box", "data-testid": "fleet-outcome" });

  const tbody = el("tbody", { "data-testid": "fleet-rows" });
  const pageLabel = el("span", { "data-testid": "page-label" });
  const prev = el("button", { onclick: () => goto(pageIndex - 1), "data-testid": "prev-page" }, "‹ Previous");
  const next = el("button", { onclick: () => goto(pageIndex + 1), "data-testid": "next-page" }, "Next ›");
  const count = el("span", { class: "muted" });

  const input = (name, placeholder) =>
    el("input", { name, placeholder, "data-testid": `filter-${name}`, onchange: (e) => setFilter(name, e.target.value) });
  const form = el(
    "form",
    { class: "filters", onsubmit: (e) => e.preventDefault() },
    el(
      "select",
      { name: "online", "data-testid": "filter-online", onchange: (e) => setFilter("online", e.target.value) },
      el("option", { value: "" }, "online or not"),
      el("option", { value: "true" }, "online"),
      el("option", { value: "false" }, "offline"),
    ),
    input("status", "status"),
    input("location", "location"),
    input("prefix", "robot id starts with"),
  );

  main.append(
    el("h1", {}, "Fleet"),
    form,
    el("div", { class: "pager" }, prev, pageLabel, next, count),
    outcome,
    el(
      "table",
      { class: "grid", "data-testid": "fleet-table" },
      el("thead", {}, el("tr", {}, ["Robot", "Name", "Online", "Status", "Battery %", "Temp °C", "Job", "Alarms", "Last seen", ""].map((h) => el("th", {}, h)))),
      tbody,
    ),
  );

  function setFilter(name, value) {
    filters[name] = value.trim();
    pages.length = 1;
    goto(0);
  }

  function makeRow(robot) {
    const cells = {};
    const cell = (key) => (cells[key] = el("td", { class: key }));
    const tr = el("tr", { "data-robot": robot.robot_id });
    const link = el("a", { href: `#/robot/${encodeURIComponent(robot.robot_id)}`, class: "robot-link" }, robot.robot_id);
    tr.append(el("td", {}, link), cell("name"), cell("online"), cell("status"), cell("battery"), cell("temperature"), cell("job"), cell("alarms"), cell("last_seen"));
    const actions = el("td", { class: "actions" });
    if (ctx.can("operator")) {
      actions.append(
        el("button", { class: "danger small", "data-testid": "stop", onclick: () => stopRobot(robot.robot_id, outcome) }, "Stop"),
        el("button", { class: "small", "data-testid": "resume", onclick: () => resumeRobot(robot.robot_id, outcome) }, "Resume"),
      );
    }
    tr.append(actions);
    const entry = { tr, cells, robot: { ...robot }, battery: null, temperature: null, job: null };
    paint(entry);
    return entry;
  }

  function paint(entry) {
    const { robot, cells } = entry;
    setText(cells.name, robot.name);
    setText(cells.online, robot.online ? "online" : "offline");
    entry.tr.classList.toggle("offline", !robot.online);
    setText(cells.status, robot.status);
    setText(cells.battery, fmtNumber(entry.battery, 0));
    setText(cells.temperature, fmtNumber(entry.temperature, 1));
    setText(cells.job, progressText(entry.job));
    const alarms = robot.active_alarms || [];
    setText(cells.alarms, alarms.length ? alarms.map((a) => `${a.kind} (${a.severity})`).join(", ") : "");
    cells.alarms.classList.toggle("alarm", alarms.length > 0);
    setText(cells.last_seen, fmtTime(robot.last_seen));
  }

  async function telemetry(entries) {
    // Battery and temperature from each robot's snapshot, its latest job; a few at a time.
    const queue = [...entries];
    const worker = async () => {
      while (queue.length) {
        const entry = queue.shift();
        try {
          const { data } = await api(`robots/${encodeURIComponent(entry.robot.robot_id)}/telemetry`);
          if (entry.battery === null && data.battery) entry.battery = data.battery.percentage;
          if (entry.temperature === null && data.system_info) entry.temperature = data.system_info.temperature;
          const jobs = await api("jobs/history", { query: { robot_id: entry.robot.robot_id, limit: 1 } });
          if (entry.job === null && jobs.data.length) entry.job = jobs.data[0];
          paint(entry);
        } catch {
          /* a robot deleted meanwhile: its row stays as it is */
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  async function goto(index) {
    if (index < 0 || index >= pages.length) return;
    pageIndex = index;
    const query = { limit: LIMIT, ...filters, after: pages[index] || undefined };
    if (!pages[index]) delete query.after;
    try {
      const response = await api("robots", { query });
      nextUrl = response.next;
      full = response.data.length >= LIMIT;
      if (nextUrl) {
        const after = new URL(nextUrl, location.origin).searchParams.get("after");
        pages[index + 1] = after;
      }
      rows.clear();
      tbody.replaceChildren(
        ...response.data.map((robot) => {
          const entry = makeRow(robot);
          rows.set(robot.robot_id, entry);
          return entry.tr;
        }),
      );
      setText(pageLabel, `page ${index + 1}`);
      setText(count, `${response.data.length} robots on this page`);
      prev.disabled = index === 0;
      next.disabled = !nextUrl;
      telemetry([...rows.values()]);
    } catch (error) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 10, class: "error" }, error.detail || error.message)));
    }
  }

  function matches(robot) {
    if (filters.prefix && !robot.robot_id.startsWith(filters.prefix)) return false;
    if (filters.status && robot.status !== filters.status) return false;
    if (filters.online && String(Boolean(robot.online)) !== filters.online) return false;
    return !filters.location;
  }

  const refetch = new Set();
  function onRecords(batch) {
    const touched = new Set();
    for (const { event, data: record } of batch) {
      const id = record.robot_id;
      if (!id || id.startsWith("_")) continue;
      const inner = record.data || {};
      let entry = rows.get(id);
      if (!entry && inner.robot && pageIndex === 0 && !full) {
        const robot = { ...inner.robot, online: inner.robot.status !== "offline", active_alarms: [] };
        if (robot.is_active === false || !matches(robot)) continue;
        entry = makeRow(robot);
        rows.set(id, entry);
        const after = [...tbody.children].find((tr) => tr.dataset.robot > id);
        tbody.insertBefore(entry.tr, after || null);
        full = rows.size >= LIMIT;
      }
      if (!entry) continue;
      const payload = inner.payload || {};
      if (inner.robot) {
        Object.assign(entry.robot, inner.robot);
        if (event === "clock_tick" || event.startsWith("robot_")) refetch.add(id);
        else entry.robot.online = inner.robot.status !== "offline";
      }
      if (event === "battery" && typeof payload.percentage === "number") entry.battery = payload.percentage;
      if (event === "status" && payload.system_info && typeof payload.system_info.temperature === "number") {
        entry.temperature = payload.system_info.temperature;
      }
      const rowsByTable = inner.rows || {};
      if (rowsByTable.jobs && rowsByTable.jobs.length) entry.job = rowsByTable.jobs[rowsByTable.jobs.length - 1];
      if (rowsByTable.alarms) refetch.add(id);
      touched.add(entry);
    }
    for (const entry of touched) paint(entry);
    if (refetch.size) {
      const ids = [...refetch];
      refetch.clear();
      for (const id of ids) {
        api(`robots/${encodeURIComponent(id)}`)
          .then(({ data }) => {
            const entry = rows.get(id);
            if (entry) {
              Object.assign(entry.robot, data);
              paint(entry);
            }
          })
          .catch(() => {});
      }
    }
  }

  goto(0);
  return ctx.feed.subscribe(onRecords);
}
