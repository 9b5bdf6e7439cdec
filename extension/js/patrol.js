// Looking for her every day (issue 26): the plan of a patrol and its bounds, as pure functions.
// Two modes, chosen in the options page and kept in chrome.storage.local:
//  - "remind" (the default once a child has a name): a daily notification opens her searches
//    together, in front of the parent, who scrolls;
//  - "look" (opt-in): a daily patrol out of the parent's way, never taking the focus
//    (patrol-run.js), opens each network's own search for each of her names and handles, then a
//    few watch-list profiles.
// The searches come from data/search.json (searches.js), never from the server; a watch-list
// profile is opened only on the host of that network's own search.

import { searchTerms, searchUrl } from "./searches.js";

export const MODES = Object.freeze(["remind", "look", "off"]);
export const DEFAULT_MODE = "remind";
// The evening, when a parent has the time; the parent picks another hour in the options page.
export const DEFAULT_HOUR = 18;
export const PATROL_ALARM = "patrol";
export const REMIND_ALARM = "remind";
export const DAY_MINUTES = 24 * 60;
// Look for me may wait for the computer to be idle rather than an hour: this long without a key
// or the mouse, the parent has stepped away (a parent reading a page moves the mouse within
// minutes), so the patrol's pages load while nobody is waiting on the connection.
export const IDLE_SECONDS = 10 * 60;

// -- the bounds: a careful parent's look, not a crawler's --------------------------------
// Her first results only: five screens down a list of accounts is what a parent reads; what
// matters is that the look-alike accounts near the top pass through the proxy.
export const SCROLLS_PER_PAGE = 5;
// Time for the next results to arrive after a scroll, as a reading parent pauses.
export const SCROLL_PAUSE_MS = 1500;
// A page not loaded by then is left ("timeout"): the network is slow or stalling the browser.
export const SECONDS_PER_PAGE = 30;
// Her names and handles, then profiles: a network gets at most this many pages a day.
export const PAGES_PER_NETWORK = 6;
// The requests the network's pages made (their resource entries, pictures included), summed
// over its pages: a page of results and its pictures is 50 to 150; past this the network is
// loading far more than a look would need, and the patrol leaves it ("bound").
export const REQUESTS_PER_NETWORK = 400;
// Between two pages, as a person moves from one search to the next, not a burst of requests.
export const PAUSE_BETWEEN_PAGES_MS = 3000;
// Watch-list profiles opened a day (all networks together), each at most once in this many days.
export const PROFILES_PER_DAY = 3;
export const PROFILE_REST_DAYS = 7;
export const REMEMBERED_PROFILES = 200;

// What ends a look (server/store/patrol.py OUTCOMES); the last five stop the network for the day.
export const OUTCOMES = Object.freeze(["done", "bound", "login", "challenge", "unreachable", "timeout", "interrupted"]);
export const STOPPING = Object.freeze(["login", "challenge", "unreachable", "timeout", "interrupted"]);

