// The review page's watch list: accounts the feeds showed whose names look like a child's, without
// her photos so far (GET /api/watchlist). The quiet tier: never a notification, never on the badge;
// the parent looks at each one here, opens its profile, dismisses it ("not her": it never makes an
// impersonation alert) or marks it as pretending to be her (PATCH /api/watchlist/{id}). Those
// marked stay below the open ones, with the platform's impersonation form, until dismissed.

import { dateTime, platformName, relativeTime, t, tn, uiLanguage } from "./i18n.js";
import { capitalised, resemblanceText } from "./impersonation.js";
import { explain, fromTemplate, localize, openTab } from "./page.js";
import { handle, safeUrl } from "./places.js";

const $ = (id) => document.getElementById(id);

/**
 * Fetch the watch list and show it. `nextSteps`: data/next-steps.json (the impersonation forms);
 * `changed()`: called after the parent dismissed or marked an account (its alerts may have changed
 * kind: the page reloads them).
 */
export async function showWatchList(api, nextSteps, changed) {
  let entries;
  try {
    entries = await api.watchlist();
  } catch (error) {
    $("watch-count").textContent = explain(error);
    return;
  }
  const open = entries.filter((entry) => entry.status === "open");
  const marked = entries.filter((entry) => entry.status === "impersonation");
  $("watch-count").textContent = open.length ? tn("watchCount", open.length) : t("watchEmpty");
  const item = (entry) => entryItem(api, entry, nextSteps, changed);
  $("watch-open").replaceChildren(...open.map(item));
  $("watch-marked-heading").hidden = !marked.length;
  $("watch-marked").replaceChildren(...marked.map(item));
}

function entryItem(api, entry, nextSteps, changed) {
  const item = fromTemplate("watch-entry");
  localize(item);
  item.dataset.watchId = entry.id;
  item.dataset.status = entry.status;
  const account = handle(entry.platform, entry.handle);
  const profile = safeUrl(entry.profile_url);
  item.querySelector(".watch-platform").textContent = platformName(entry.platform);
  const name = item.querySelector(".watch-handle");
  name.textContent = account;
  if (profile) name.href = profile;
  item.querySelector(".watch-display").textContent =
    entry.display_name ? t("watchShownAs", entry.display_name) : "";
  item.querySelector(".watch-why").textContent = capitalised(resemblanceText(entry) || "");
  const when = item.querySelector(".watch-when");
  when.textContent = t("watchWhen", [dateTime(entry.first_seen), dateTime(entry.last_seen),
                                     tn("watchSeenTimes", entry.count)]);
  when.title = relativeTime(entry.last_seen);
  const openProfile = item.querySelector(".watch-open");
  openProfile.disabled = !profile;
  openProfile.addEventListener("click", () => openTab(profile));
  item.querySelector(".watch-dismiss").addEventListener("click", () =>
    decide(api, entry, "dismissed", t("watchDismissed", account), changed));
  const mark = item.querySelector(".watch-mark");
  mark.hidden = entry.status === "impersonation";
  mark.addEventListener("click", () => decide(api, entry, "impersonation", t("watchMarked", account), changed));
  const form = entry.status === "impersonation" && impersonationForm(nextSteps, entry.platform);
  if (form) {
    const report = item.querySelector(".watch-report");
    report.textContent = t("watchReport", platformName(entry.platform));
    report.href = form.url;
    report.title = form.label;
    report.hidden = false;
  }
  return item;
}

async function decide(api, entry, status, said, changed) {
  const line = $("watch-line");
  line.textContent = t("statusSaving");
  try {
    await api.setWatchStatus(entry.id, status);
    line.textContent = said;
    await changed();
  } catch (error) {
    line.textContent = explain(error);
  }
}

/** `{ url, label }` of the platform's impersonation form (the next-steps entry marked
 *  "impersonation"), in the UI language; null when the platform has none. */
function impersonationForm(nextSteps, platform) {
  const entry = (nextSteps?.platforms[platform] || []).find((step) => step.impersonation === true);
  const url = entry && safeUrl(entry.url);
  if (!url) return null;
  const language = uiLanguage().toLowerCase().startsWith("fr") ? "fr" : "en";
  return { url, label: entry.label[language] || entry.label.en };
}
