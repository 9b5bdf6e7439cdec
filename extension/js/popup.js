// The popup: the newest alerts, the protected photo beside what was seen, and one click to
// the review page or to the page where it was seen.

import { Api } from "./api.js";
import { dateTime, named, platformName, relativeTime, statusName, t, tn } from "./i18n.js";
import { listen, send } from "./messaging.js";
import { explain, extensionUrl, fromTemplate, localize, openTab, showApiImage } from "./page.js";
import { isImpersonation, pretendsToBe } from "./impersonation.js";
import { showPatrol } from "./patrol-view.js";
import { accountOf, placeLabel } from "./places.js";
import { getLink } from "./settings.js";

const SHOWN = 5;

async function main() {
  localize();
  document.getElementById("open-log").addEventListener("click", () => openReview());
  document.getElementById("open-options").addEventListener("click", openOptions);
  document.getElementById("notice-options").addEventListener("click", openOptions);
  listen("alertsChanged", render);
  send("sync").catch(() => {}); // wakes the worker: the badge and stream are brought up to date
  await render();
}

async function render() {
  let api;
  let alerts;
  try {
    api = await Api.fromStorage();
    alerts = await api.alerts();
  } catch (error) {
    showNotice(explain(error));
    showLink({ state: "down" });
    return;
  }
  showLink(await getLink());
  const unreviewed = alerts.filter((alert) => alert.status === "new").length;
  document.getElementById("summary").textContent = alerts.length
    ? t("popupSummary", [unreviewed, alerts.length]) : "";
  document.getElementById("empty").hidden = alerts.length > 0;
  const list = document.getElementById("alerts");
  list.replaceChildren(...alerts.slice(0, SHOWN).map((alert) => card(api, alert)));
  await showPatrol(api).catch(() => {}); // an older Sentinelle has no /api/patrol: the alerts still show
}

function card(api, alert) {
  const item = fromTemplate("alert-card");
  localize(item);
  item.dataset.alertId = alert.id;
  item.classList.add(`status-${alert.status}`);
  showApiImage(item.querySelector("img.protected"), api, alert.photo_url);
  showApiImage(item.querySelector("img.seen"), api, alert.evidence_url);
  item.querySelector(".status-chip").textContent = statusName(alert.status);
  item.querySelector(".photo-name").textContent = alert.photo_name || t("photoUnknown");
  if (isImpersonation(alert)) {
    // Told apart at a glance: an account that pretends to be her, not only a copy of her photo.
    item.classList.add("impersonation");
    const chip = item.querySelector(".kind-chip");
    chip.textContent = t("kindImpersonation");
    chip.hidden = false;
    const pretends = item.querySelector(".pretends");
    pretends.textContent = pretendsToBe(alert);
    pretends.hidden = false;
  }
  item.querySelector(".child").textContent = alert.child ? t("ofChild", named(alert.child)) : "";
  item.querySelector(".platform").textContent = platformName(alert.platform);
  const place = accountOf(alert);
  item.querySelector(".place").textContent = place ? placeLabel(alert, place) : t("pageUnknown");
  const when = item.querySelector(".last-seen");
  when.dateTime = alert.last_seen;
  when.textContent = relativeTime(alert.last_seen);
  when.title = dateTime(alert.last_seen);
  item.querySelector(".times").textContent = tn("seenTimes", alert.count);
  item.querySelector(".review").addEventListener("click", () => openReview(alert.id));
  const openPage = item.querySelector(".open-page");
  if (place) {
    openPage.title = place.url;
    openPage.addEventListener("click", () => openTab(place.url).then(() => window.close()));
  } else {
    openPage.disabled = true;
    openPage.title = t("pageUnknown");
  }
  return item;
}

function showNotice(message) {
  document.getElementById("notice").hidden = false;
  document.getElementById("notice-text").textContent = message;
  document.getElementById("alerts").replaceChildren();
}

/** The worker's link to the server: live (event stream open), polling, or down. */
function showLink(link) {
  const element = document.getElementById("link");
  const state = link.state === "open" ? "live" : link.state === "down" ? "down" : "polling";
  element.textContent = t({ live: "linkLive", polling: "linkPolling", down: "linkDown" }[state]);
  element.className = `link ${state}`;
}

async function openReview(alertId) {
  const query = alertId ? `?alert=${alertId}` : "";
  await openTab(extensionUrl(`review.html${query}`));
  window.close();
}

async function openOptions() {
  await chrome.runtime.openOptionsPage();
  window.close();
}

main();
