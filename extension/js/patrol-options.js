// The options page's "Looking for her every day": Remind me (the default), Look for me (opt-in,
// explained first), or neither, and the hour (or, for Look for me, when the computer is idle). Saved in chrome.storage.local; the worker sets its
// daily alarm when they change (patrol-run.js).

import { t } from "./i18n.js";
import { getPatrolSettings, savePatrolSettings } from "./patrol.js";
import { getProxySwitch } from "./settings.js";

const $ = (id) => document.getElementById(id);
const IDLE = "idle"; // the hour list's last choice
const MODE_WORDS = Object.freeze({ remind: "patrolModeRemind", look: "patrolModeLook", off: "patrolModeOff" });

export async function setUpPatrol() {
  const hours = $("patrol-hour");
  hours.replaceChildren(...Array.from({ length: 24 }, (_, hour) => {
    const option = document.createElement("option");
    option.value = String(hour);
    option.textContent = `${String(hour).padStart(2, "0")}:00`;
    return option;
  }), new Option(t("patrolWhenIdle"), IDLE));
  const { mode, hour, idle } = await getPatrolSettings();
  $(`patrol-${mode}`).checked = true;
  hours.value = idle ? IDLE : String(hour);
  for (const input of document.querySelectorAll("input[name=patrol-mode]")) input.addEventListener("change", save);
  hours.addEventListener("change", save);
  await warn();
}

async function save() {
  const mode = document.querySelector("input[name=patrol-mode]:checked").value;
  const chosen = $("patrol-hour").value;
  const idle = chosen === IDLE;
  await savePatrolSettings({ mode, hour: idle ? (await getPatrolSettings()).hour : Number(chosen), idle });
  await warn(t("patrolSaved", t(MODE_WORDS[mode])));
}

/** Look for me without the switch looks at nothing: the parent is told, not left to wonder. */
async function warn(saved) {
  const { mode } = await getPatrolSettings();
  const status = $("patrol-status");
  if (mode === "look" && !(await getProxySwitch())) {
    status.textContent = t("patrolNeedsSwitch");
    status.dataset.tone = "error";
  } else {
    status.textContent = saved || "";
    status.dataset.tone = saved ? "ok" : "info";
  }
}
