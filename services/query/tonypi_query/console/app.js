// The console's shell: sign-in, the role, navigation, the live feed and the emergency stop.
import { ApiError, hasToken } from "./api.js";
import { finishOidc, signInWithToken, signOut, startOidc, whoami } from "./auth.js";
import { stopFleet, resumeFleet } from "./estop.js";
import { Feed, stats } from "./feed.js";
import { append, el, clear, setText } from "./safe.js";
import { fleetPage } from "./pages/fleet.js";
import { robotPage } from "./pages/robot.js";
import { alarmsPage } from "./pages/alarms.js";
import { jobsPage } from "./pages/jobs.js";
import { logsPage } from "./pages/logs.js";
import { analyticsPage } from "./pages/analytics.js";

const ROLES = { viewer: 1, operator: 2, admin: 3 };
const PAGES = [
  ["fleet", "Fleet"],
  ["alarms", "Alarms"],
  ["jobs", "Jobs"],
  ["logs", "Logs"],
  ["analytics", "Analytics"],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const feedState = document.getElementById("feed-state");
const who = document.getElementById("who");
const estop = document.getElementById("estop");
const estopOutcome = document.getElementById("fleet-outcome");

let config = { oidc: null };
let session = null;
let leave = () => {};
const feed = new Feed(
  (state) => {
    setText(feedState, `live feed: ${state}`);
    if (state === "signed out") {
      signOut();
      session = null;
      signInPage("Your session ended (the token was revoked or expired): sign in again.");
    }
  },
  () => route(), // a gap: what the feed lost, the page reads again
);
// For measurement (docs/console.md): time per batched update, records and frames.
window.tonypiConsole = { stats };

const ctx = {
  feed,
  get session() {
    return session;
  },
  can(role) {
    return Boolean(session && session.role && ROLES[session.role] >= ROLES[role]);
  },
};

function signInPage(message) {
  clear(nav);
  clear(estop);
  clear(who);
  const tokenInput = el("input", { type: "password", name: "token", placeholder: "tpk_…", autocomplete: "off", "data-testid": "token" });
  const status = el("p", { class: "error", "data-testid": "signin-error" }, message || "");
  const form = el(
    "form",
    { class: "signin", "data-testid": "signin" },
    el("h1", {}, "Sign in"),
    el("label", {}, "API token ", tokenInput),
    el("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      session = await signInWithToken(tokenInput.value);
      started();
    } catch (error) {
      setText(status, error instanceof ApiError ? error.detail : error.message);
    }
  });
  if (config.oidc) {
    form.append(el("p", {}, "or ", el("button", { type: "button", "data-testid": "oidc", onclick: () => startOidc(config.oidc) }, "sign in with your identity provider")));
  }
  clear(main).append(form);
}

function shell() {
  append(clear(nav), PAGES.map(([id, label]) => el("a", { href: `#/${id}`, "data-page": id }, label)));
  append(clear(who), [`${session.name} (${session.role || "anonymous"}) `, el("button", { class: "small", onclick: () => { signOut(); feed.stop(); session = null; signInPage(); } }, "Sign out")]);
  clear(estop);
  if (ctx.can("operator")) {
    estop.append(
      el("button", { class: "danger estop", "data-testid": "fleet-stop", onclick: () => stopFleet(estopOutcome) }, "EMERGENCY STOP"),
      el("button", { class: "small", "data-testid": "fleet-resume", onclick: () => resumeFleet(estopOutcome) }, "Resume fleet"),
    );
  }
}

function route() {
  if (!session) return;
  leave();
  const [, page = "fleet", arg] = location.hash.split("/");
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("current", link.dataset.page === page);
  clear(main);
  main.dataset.page = page;
  const pages = { fleet: fleetPage, alarms: alarmsPage, jobs: jobsPage, logs: logsPage, analytics: analyticsPage };
  if (page === "robot" && arg) leave = robotPage(ctx, main, decodeURIComponent(arg));
  else leave = (pages[page] || fleetPage)(ctx, main);
}

function started() {
  shell();
  feed.start();
  route();
}

async function boot() {
  try {
    config = await (await fetch("/console/config.json", { cache: "no-store" })).json();
  } catch {
    /* no sign-in settings: token only */
  }
  window.addEventListener("hashchange", route);
  try {
    session = await finishOidc(config.oidc);
    if (!session && hasToken()) session = await whoami();
  } catch (error) {
    signOut();
    return signInPage(error instanceof ApiError ? error.detail : error.message);
  }
  if (!session && config.reads_open) session = await whoami().catch(() => null);
  if (!session) return signInPage();
  return started();
}

boot();
