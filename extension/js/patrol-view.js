// What the popup and the review page show of the patrol: for each network, when it was last
// looked at, for what, what was found, and what stopped it (GET /api/patrol, the same as
// `sentinelle patrol`), and the note the worker left of the last run (chrome.storage.local).

import { dateTime, platformName, relativeTime, t } from "./i18n.js";
import { listen } from "./messaging.js";
import { text } from "./page.js";

// Why a network was stopped, in the parent's words (server/store/patrol.py STOPPING).
const STOPPED = Object.freeze({
  login: "patrolStoppedLogin",
  challenge: "patrolStoppedChallenge",
  unreachable: "patrolStoppedUnreachable",
  timeout: "patrolStoppedTimeout",
  interrupted: "patrolStoppedInterrupted",
});

/** Fill `#patrol-note` and `#patrol-networks` from the API, and again whenever a run moves on. */
export function showPatrol(api) {
  const list = document.getElementById("patrol-networks");
  if (!list.dataset.listening) { // a page shows its patrol more than once: one listener
    list.dataset.listening = "yes";
    listen("patrolChanged", () => render(api).catch(() => {}));
  }
  return render(api);
}

async function render(api) {
  const [summary, { patrolNote }] = await Promise.all([
    api.patrol(), chrome.storage.local.get("patrolNote")]);
  const note = document.getElementById("patrol-note");
  note.textContent = noteText(patrolNote, summary.networks.length);
  note.dataset.key = patrolNote?.key || "";
  document.getElementById("patrol-networks").replaceChildren(...summary.networks.map(networkLine));
}

function noteText(patrolNote, networks) {
  if (patrolNote && patrolNote.key !== "patrolNoteDone") return t(patrolNote.key);
  if (patrolNote) return t("patrolNoteDone", relativeTime(new Date(patrolNote.at).toISOString()));
  return networks ? "" : t("patrolNever");
}

function networkLine(network) {
  const item = document.createElement("li");
  item.dataset.platform = network.platform;
  item.dataset.stopped = network.stopped || "";
  const looked = network.looks.map((look) => (look.what === "profile" ? `@${look.term}` : `"${look.term}"`)).join(", ");
  const line = text("span", t("patrolLine", [platformName(network.platform), relativeTime(network.looked_at), looked]));
  line.title = dateTime(network.looked_at);
  const found = [
    ...network.found.alerts.map((alert) => t("patrolFoundAlert", alert.id)),
    ...network.found.watch.map((handle) => t("patrolFoundWatch", handle)),
  ];
  item.append(line, " — ", text("span", found.length ? t("patrolFound", found.join(", ")) : t("patrolFoundNothing"), "found"));
  if (network.stopped) item.append(text("p", t(STOPPED[network.stopped]), "stopped"));
  return item;
}
