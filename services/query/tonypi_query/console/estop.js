// Emergency stop and resume, fleet-wide and per robot, with the outcome as the API reports it.
import { api } from "./api.js";
import { el, clear, append } from "./safe.js";

const FINAL = new Set(["succeeded", "failed", "partial", "timed_out", "expired"]);

/** A confirmation in the page (no window.confirm): resolves true on confirm. */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const close = (answer) => {
      backdrop.remove();
      resolve(answer);
    };
    const backdrop = el(
      "div",
      { class: "modal-backdrop", role: "dialog", "aria-modal": "true", "data-testid": "confirm" },
      el(
        "div",
        { class: "modal" },
        el("p", {}, message),
        el(
          "div",
          { class: "actions" },
          el("button", { class: "danger", "data-testid": "confirm-yes", onclick: () => close(true) }, confirmLabel),
          el("button", { "data-testid": "confirm-no", onclick: () => close(false) }, "Cancel"),
        ),
      ),
    );
    document.body.append(backdrop);
    backdrop.querySelector("[data-testid=confirm-yes]").focus();
  });
}

/** Render a command (state and per-robot outcomes) into `box`. */
export function showCommand(box, command) {
  clear(box);
  const rows = Object.entries(command.outcomes || {}).map(([robot, o]) =>
    el(
      "li",
      { "data-robot": robot },
      el("span", { class: "robot" }, robot),
      ": ",
      el("span", { class: `outcome ${o.outcome}` }, o.outcome),
      o.message ? ` (${o.message})` : "",
      o.via ? ` via ${o.via}` : "",
    ),
  );
  append(box, [
    el("div", {}, `${command.type} `, el("span", { class: `state ${command.state}`, "data-testid": "command-state" }, command.state)),
    rows.length ? el("ul", { class: "outcomes" }, rows) : null,
  ]);
}

/** Follow a command until it has an outcome (long-polls GET /commands/{id}?wait=5). */
export async function follow(box, command) {
  showCommand(box, command);
  let current = command;
  for (let i = 0; i < 24 && !FINAL.has(current.state); i += 1) {
    current = (await api(`commands/${encodeURIComponent(current.command_id)}`, { query: { wait: 5 } })).data;
    showCommand(box, current);
  }
  return current;
}

async function send(box, path, body) {
  clear(box).append("sending…");
  try {
    const { data } = await api(path, { method: "POST", body });
    if (data && data.command_id) return await follow(box, data);
    append(clear(box), [data && data.message ? data.message : "recorded"]);
  } catch (error) {
    clear(box).append(el("span", { class: "error" }, error.detail || error.message));
  }
  return null;
}

export async function stopRobot(robotId, box) {
  const question = `Emergency stop robot ${robotId}?`;
  if (!(await confirmDialog(question, "Stop"))) return null;
  return send(box, `robots/${encodeURIComponent(robotId)}/emergency-stop`, { reason: "console" });
}

export function resumeRobot(robotId, box) {
  return send(box, `robots/${encodeURIComponent(robotId)}/resume`, {});
}

export async function stopFleet(box) {
  if (!(await confirmDialog("Emergency stop EVERY robot of the fleet?", "Stop the fleet"))) return null;
  return send(box, "emergency-stop", { reason: "console: fleet stop" });
}

export function resumeFleet(box) {
  return send(box, "resume", {});
}
