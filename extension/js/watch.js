// The worker's two ways of learning about alerts, sharing one `sync`:
//  - the event stream (fetch + SseParser): each `alert` or `sighting` event syncs within a second;
//    a `watch` event (an account that only looks like the child, on the watch list) is passed on
//    to the open pages and nothing more: the watch list is the quiet tier, no notification, no badge;
//    a `patrol` event (`sentinelle patrol now`) starts a look for her (patrol-run.js);
//  - the `poll` alarm, every 30 s, which also reopens the stream after the worker was stopped.
// Nothing is kept in globals: the stream is held by a Web Lock (released when the worker dies),
// and what must outlive the worker (the last alert notified, the link state) is in chrome.storage.

import { Api, ApiError } from "./api.js";
import { showCount, showTrouble } from "./badge.js";
import { broadcast } from "./messaging.js";
import { isImpersonation } from "./impersonation.js";
import { notifyAlert } from "./notify.js";
import { lookNow } from "./patrol-run.js";
import { getPairing, setLink } from "./settings.js";
import { SseParser } from "./sse.js";

export const POLL_ALARM = "poll";
export const POLL_MINUTES = 0.5; // Chromium's minimum for a packed extension

const STREAM_LOCK = "sentinelle-stream";
const SYNC_LOCK = "sentinelle-sync";
// The server sends a keep-alive comment every 15 s: this much silence means the link is dead.
const SILENCE_MS = 45_000;
// Quick reconnections after a drop; past them the alarm tries again every 30 s.
const RETRY_DELAYS_MS = Object.freeze([1000, 2000, 4000]);
// At most this many notifications at once (after a long sleep); the badge counts them all.
const MAX_NOTIFICATIONS = 3;
// How many impersonation alerts already notified as such are remembered (chrome.storage.local),
// so that a copy which becomes one is told once more, and only once.
const REMEMBERED_IMPERSONATIONS = 200;

/** Make sure the poll alarm exists (alarms do not always survive a browser restart). */
export async function ensureAlarm() {
  if (!(await chrome.alarms.get(POLL_ALARM))) {
    await chrome.alarms.create(POLL_ALARM, { periodInMinutes: POLL_MINUTES, delayInMinutes: POLL_MINUTES });
  }
}

/**
 * Read the unreviewed alerts: set the badge, and notify the ones not notified yet.
 * Serialised by a lock, so the stream and the alarm never notify the same alert twice.
 * `heard`: alerts the event stream just sent, which may be older alerts that became
 * impersonation alerts (the account's name was seen after her photo on it).
 */
export function sync(heard = []) {
  return navigator.locks.request(SYNC_LOCK, async () => {
    let api;
    let unreviewed;
    try {
      api = await Api.fromStorage();
      unreviewed = await api.alerts("new");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      await showTrouble(error.messageKey);
      return { error: error.kind };
    }
    await showCount(unreviewed.length);
    const stored = await chrome.storage.local.get(["lastNotifiedId", "impersonationsNotified"]);
    const { lastNotifiedId } = stored;
    const told = stored.impersonationsNotified || [];
    const newest = Math.max(0, ...unreviewed.map((alert) => alert.id));
    if (lastNotifiedId === undefined) {
      // Just paired: what was there before is counted on the badge, not notified one by one.
      await chrome.storage.local.set({
        lastNotifiedId: newest,
        impersonationsNotified: unreviewed.filter(isImpersonation).map((alert) => alert.id),
      });
      return { unreviewed: unreviewed.length, notified: 0 };
    }
    const fresh = unreviewed.filter((alert) => alert.id > lastNotifiedId);
    const turned = byId([...heard, ...unreviewed]).filter((alert) => // the API's word is the newer
      isImpersonation(alert) && alert.id <= lastNotifiedId && !told.includes(alert.id)
      && alert.status !== "false_alarm"); // the parent's word stands
    const due = [...turned, ...fresh].sort((a, b) => a.id - b.id);
    for (const alert of due.slice(-MAX_NOTIFICATIONS)) {
      await notifyAlert(api, alert);
    }
    if (due.length) {
      await chrome.storage.local.set({
        lastNotifiedId: Math.max(lastNotifiedId, newest),
        impersonationsNotified: [...told, ...due.filter(isImpersonation).map((alert) => alert.id)]
          .slice(-REMEMBERED_IMPERSONATIONS),
      });
      await broadcast("alertsChanged");
    }
    return { unreviewed: unreviewed.length, notified: due.length };
  });
}

