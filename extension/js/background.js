// The service worker (Chromium) or event page (Firefox). Every listener is registered here, at
// the top level, on each start; no state is kept in globals: the worker may be stopped whenever
// it is idle, and each event that wakes it reopens the stream and syncs the badge.

import { serve } from "./messaging.js";
import { alertIdOf } from "./notify.js";
import { registerPatrol } from "./patrol-run.js";
import { refreshProxy, routeRequest, socialOrigins } from "./proxy.js";
import { POLL_ALARM, ensureAlarm, ensureStream, sync } from "./watch.js";

/** Whatever woke the worker: have the alarm, the stream and an up-to-date badge. */
async function wake() {
  await ensureAlarm();
  ensureStream().catch(report); // runs for as long as the stream is open: not awaited
  return sync();
}

/** A bug, not a state of the server (those are on the badge): for the worker's console. */
function report(error) {
  console.error("Sentinelle:", error);
}

chrome.runtime.onInstalled.addListener(async ({ reason }) => {
  if (reason === "install") await chrome.runtime.openOptionsPage().catch(report);
  await wake();
});

chrome.runtime.onStartup.addListener(wake);

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === POLL_ALARM) return wake();
  return undefined;
});

chrome.notifications.onClicked.addListener(async (notificationId) => {
  const alertId = alertIdOf(notificationId);
  if (alertId === null) return;
  await chrome.notifications.clear(notificationId);
  await chrome.tabs.create({ url: chrome.runtime.getURL(`review.html?alert=${alertId}`) });
});

chrome.storage.onChanged.addListener((changes, area) => {
  // Paired, re-paired or unpaired from the options page: reconnect with the new pairing.
  if (area === "local" && (changes.server || changes.token)) {
    wake().catch(report);
    refreshProxy().catch(report);
  }
});

// Firefox: each request to a social network goes to Sentinelle's proxy while the switch is on
// (Chromium has no onRequest: it applies a PAC script, proxy.js). At the top level, so Firefox
// keeps the listener across restarts of the event page and holds requests until it is back.
globalThis.browser?.proxy?.onRequest?.addListener(routeRequest, { urls: socialOrigins() });

registerPatrol(); // looking for her every day: its alarms and its notification (patrol-run.js)

serve({
  // A page changed something (a status, the pairing) or just opened: bring the badge up to date.
  sync: () => wake(),
});

// Every start of the worker, whatever woke it: the proxy rules first while the switch is on (the
// browser may have dropped them: proxy.js), then it reconnects at once rather than at the next alarm.
refreshProxy().catch(report);
wake().catch(report);
