// The options page: pairing with `sentinelle run` (address and token), the switch that sends only
// the social networks through Sentinelle, enrolling photos from the browser (drag and drop or file
// picker, several at once, with progress), the enrolled list, each child's names and own
// accounts (children.js), and the channels that reach the parent's phone or mailbox (channels.js).

import { Api, ApiError } from "./api.js";
import { clearChannels, enableChannels, listChannels, setUpChannels } from "./channels.js";
import { enableChildren, listChildren, setUpChildren } from "./children.js";
import { dateTime, t, tn } from "./i18n.js";
import { send } from "./messaging.js";
import { setUpPatrol } from "./patrol-options.js";
import { explain, fromTemplate, localize, say, showApiImage, twoClicks } from "./page.js";
import { applyProxy, clearProxy, proxyStatus, refreshProxy, routesEachRequest, socialOrigins } from "./proxy.js";
import { SettingsError, clearPairing, getPairing, getServer, normaliseServer, savePairing } from "./settings.js";

const $ = (id) => document.getElementById(id);

async function main() {
  localize();
  $("extension-id").textContent = chrome.runtime.id;
  $("server").value = await getServer();
  $("pairing").addEventListener("submit", (event) => {
    event.preventDefault();
    connect();
  });
  $("unpair").addEventListener("click", unpair);
  $("proxy-switch").addEventListener("change", (event) => switchProxy(event.target.checked));
  $("open-log").addEventListener("click", () => chrome.tabs.create({ url: chrome.runtime.getURL("review.html") }));
  $("files").addEventListener("change", (event) => {
    enroll([...event.target.files]);
    event.target.value = "";
  });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    enroll([...event.dataTransfer.files]);
  });
  setUpChildren(listPhotos);
  setUpChannels();
  await Promise.all([showPairing(), showProxy(), setUpPatrol()]);
}

// -- pairing ---------------------------------------------------------------------------

async function showPairing() {
  const pairing = await getPairing();
  $("unpair").hidden = !pairing;
  if (!pairing) {
    say("pairing-status", t("pairingNone"), "info");
    enableEnrollment(false);
    return;
  }
  try {
    const api = new Api(pairing.server, pairing.token);
    await describeServer(api);
    enableEnrollment(true);
    await Promise.all([listPhotos(api), listChildren(api), listChannels(api)]);
  } catch (error) {
    say("pairing-status", explain(error), "error");
    enableEnrollment(false);
  }
}

/** Check the address, then the token, and say which one is wrong; save them only when both work. */
async function connect() {
  let server;
  try {
    server = normaliseServer($("server").value);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    say("pairing-status", t(error.key), "error");
    return;
  }
  const token = $("token").value.trim();
  if (!token) {
    say("pairing-status", t("errorTokenMissing"), "error");
    return;
  }
  // Chromium grants the host permissions at install; Firefox may leave them to the parent and
  // asks only during a click, so this comes before any await. (Already granted: no prompt.)
  const origins = { origins: [`http://${new URL(server).hostname}/*`] }; // Firefox: no port in patterns
  const granted = await chrome.permissions.request(origins)
    .catch(() => chrome.permissions.contains(origins)); // not from a click: granted or not
  if (!granted) {
    say("pairing-status", t("errorPermission", server), "error");
    return;
  }
  say("pairing-status", t("pairingChecking", server), "info");
  const api = new Api(server, token);
  try {
    await api.health();
  } catch (error) {
    say("pairing-status", error instanceof ApiError && error.kind === "unreachable"
      ? t("errorUnreachableAt", server) : explain(error), "error");
    return;
  }
  try {
    await describeServer(api);
  } catch (error) {
    say("pairing-status", explain(error), "error");
    return;
  }
  await savePairing(server, token);
  $("token").value = "";
  $("server").value = server;
  $("unpair").hidden = false;
  enableEnrollment(true);
  send("sync").catch(() => {});
  await Promise.all([listPhotos(api), listChildren(api), listChannels(api)]);
}

async function describeServer(api) {
  const [health, stats] = await Promise.all([api.health(), api.stats()]);
  say("pairing-status", t("pairingConnected", [api.server, health.version, stats.photos, stats.alerts]), "ok");
}

async function unpair() {
  await clearPairing();
  $("unpair").hidden = true;
  $("photos").replaceChildren();
  $("photos-count").textContent = "";
  $("children").replaceChildren();
  $("children-count").textContent = "";
  clearChannels();
  send("sync").catch(() => {});
  await showPairing();
}

// -- the proxy switch ------------------------------------------------------------------

async function showProxy() {
  let status = await proxyStatus();
  if (status.problem === "errorProxyNotApplied") {
    // The browser dropped the rules (proxy.js): the kept ones again, rather than asking the parent to.
    await refreshProxy();
    status = await proxyStatus();
  }
  const { on, route, problem } = status;
  $("proxy-switch").checked = on;
  if (problem) say("proxy-status", t(problem), "error");
  else if (on && route) say("proxy-status", t("proxyOn", [route.host, route.port]), "ok");
  else say("proxy-status", "", "info");
}

