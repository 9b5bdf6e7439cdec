// The review page (the match log): every alert, filtered by status, child, platform, kind and
// date; the evidence at full size beside the protected photo; status changes saved to the
// server; and what to do next for that platform and country (data/next-steps.json). An
// impersonation alert (an account that pretends to be the child) is labelled as one, and its
// next steps lead with the platform's impersonation form. Below them, the watch list
// (watch-list.js: accounts that only look like her, updated live) and "Look for her"
// (look-for-her.js: links to each network's own search for her names).

import { Api } from "./api.js";
import { dateTime, named, platformName, relativeTime, statusName, t, tn, uiLanguage } from "./i18n.js";
import { listen, send } from "./messaging.js";
import { explain, fromTemplate, localize, showApiImage, text } from "./page.js";
import { impersonated, impostor, isImpersonation, resemblanceText } from "./impersonation.js";
import { showLookForHer } from "./look-for-her.js";
import { showPatrol } from "./patrol-view.js";
import { loadSearches } from "./searches.js";
import { accountOf, firstPosterOf, safeUrl } from "./places.js";
import { loadNextSteps, pickCountry, saveCountry, stepsFor } from "./next-steps.js";
import { visibleOutline } from "./outline.js";
import { showWatchList } from "./watch-list.js";
import { saveEscalateAfter, saveReport, showReports } from "./reports.js";

const page = {
  api: null,
  alerts: [],
  selected: null, // the alert id shown in the detail pane
  nextSteps: null,
  searches: null, // data/search.json
};

