// The patrol in the worker: the daily alarms of both modes, Remind me's notification, and Look for
// me's run out of the parent's way, in the parent's own browser (the plan and bounds: patrol.js).
//
// A run goes only while paired and the switch is on (so every page passes through Sentinelle),
// never takes the parent's focus (windows opened inactive; in Firefox, an unselected tab), and only
// loads and scrolls: it clicks nothing, types nothing, never logs in. Each look is told to the
// server (POST then PATCH /api/patrol) so that what the proxy sees meanwhile is known to be found
// while looking for her. Alarms, not timers, so both modes survive a restart of the browser or the worker;
// the waits inside one run (a page loading, a scroll settling) are that run's own.

import { Api, ApiError } from "./api.js";
import { loadSearches } from "./searches.js";
import { named, t } from "./i18n.js";
import { broadcast } from "./messaging.js";
import {
  DAY_MINUTES,
  IDLE_SECONDS,
  PAGES_PER_NETWORK,
  PATROL_ALARM,
  PAUSE_BETWEEN_PAGES_MS,
  REMIND_ALARM,
  REQUESTS_PER_NETWORK,
  SCROLLS_PER_PAGE,
  SCROLL_PAUSE_MS,
  SECONDS_PER_PAGE,
  STOPPING,
  getPatrolSettings,
  idleTurn,
  missedWhileClosed,
  nextTime,
  patrolPlan,
  rememberProfiles,
  runId,
  stopReason,
} from "./patrol.js";
import { getProxySwitch } from "./settings.js";

const RUN_LOCK = "sentinelle-patrol";
const REMIND_NOTIFICATION = "remind";
// How long Remind me says the searches take: a glance at each network's first results.
const REMIND_MINUTES = 2;

/** Register the patrol's listeners (one line in background.js, at the top level). */
export function registerPatrol() {
  chrome.alarms.onAlarm.addListener((alarm) => {
    if ([PATROL_ALARM, REMIND_ALARM].includes(alarm.name)) return turn(alarm.name).catch(report);
    return undefined;
  });
  chrome.notifications.onClicked.addListener((id) => {
    if (id === REMIND_NOTIFICATION) openSearches().catch(report);
  });
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && (changes.patrolMode || changes.patrolHour || changes.patrolIdle)) {
      schedule({ again: true }).catch(report);
    }
  });
  // "When the computer is idle": the browser tells the worker (and wakes it) when the state changes.
  chrome.idle.setDetectionInterval(IDLE_SECONDS);
  chrome.idle.onStateChanged.addListener((state) => lookWhenIdle(state).catch(report));
  schedule().catch(report); // each start of the worker: the alarm of the mode chosen exists
  settleNote().catch(report);
}

/** A run the browser's quitting cut short left "Looking for her now…": with no run going, the
 *  popup says it was stopped before its end, not that it still looks. */
async function settleNote() {
  const { patrolNote } = await chrome.storage.local.get("patrolNote");
  if (patrolNote?.key !== "patrolNoteRunning") return;
  const { held } = await navigator.locks.query();
  if (!held.some((lock) => lock.name === RUN_LOCK)) await note(patrolNote.reason, "patrolNoteInterrupted");
}

function report(error) {
  console.error("Sentinelle patrol:", error);
}

/** The daily alarm of the chosen mode, and no other (none for Look for me when idle).
 *  `again`: the mode or hour changed. A turn the browser lost while it was closed (Firefox drops
 *  its alarms when it quits) is taken now, as Chromium takes a missed alarm when it starts. */
export async function schedule({ again = false } = {}) {
  const { mode, hour, idle } = await getPatrolSettings();
  const wanted = { look: idle ? null : PATROL_ALARM, remind: REMIND_ALARM }[mode];
  for (const name of [PATROL_ALARM, REMIND_ALARM]) {
    if (name !== wanted) await chrome.alarms.clear(name);
  }
  if (!wanted || (!again && (await chrome.alarms.get(wanted)))) return "kept";
  const { patrolDue } = await chrome.storage.local.get("patrolDue");
  await setAlarm(wanted, nextTime(hour));
  return !again && missedWhileClosed(wanted, patrolDue) ? turn(wanted) : "scheduled";
}

/** The daily alarm `name`, next at `when` (ms), and the extension's own note of that time,
 *  which outlives a browser that forgets its alarms when it quits. The note first: a worker
 *  stopped between the two leaves an alarm's note to catch up, never an alarm without one. */
export async function setAlarm(name, when) {
  await chrome.storage.local.set({ patrolDue: { name, when } });
  await chrome.alarms.create(name, { when, periodInMinutes: DAY_MINUTES });
}