/** Each alert once, by id (the last word on it wins). */
function byId(alerts) {
  return [...new Map(alerts.map((alert) => [alert.id, alert])).values()];
}

/**
 * Open the event stream unless this worker already has it open. Resolves when it ends for good
 * (unpaired, wrong token, or the quick retries spent); callers need not wait for it.
 */
export function ensureStream() {
  return navigator.locks.request(STREAM_LOCK, { ifAvailable: true }, async (lock) => {
    if (!lock) return "already open";
    return streamUntilDone();
  });
}

async function streamUntilDone() {
  for (let attempt = 0; ; attempt++) {
    const pairing = await getPairing();
    if (!pairing) {
      await setLink({ state: "unpaired" });
      // Paired while this loop held the lock (a wake-up then found it taken): connect at once.
      if (await getPairing()) continue;
      return "unpaired";
    }
    try {
      await readStream(new Api(pairing.server, pairing.token));
      attempt = -1; // it was open: a drop after that starts the retries afresh
      await setLink({ state: "closed" });
    } catch (error) {
      await setLink({ state: "error", error: error.kind || error.name, message: error.message });
      if (error.kind === "unauthorized" || error.kind === "not_paired") return error.kind;
    }
    if (!sameAs(pairing, await getPairing())) continue; // re-paired meanwhile: connect at once
    if (attempt >= RETRY_DELAYS_MS.length - 1) return "retries spent"; // the alarm takes over
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[Math.max(0, attempt)]));
  }
}

async function readStream(api) {
  const controller = new AbortController();
  let silence = setTimeout(() => controller.abort(), SILENCE_MS);
  // Re-paired or unpaired while the stream is open: drop it at once (the caller reconnects).
  const onPairing = (changes, area) => {
    if (area === "local" && (changes.server || changes.token)) controller.abort();
  };
  chrome.storage.onChanged.addListener(onPairing);
  try {
    const response = await api.events(controller.signal);
    await setLink({ state: "open", server: api.server });
    await sync(); // catch up with what happened while the stream was closed
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      clearTimeout(silence);
      silence = setTimeout(() => controller.abort(), SILENCE_MS);
      // Heard from the server (a keep-alive comes every 15 s); an extension API call, too,
      // which keeps the worker awake while the stream is open.
      await setLink({ state: "open", server: api.server });
      const events = parser.push(value);
      if (events.some((event) => event.type === "alert" || event.type === "sighting")) {
        const heard = events.filter((event) => event.type === "alert").map((event) => parsed(event.data));
        await sync(heard.filter(Boolean));
        await broadcast("alertsChanged");
      }
      if (events.some((event) => event.type === "watch")) {
        await broadcast("watchChanged"); // the review page's watch list: no badge, no notification
      }
      if (events.some((event) => event.type === "patrol")) {
        lookNow("asked").catch(console.error); // `sentinelle patrol now`: runs beside the stream
      }
    }
  } finally {
    clearTimeout(silence);
    chrome.storage.onChanged.removeListener(onPairing);
  }
}

/** An event's JSON data, or null when it is not an object (the stream is believed, not trusted blindly). */
function parsed(data) {
  try {
    const value = JSON.parse(data);
    return value && typeof value === "object" && Number.isInteger(value.id) ? value : null;
  } catch {
    return null;
  }
}

function sameAs(a, b) {
  return Boolean(a && b && a.server === b.server && a.token === b.token);
}