async function main() {
  localize();
  page.selected = Number(new URLSearchParams(location.search).get("alert")) || null;
  document.getElementById("open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());
  document.getElementById("refresh").addEventListener("click", refresh);
  const filters = document.getElementById("filters");
  filters.addEventListener("input", renderList);
  filters.addEventListener("reset", () => setTimeout(renderList));
  for (const button of document.querySelectorAll("[data-status]")) {
    button.addEventListener("click", () => changeStatus(button.dataset.status));
  }
  document.getElementById("case-file").addEventListener("click", () => downloadCaseFile(false));
  document.getElementById("whole-case-file").addEventListener("click", () => downloadCaseFile(true));
  document.getElementById("report-form").addEventListener("submit", reported);
  document.getElementById("escalate-days").addEventListener("change", async (event) => {
    event.target.value = await saveEscalateAfter(event.target.value);
    renderReports(current());
  });
  document.getElementById("country").addEventListener("change", async (event) => {
    await saveCountry(event.target.value);
    renderNextSteps(current());
  });
  listen("alertsChanged", refresh);
  // A new account on the watch list: the worker passes the event on, and only this list changes.
  listen("watchChanged", () => page.api && showWatchList(page.api, page.nextSteps, accountDecided));
  [page.nextSteps, page.searches] = await Promise.all([loadNextSteps(), loadSearches()]);
  await refresh();
}

/** The parent dismissed or marked a watch-list account: its alerts may have changed kind. */
async function accountDecided() {
  await refresh();
  send("sync").catch(() => {});
}

async function refresh() {
  try {
    page.api = await Api.fromStorage();
    page.alerts = await page.api.alerts();
  } catch (error) {
    showNotice(explain(error));
    return;
  }
  showNotice(null);
  fillChoices("filter-child", page.alerts.map((alert) => alert.child).filter(Boolean), (c) => c);
  fillChoices("filter-platform", page.alerts.map((alert) => alert.platform), platformName);
  renderList();
  await Promise.all([
    page.selected && renderDetail(page.selected),
    showWatchList(page.api, page.nextSteps, accountDecided),
    page.api.children().then((children) => showLookForHer(children, page.searches), () => {}),
    showPatrol(page.api).catch(() => {}),
  ]);
}

function fillChoices(selectId, values, label) {
  const select = document.getElementById(selectId);
  const chosen = select.value;
  const options = [...new Set(values)].sort().map((value) => {
    const option = text("option", label(value));
    option.value = value;
    return option;
  });
  select.replaceChildren(select.options[0], ...options);
  select.value = options.some((option) => option.value === chosen) ? chosen : "";
}

/** The alerts the filters let through. Dates compare with the days the image was seen. */
function filtered() {
  const value = (id) => document.getElementById(id).value;
  const [status, child, platform, kind, from, to] =
    ["filter-status", "filter-child", "filter-platform", "filter-kind", "filter-from", "filter-to"].map(value);
  return page.alerts.filter((alert) =>
    (!status || alert.status === status)
    && (!child || alert.child === child)
    && (!platform || alert.platform === platform)
    && (!kind || (kind === "impersonation") === isImpersonation(alert))
    && (!from || localDay(alert.last_seen) >= from)
    && (!to || localDay(alert.first_seen) <= to));
}

function localDay(iso) {
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function renderList() {
  const shown = filtered();
  document.getElementById("count").textContent = t("reviewCount", [shown.length, page.alerts.length]);
  document.getElementById("alert-list").replaceChildren(...shown.map(row));
}

function row(alert) {
  const item = fromTemplate("alert-row");
  const button = item.querySelector("button");
  button.dataset.alertId = alert.id;
  button.classList.add(`status-${alert.status}`);
  if (alert.id === page.selected) button.setAttribute("aria-current", "true");
  showApiImage(item.querySelector("img.seen"), page.api, alert.evidence_url);
  item.querySelector(".photo-name").textContent = alert.photo_name || t("photoUnknown");
  if (isImpersonation(alert)) {
    const chip = item.querySelector(".kind-chip");
    chip.textContent = t("kindImpersonation");
    chip.hidden = false;
  }
  const place = accountOf(alert);
  const shown = place && alert.shown_as === "story" ? t("storyOf", place.label) : place?.label;
  item.querySelector(".row-where").textContent = [platformName(alert.platform), shown].filter(Boolean).join(" · ");
  const when = item.querySelector(".row-when");
  when.dateTime = alert.last_seen;
  when.textContent = `${relativeTime(alert.last_seen)} · ${tn("seenTimes", alert.count)}`;
  item.querySelector(".status-chip").textContent = statusName(alert.status);
  button.addEventListener("click", () => select(alert.id));
  return item;
}

async function select(alertId) {
  page.selected = alertId;
  history.replaceState(null, "", `?alert=${alertId}`);
  for (const button of document.querySelectorAll(".alert-row")) {
    button.toggleAttribute("aria-current", Number(button.dataset.alertId) === alertId);
  }
  await renderDetail(alertId);
}

function current() {
  return page.alerts.find((alert) => alert.id === page.selected) || null;
}

/** Who posted the copy (or re-posted it, naming who posted it first, or wears it as a profile
 *  picture, or showed it in a story), or the account's id while no feed has named its handle. */
function whoShowedIt(alert, place) {
  const platform = platformName(alert.platform);
  if (!alert.account && alert.account_id) return t("detailPostedById", [alert.account_id, platform]);
  if (!alert.account || !place) return t("detailWhere", [platform, place ? place.label : t("pageUnknown")]);
  if (alert.shown_as === "profile_picture") {
    return t("detailProfilePicture", [place.label, named(alert.child || t("theChild")), platform]);
  }
  if (alert.shown_as === "story") return t("detailStory", [place.label, platform]);
  const first = firstPosterOf(alert);
  return first ? t("detailReposted", [place.label, first.label, platform]) : t("detailPostedBy", [place.label, platform]);
}

async function renderDetail(alertId) {
  let alert;
  try {
    alert = await page.api.alert(alertId);
  } catch (error) {
    showNotice(explain(error));
    return;
  }
  document.getElementById("nothing").hidden = true;
  const detail = document.getElementById("detail");
  detail.hidden = false;
  detail.dataset.alertId = alert.id;
  document.getElementById("detail-title").textContent = alert.child
    ? t("detailTitleChild", [alert.photo_name || t("photoUnknown"), named(alert.child)])
    : alert.photo_name || t("photoUnknown");
  renderStatus(alert);
  const place = accountOf(alert);
  document.getElementById("detail-where").textContent = whoShowedIt(alert, place);
  document.getElementById("detail-kind").hidden = !isImpersonation(alert);
  const story = document.getElementById("detail-story");
  story.hidden = alert.shown_as !== "story";
  story.textContent = alert.shown_as !== "story" ? ""
    : alert.expires_at ? t("detailStoryGone", dateTime(alert.expires_at)) : t("detailStoryGoes");
  const pretends = document.getElementById("detail-impersonation");
  pretends.hidden = !isImpersonation(alert);
  pretends.textContent = isImpersonation(alert)
    ? t("detailImpersonation", [impostor(alert), named(impersonated(alert)),
                                resemblanceText(alert.resemblance) || t("kindImpersonation")])
    : "";
  await Promise.all([
    showApiImage(document.getElementById("detail-photo"), page.api, alert.photo_url),
    showApiImage(document.getElementById("detail-evidence"), page.api, alert.evidence_url),
  ]);
  await outline(document.getElementById("detail-evidence"), (alert.sightings || []).at(-1)?.region);
  document.getElementById("fact-first-seen").textContent = dateTime(alert.first_seen);
  document.getElementById("fact-last-seen").textContent = dateTime(alert.last_seen);
  document.getElementById("fact-times").textContent = tn("seenTimes", alert.count);
  document.getElementById("fact-page").replaceChildren(link(alert.page_url) || t("pageUnknown"));
  document.getElementById("fact-image").replaceChildren(link(alert.image_url) || alert.image_url);
  document.getElementById("fact-post").replaceChildren(link(alert.post_url) || t("postUnknown"));
  const first = firstPosterOf(alert);
  for (const row of document.querySelectorAll(".first-posted")) row.hidden = !first;
  document.getElementById("fact-first-posted").replaceChildren(
    ...(first ? [first.label, ...(first.url ? [" · ", link(first.url)] : [])] : []));
  document.getElementById("case-file-line").textContent = "";
  document.getElementById("fact-score").textContent =
    new Intl.NumberFormat(uiLanguage(), { maximumFractionDigits: 2 }).format(alert.score);
  renderSightings(alert.sightings || []);
  renderNextSteps(alert);
  document.getElementById("whole-case-file").hidden = !alert.child;
  await renderReports(alert);
}

/** The parent pressed "Reported": the report is kept in the case, and the alert marked reported. */
async function reported(event) {
  event.preventDefault();
  const alert = current();
  const line = document.getElementById("report-line");
  if (!alert) return;
  try {
    await saveReport(page.api, alert, event.target);
    event.target.reset();
    line.textContent = t("reportSaved");
    const updated = await page.api.alert(alert.id);
    page.alerts = page.alerts.map((a) => (a.id === updated.id ? updated : a));
    renderStatus(updated);
    renderList();
    await renderReports(updated);
    send("sync").catch(() => {});
  } catch (error) {
    line.textContent = explain(error);
  }
}

async function renderReports(alert) {
  if (!alert) return;
  try {
    await showReports(page.api, alert, () => {
      const language = uiLanguage().toLowerCase().startsWith("fr") ? "fr" : "en";
      const code = document.getElementById("country").value || "OTHER";
      return stepsFor(page.nextSteps, alert.platform, code, language).country.map(stepItem);
    });
  } catch (error) {
    document.getElementById("report-line").textContent = explain(error);
  }
}

/**
 * Outline on the evidence where the protected photo lies in it: `region` is its four corners in
 * the evidence's own pixels (the newest sighting's, the image the evidence route serves), clipped
 * to the evidence (outline.js). The stroke is clipped to the outline, so that it lies inside it and
 * shows whole where the outline follows the image's edges.
 */
async function outline(img, region) {
  const svg = document.getElementById("detail-outline");
  const note = document.getElementById("outline-note");
  svg.setAttribute("hidden", "");
  note.hidden = true;
  if (!Array.isArray(region) || region.length < 3 || !img.src) return;
  try {
    await img.decode();
  } catch {
    return; // the evidence could not be shown: nothing to outline
  }
  const { naturalWidth: width, naturalHeight: height } = img;
  const shown = visibleOutline(region, width, height);
  if (!shown) return;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const points = shown.points.map(([x, y]) => `${x},${y}`).join(" ");
  for (const polygon of svg.querySelectorAll("polygon")) polygon.setAttribute("points", points);
  svg.removeAttribute("hidden");
  note.textContent = shown.runsPast ? t("outlineNotePart") : t("outlineNote");
  note.hidden = false;
}

function renderStatus(alert) {
  const chip = document.getElementById("detail-status");
  chip.textContent = statusName(alert.status);
  chip.className = `status-chip status-${alert.status}`;
  for (const button of document.querySelectorAll("[data-status]")) {
    button.setAttribute("aria-pressed", String(button.dataset.status === alert.status));
  }
  document.getElementById("status-line").textContent =
    t("statusLine", [statusName(alert.status), dateTime(alert.status_changed_at)]);
}

async function changeStatus(status) {
  const line = document.getElementById("status-line");
  line.textContent = t("statusSaving");
  try {
    const alert = await page.api.setStatus(page.selected, status);
    page.alerts = page.alerts.map((a) => (a.id === alert.id ? alert : a));
    renderStatus(alert);
    line.textContent = t("statusSaved", statusName(alert.status));
    renderList();
    send("sync").catch(() => {}); // the badge counts the unreviewed alerts
  } catch (error) {
    line.textContent = explain(error);
  }
}

/** The case file (a ZIP) of the account that posted the shown alert, else of the alert alone; or
 *  (`whole`) the child's whole case, led by its timeline. */
async function downloadCaseFile(whole) {
  const alert = current();
  if (!alert) return;
  const line = document.getElementById("case-file-line");
  line.textContent = t("caseFileMaking");
  const which = whole ? `case=${encodeURIComponent(alert.child)}`
    : alert.account ? `account=${encodeURIComponent(alert.account)}` : `alert=${Number(alert.id)}`;
  const language = uiLanguage().toLowerCase().startsWith("fr") ? "fr" : "en";
  const country = encodeURIComponent(document.getElementById("country").value || "OTHER");
  try {
    const response = await page.api.fetch(`/api/casefile?${which}&lang=${language}&country=${country}`);
    const name = /filename="([\w.-]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1]
      || `sentinelle-case-${alert.id}.zip`;
    const url = URL.createObjectURL(await response.blob());
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = name;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    line.textContent = t("caseFileSaved", name);
  } catch (error) {
    line.textContent = explain(error);
  }
}

function renderSightings(sightings) {
  const size = new Intl.NumberFormat(uiLanguage(), { style: "unit", unit: "kilobyte", maximumFractionDigits: 0 });
  document.getElementById("sightings").replaceChildren(...sightings.map((sighting) => {
    const tr = document.createElement("tr");
    const cells = [dateTime(sighting.seen_at), link(sighting.page_url) || "—",
                   link(sighting.image_url) || sighting.image_url, size.format(sighting.evidence_bytes / 1000)];
    tr.append(...cells.map((cell) => {
      const td = document.createElement("td");
      td.append(cell);
      return td;
    }));
    return tr;
  }));
}

function renderNextSteps(alert) {
  if (!alert || !page.nextSteps) return;
  const select = document.getElementById("country");
  const language = uiLanguage().toLowerCase().startsWith("fr") ? "fr" : "en";
  const { countries } = page.nextSteps;
  if (!select.options.length) {
    select.append(...Object.entries(countries).map(([code, country]) => {
      const option = text("option", country.name[language]);
      option.value = code;
      return option;
    }));
  }
  pickCountry(countries).then((code) => {
    select.value = code;
    const impersonation = isImpersonation(alert);
    const steps = stepsFor(page.nextSteps, alert.platform, code, language, { impersonation });
    document.getElementById("platform-steps-heading").textContent = impersonation
      ? t("nextStepsImpersonation", platformName(alert.platform))
      : t("nextStepsPlatform", platformName(alert.platform));
    document.getElementById("platform-steps").replaceChildren(...steps.platform.map(stepItem));
    document.getElementById("country-steps-heading").textContent = t("nextStepsHelp", steps.countryName);
    document.getElementById("country-steps").replaceChildren(...steps.country.map(stepItem));
    document.getElementById("advice").replaceChildren(...steps.advice.map((advice) => text("li", advice)));
  });
}

function stepItem(step) {
  const item = document.createElement("li");
  const url = safeUrl(step.url);
  if (url) {
    const anchor = text("a", step.label);
    anchor.href = url;
    anchor.target = "_blank";
    anchor.rel = "noopener noreferrer";
    item.append(anchor);
  } else {
    item.append(step.label);
  }
  if (step.phone) {
    const phone = text("a", step.phone, "phone");
    phone.href = `tel:${step.phone.replace(/[^\d+]/g, "")}`;
    item.append(" ", phone);
  }
  return item;
}

/** A link that opens in a new tab, for an http(s) address; null for anything else. */
function link(address) {
  const url = safeUrl(address);
  if (!url) return null;
  const anchor = text("a", url);
  anchor.href = url;
  anchor.target = "_blank";
  anchor.rel = "noopener noreferrer";
  return anchor;
}

function showNotice(message) {
  const notice = document.getElementById("notice");
  notice.hidden = !message;
  document.getElementById("notice-text").textContent = message || "";
}

main();