/** The turn of the daily alarm `name`: Look for me looks, Remind me reminds. */
async function turn(name) {
  const { hour } = await getPatrolSettings();
  await chrome.storage.local.set({ patrolDue: { name, when: nextTime(hour) } });
  return name === PATROL_ALARM ? lookNow("daily") : remind();
}

/** The children with a name to look for (GET /api/children), and the searches of data/search.json. */
async function whatToLookFor(api) {
  const children = (await api.children()).filter((child) => child.name);
  return { children, searches: await loadSearches() };
}

// -- Remind me -------------------------------------------------------------------------

/** The daily notification "Look for Alice (2 minutes)", once a child has a name. */
export async function remind() {
  const api = await Api.fromStorage();
  const { children } = await whatToLookFor(api);
  if (!children.length) return "no child";
  const names = children.map((child) => child.name.split(/\s+/)[0]).join(", ");
  await chrome.notifications.create(REMIND_NOTIFICATION, {
    type: "basic",
    iconUrl: chrome.runtime.getURL("icons/icon-128.png"),
    title: t("remindTitle", [named(names), REMIND_MINUTES]),
    message: t("remindMessage"),
    priority: 1,
  });
  // What outlives the notification (headless Firefox closes it at once): when she was last reminded.
  await chrome.storage.local.set({ patrolReminded: Date.now() });
  return "reminded";
}

/** The parent clicked the reminder: her searches, each network's, together and in front. */
export async function openSearches() {
  await chrome.notifications.clear(REMIND_NOTIFICATION);
  const api = await Api.fromStorage();
  const { children, searches } = await whatToLookFor(api);
  const urls = patrolPlan(children, searches).flatMap((network) =>
    network.looks.filter((look) => look.what === "search").map((look) => look.url));
  if (urls.length) await chrome.windows.create({ url: urls, focused: true });
  return urls;
}

// -- Look for me -----------------------------------------------------------------------

/** The computer became `state`: Look for me's turn if the parent chose "when idle" and no
 *  patrol ran today. */
async function lookWhenIdle(state) {
  const { patrolLastRun } = await chrome.storage.local.get("patrolLastRun");
  if (idleTurn(state, await getPatrolSettings(), patrolLastRun)) return lookNow("idle");
  return "not now";
}

/**
 * Look for her now (`reason`: "daily", "idle", or "asked" by `sentinelle patrol now`), unless a run is
 * already going. Resolves to what happened: "done", "busy", "not paired", "switch off".
 */
export function lookNow(reason = "asked") {
  return navigator.locks.request(RUN_LOCK, { ifAvailable: true }, async (lock) => {
    if (!lock) return "busy";
    let api;
    try {
      api = await Api.fromStorage();
    } catch (error) {
      if (error instanceof ApiError) return note(reason, "patrolNoteNotPaired");
      throw error;
    }
    // Nothing is looked at unwatched: without the switch, the pages would not pass through Sentinelle.
    if (!(await getProxySwitch())) return note(reason, "patrolNoteSwitchOff");
    const { children, searches } = await whatToLookFor(api);
    const stored = await chrome.storage.local.get("patrolProfiles");
    const plan = patrolPlan(children, searches, await api.watchlist(), stored.patrolProfiles || {});
    if (!plan.length) return note(reason, "patrolNoteNoName");
    await chrome.storage.local.set({ patrolLastRun: Date.now() });
    await note(reason, "patrolNoteRunning");
    const outcome = await patrol(api, plan);
    return note(reason, outcome === "interrupted" ? "patrolNoteInterrupted" : "patrolNoteDone");
  });
}

/** What the popup says of the last run, beside the server's record of each network. */
async function note(reason, key) {
  await chrome.storage.local.set({ patrolNote: { reason, key, at: Date.now() } });
  await broadcast("patrolChanged");
  return key;
}

async function patrol(api, plan) {
  const run = runId();
  const tab = await openPatrolTab();
  const profiles = [];
  try {
    for (const network of plan) {
      let requests = 0;
      for (const [index, look] of network.looks.slice(0, PAGES_PER_NETWORK).entries()) {
        if (index) await pause(PAUSE_BETWEEN_PAGES_MS);
        if (!(await getProxySwitch())) return "interrupted"; // switched off meanwhile: stop at once
        const started = await api.startLook({ run, platform: network.platform, ...look });
        const result = await visit(tab.id, look.url, REQUESTS_PER_NETWORK - requests);
        requests += result.requests;
        await api.endLook(started.id, result);
        if (look.what === "profile") profiles.push(look.url);
        if (result.outcome === "interrupted") return "interrupted";
        if (STOPPING.includes(result.outcome) || requests >= REQUESTS_PER_NETWORK) break;
      }
    }
    return "done";
  } finally {
    const { patrolProfiles } = await chrome.storage.local.get("patrolProfiles");
    await chrome.storage.local.set({ patrolProfiles: rememberProfiles(patrolProfiles || {}, profiles) });
    await tab.close().catch(() => undefined); // closed by the parent already
  }
}