// Where networks send a browser they want to sign in, or to prove it is a person (their
// addresses as of 2026-12; the page's own markers below catch a wall at the search's address).
const LOGIN_PATH = /\/(?:accounts\/login|login|signin|sign_in|i\/flow\/login|account\/login)(?:[/?#]|$)/i;
const CHALLENGE_PATH = /\/(?:challenge|checkpoint|captcha|suspended)(?:[/?#]|$)|captcha/i;

/** The mode and hour the parent chose, and whether Look for me waits for the computer to be
 *  idle instead of the hour (chrome.storage.local). */
export async function getPatrolSettings() {
  const { patrolMode, patrolHour, patrolIdle } = await chrome.storage.local.get(["patrolMode", "patrolHour", "patrolIdle"]);
  return {
    mode: MODES.includes(patrolMode) ? patrolMode : DEFAULT_MODE,
    hour: Number.isInteger(patrolHour) && patrolHour >= 0 && patrolHour < 24 ? patrolHour : DEFAULT_HOUR,
    idle: patrolIdle === true,
  };
}

export async function savePatrolSettings({ mode, hour, idle = false }) {
  if (!MODES.includes(mode) || !Number.isInteger(hour) || hour < 0 || hour > 23) throw new TypeError("mode or hour");
  await chrome.storage.local.set({ patrolMode: mode, patrolHour: hour, patrolIdle: idle === true });
}

/** Whether the computer turning `state` (chrome.idle: "active", "idle", "locked") is Look for
 *  me's turn: the parent chose "when idle", and no patrol ran yet on the day of `now` (the last
 *  began at `lastRun`, ms). */
export function idleTurn(state, settings, lastRun, now = Date.now()) {
  if (settings.mode !== "look" || !settings.idle || !["idle", "locked"].includes(state)) return false;
  return !lastRun || new Date(lastRun).toDateString() !== new Date(now).toDateString();
}

/** Whether the daily alarm `name` came due while the browser was closed and went with it:
 *  `kept` is the extension's own note of its next time ({ name, when }, patrol-run.js); the
 *  caller asks only once the browser has no such alarm any more. Chromium keeps its alarms across a restart and fires a
 *  missed one when it starts again; Firefox drops them: its missed turn is taken at its start. */
export function missedWhileClosed(name, kept, now = Date.now()) {
  return Boolean(kept) && kept.name === name && kept.when <= now;
}

/** The next time it is `hour`:00 here, after `now` (ms since the epoch). */
export function nextTime(hour, now = Date.now()) {
  const at = new Date(now);
  at.setHours(hour, 0, 0, 0);
  if (at.getTime() <= now) at.setDate(at.getDate() + 1);
  return at.getTime();
}

/** The host of a network's own search (data/search.json), where its profiles may be opened. */
function searchHost(template) {
  return new URL(template.replaceAll("{q}", "x")).hostname;
}

/**
 * The day's patrol: for each network of `searches` (data/search.json), its looks in order:
 * each child's names and handles (`search`), then watch-list profiles (`profile`) not looked at
 * within PROFILE_REST_DAYS (`profilesSeen`: url → ms), at most PROFILES_PER_DAY in all and
 * PAGES_PER_NETWORK pages a network. `watchlist`: GET /api/watchlist.
 * Returns [{ platform, looks: [{ what, term, child, url }] }], networks without a look left out.
 */
export function patrolPlan(children, searches, watchlist = [], profilesSeen = {}, now = Date.now()) {
  const rest = PROFILE_REST_DAYS * DAY_MINUTES * 60_000;
  const due = watchlist
    .filter((entry) => entry.status !== "dismissed" && typeof entry.profile_url === "string")
    .filter((entry) => !(now - (profilesSeen[entry.profile_url] || 0) < rest))
    .sort((a, b) => (profilesSeen[a.profile_url] || 0) - (profilesSeen[b.profile_url] || 0));
  let profilesLeft = PROFILES_PER_DAY;
  const plan = [];
  for (const [platform, template] of Object.entries(searches.platforms)) {
    const looks = [];
    for (const child of children) {
      for (const term of searchTerms(child)) {
        const url = searchUrl(template, term);
        if (url) looks.push({ what: "search", term, child: child.name, url });
      }
    }
    const host = searchHost(template);
    for (const entry of due.filter((e) => e.platform === platform)) {
      if (profilesLeft <= 0 || looks.length >= PAGES_PER_NETWORK) break;
      if (!onHost(entry.profile_url, host)) continue; // a profile only where the network's own search is
      looks.push({ what: "profile", term: entry.handle, child: entry.child, url: entry.profile_url });
      profilesLeft -= 1;
    }
    if (looks.length) plan.push({ platform, looks: looks.slice(0, PAGES_PER_NETWORK) });
  }
  return plan;
}

function onHost(url, host) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && parsed.hostname === host;
  } catch {
    return false;
  }
}

/**
 * What stops a page, from where it ended up and what it shows: "challenge", "login", or null.
 * `markers`: `{ password, challenge }`, whether the page asks for a password or shows a check
 * that the browser is a person (patrol-run.js reads them in the page).
 */
export function stopReason(url, markers = {}) {
  let path = "";
  try {
    const parsed = new URL(url);
    path = parsed.pathname + parsed.search;
  } catch {
    return "unreachable";
  }
  if (markers.challenge || CHALLENGE_PATH.test(path)) return "challenge";
  if (markers.password || LOGIN_PATH.test(path)) return "login";
  return null;
}

/** Profiles looked at (url → ms), with `urls` just looked at `now`, the newest REMEMBERED_PROFILES kept. */
export function rememberProfiles(seen, urls, now = Date.now()) {
  const all = { ...seen, ...Object.fromEntries(urls.map((url) => [url, now])) };
  return Object.fromEntries(Object.entries(all).sort((a, b) => b[1] - a[1]).slice(0, REMEMBERED_PROFILES));
}

/** A patrol's id, sent with each look so the server groups them. */
export function runId() {
  return `run-${Date.now().toString(36)}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}