async function switchProxy(on) {
  const box = $("proxy-switch");
  box.disabled = true;
  try {
    if (on) {
      // Firefox consults the extension only for hosts it may reach, and asks the parent only
      // during a click, so this comes before any await. (Already granted: no prompt.)
      if (routesEachRequest()) {
        const origins = { origins: socialOrigins() };
        const granted = await chrome.permissions.request(origins)
          .catch(() => chrome.permissions.contains(origins));
        if (!granted) throw new SettingsError("errorProxyPermission");
      }
      say("proxy-status", t("proxyApplying"), "info");
      const route = await applyProxy();
      say("proxy-status", t("proxyOn", [route.host, route.port]), "ok");
    } else {
      await clearProxy();
      say("proxy-status", t("proxyOff"), "info");
    }
  } catch (error) {
    box.checked = !on;
    say("proxy-status", error instanceof SettingsError ? t(error.key) : explain(error), "error");
  } finally {
    box.disabled = false;
  }
}

// -- enrollment ------------------------------------------------------------------------

function enableEnrollment(enabled) {
  $("files").disabled = !enabled;
  $("drop-zone").classList.toggle("disabled", !enabled);
  enableChildren(enabled);
  enableChannels(enabled);
}

/** Enroll the files one request each, so the progress moves and one bad file spoils nothing. */
async function enroll(files) {
  if (!files.length) return;
  let api;
  try {
    api = await Api.fromStorage();
  } catch (error) {
    say("pairing-status", explain(error), "error");
    return;
  }
  const child = $("child").value.split(/\s+/).filter(Boolean).join(" ");
  const results = $("enroll-results");
  results.replaceChildren();
  say("enroll-chosen", "", "info");
  $("progress-box").hidden = false;
  $("progress").max = files.length;
  const counts = { enrolled: 0, already: 0, skipped: 0 };
  for (const [index, file] of files.entries()) {
    $("progress").value = index;
    $("progress-text").textContent = t("enrollProgress", [index + 1, files.length, file.name]);
    let outcome;
    try {
      [outcome] = await api.enroll([file], child);
    } catch (error) {
      outcome = { file: file.name, status: "skipped", reason: explain(error) };
    }
    const whose = outcome.status === "enrolled" && outcome.photo?.child;
    if (child && whose && whose !== child) {
      // One child, one name: the server gave the photos to the child the name means.
      say("enroll-chosen", t("enrollMeant", [child, whose]), "info");
      $("child").value = whose;
    }
    const key = { enrolled: "enrolled", "already enrolled": "already" }[outcome.status] || "skipped";
    counts[key] += 1;
    results.append(resultItem(file.name, key, outcome.reason));
  }
  $("progress").value = files.length;
  $("progress-text").textContent = t("enrollDone", [counts.enrolled, counts.already, counts.skipped]);
  $("progress-box").dataset.done = "true";
  await Promise.all([listPhotos(api), listChildren(api)]); // a new child's photos count there too
}

function resultItem(name, key, reason) {
  const item = document.createElement("li");
  item.className = `result ${key}`;
  item.dataset.file = name;
  const words = { enrolled: t("enrollEnrolled"), already: t("enrollAlready"),
                  skipped: reason ? t("enrollSkippedWhy", reason) : t("enrollSkipped") }[key];
  item.append(Object.assign(document.createElement("strong"), { textContent: name }), ` — ${words}`);
  return item;
}

// -- enrolled photos -------------------------------------------------------------------

async function listPhotos(api) {
  let photos;
  try {
    photos = await api.photos();
  } catch (error) {
    $("photos-count").textContent = explain(error);
    return;
  }
  $("photos-count").textContent = photos.length ? tn("photosCount", photos.length) : t("photosNone");
  $("photos").replaceChildren(...photos.map((photo) => photoItem(api, photo)));
}

function photoItem(api, photo) {
  const item = fromTemplate("photo-item");
  localize(item);
  item.dataset.photoId = photo.id;
  const img = item.querySelector("img");
  img.alt = photo.name;
  showApiImage(img, api, `/api/photos/${photo.id}/thumbnail`);
  item.querySelector(".photo-name").textContent = photo.name;
  item.querySelector(".photo-child").textContent = photo.child || "";
  item.querySelector(".photo-date").textContent = t("photoEnrolledOn", dateTime(photo.enrolled_at));
  const forget = item.querySelector(".forget");
  twoClicks(forget, t("photoForgetConfirm"), async () => {
    await api.forgetPhoto(photo.id);
    await listPhotos(api);
  }, { failed: (error) => { forget.textContent = explain(error); } });
  return item;
}

main();