// Where the patrol looks, never taking the parent's focus (what each kind of place does in each
// browser, as measured on a desktop: extension/README.md, "Where the patrol looks"). Chromium
// opens windows inactive: the desktop puts the patrol's behind the one that has the focus, and
// its pages are drawn, so a list that loads its next results once its end is drawn (an
// IntersectionObserver, as the networks' lists do) loads as the patrol scrolls. Minimized
// windows' pages are never drawn: such a list loads nothing there. Firefox opens all its windows
// active (it ignores `focused: false`, and one opened minimized takes the focus for an instant,
// when keys the parent types would go to a network's page): there the patrol looks in a tab
// that is never selected, beside the parent's, whose page is hidden; it is drawn before each
// scroll (drawn(), below), and patrol-scroll.js sets off what a hidden page is not sent.
const OPENS_INACTIVE_WINDOWS = !globalThis.browser?.runtime?.getBrowserInfo; // Firefox's alone

/** The patrol's tab, and how to close what was opened for it. */
async function openPatrolTab() {
  if (OPENS_INACTIVE_WINDOWS) {
    const created = await chrome.windows.create({ url: "about:blank", focused: false, state: "normal" });
    return { id: created.tabs[0].id, close: () => chrome.windows.remove(created.id) };
  }
  const tab = await chrome.tabs.create({ url: "about:blank", active: false });
  return { id: tab.id, close: () => chrome.tabs.remove(tab.id) };
}

/**
 * Load `url` in the tab, let it settle, and scroll its first results within the bounds.
 * Resolves to `{ outcome, scrolls, requests }` (OUTCOMES of patrol.js).
 */
async function visit(tabId, url, requestsLeft) {
  try {
    await chrome.tabs.update(tabId, { url });
  } catch {
    return { outcome: "interrupted", scrolls: 0, requests: 0 };
  }
  const loaded = await loadedBy(tabId, Date.now() + SECONDS_PER_PAGE * 1000);
  if (loaded !== "complete") return { outcome: loaded, scrolls: 0, requests: 0 };
  let page = await probe(tabId);
  if (!page) return { outcome: "unreachable", scrolls: 0, requests: 0 };
  const stopped = stopReason(page.url, page);
  if (stopped) return { outcome: stopped, scrolls: 0, requests: page.requests };
  for (let scrolls = 1; scrolls <= SCROLLS_PER_PAGE; scrolls++) {
    const before = page;
    await drawn(tabId);
    if (!(await scroll(tabId))) return { outcome: "unreachable", scrolls, requests: before.requests };
    await pause(SCROLL_PAUSE_MS);
    page = (await probe(tabId)) || before;
    if (page.requests >= requestsLeft) return { outcome: "bound", scrolls, requests: page.requests };
    if (page.bottom && page.height === before.height) return { outcome: "done", scrolls, requests: page.requests };
  }
  return { outcome: "bound", scrolls: SCROLLS_PER_PAGE, requests: page.requests };
}

/** "complete" once the tab has loaded, "timeout" past `deadline`, "interrupted" if it is gone. */
async function loadedBy(tabId, deadline) {
  await pause(200); // the navigation just asked for has started
  while (Date.now() < deadline) {
    let tab;
    try {
      tab = await chrome.tabs.get(tabId);
    } catch {
      return "interrupted";
    }
    if (tab.status === "complete" && tab.url !== "about:blank") return "complete";
    await pause(250);
  }
  return "timeout";
}

/** What the page shows (js/patrol-page.js, injected); null when the page cannot be read (a
 *  network's error page, or a host the extension may not script). */
async function probe(tabId) {
  try {
    const [{ result }] = await chrome.scripting.executeScript({ target: { tabId }, files: ["js/patrol-page.js"] });
    return result || null;
  } catch {
    return null;
  }
}

/** Firefox draws an unselected tab's page once asked to have it ready to be shown (tabs.warmup,
 *  Firefox's alone), and a list that loads once its end is drawn then loads as the patrol
 *  scrolls; Chromium draws the patrol's already. */
async function drawn(tabId) {
  if (chrome.tabs.warmup) await chrome.tabs.warmup(tabId).catch(() => undefined);
}

/** Two screens down (js/patrol-scroll.js, injected). */
async function scroll(tabId) {
  try {
    await chrome.scripting.executeScript({ target: { tabId }, files: ["js/patrol-scroll.js"] });
    return true;
  } catch {
    return false;
  }
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
