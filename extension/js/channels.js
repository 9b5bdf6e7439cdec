// The options page's channels: where alerts reach the parent away from this PC (their phone, their
// mailbox), through Apprise, as `sentinelle notify` sets them: add (POST /api/notify/channels),
// test, details on or off, remove (two clicks), and when the parent hears of what can wait and of
// nothing at all (PUT /api/notify/hours). A channel's URL holds its secrets: the page sends it once
// and only ever gets it back masked (`shown`). A channel that fails says since when and why.

import { Api, ApiError } from "./api.js";
import { dateTime, t, tn } from "./i18n.js";
import { explain, fromTemplate, localize, say, twoClicks } from "./page.js";

const $ = (id) => document.getElementById(id);

/** Wire the forms once; the list fills when `listChannels` is called with a working API. */
export function setUpChannels() {
  $("channel-form").addEventListener("submit", (event) => {
    event.preventDefault();
    add();
  });
  $("hours-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveHours();
  });
  $("quiet-on").addEventListener("change", showQuietTimes);
}

export function enableChannels(enabled) {
  $("channel-fields").disabled = !enabled;
  $("hours-fields").disabled = !enabled;
}

/** Show the channels and the hours Sentinelle keeps. */
export async function listChannels(api) {
  let settings;
  try {
    settings = await api.notifySettings();
  } catch (error) {
    $("channels-count").textContent = explain(error);
    return;
  }
  $("channels-count").textContent = settings.channels.length ? "" : t("channelsNone");
  $("channels").replaceChildren(...settings.channels.map((channel) => channelItem(api, channel)));
  showHours(settings.hours);
}

export function clearChannels() {
  $("channels").replaceChildren();
  $("channels-count").textContent = "";
}

async function add() {
  const url = $("channel-url").value.trim();
  if (!url) {
    say("channel-status", t("channelUrlMissing"), "error");
    return;
  }
  say("channel-status", t("statusSaving"), "info");
  try {
    const api = await Api.fromStorage();
    const added = await api.addChannel({
      url, name: $("channel-name").value.split(/\s+/).filter(Boolean).join(" "), details: $("channel-details").checked,
    });
    $("channel-form").reset(); // the URL and its secret leave the page
    say("channel-status", t("channelAdded", added.name), "ok");
    await listChannels(api);
  } catch (error) {
    say("channel-status", explain(error), "error");
  }
}

function channelItem(api, channel) {
  const item = fromTemplate("channel-item");
  localize(item);
  item.dataset.channel = channel.name;
  item.querySelector(".channel-name").textContent = channel.name;
  item.querySelector(".channel-shown").textContent = channel.shown;
  const state = item.querySelector(".channel-state");
  state.textContent = stateOf(channel);
  state.dataset.tone = channel.failures ? "error" : "info";
  const details = item.querySelector(".channel-details input");
  details.checked = channel.details;
  details.addEventListener("change", async () => {
    try {
      await api.setChannelDetails(channel.id, details.checked);
    } catch (error) {
      details.checked = !details.checked;
      say("channel-status", explain(error), "error");
    }
  });
  const test = item.querySelector(".channel-test");
  test.addEventListener("click", async () => {
    test.disabled = true;
    say("channel-status", t("channelTesting", channel.name), "info");
    try {
      await api.testChannel(channel.id);
      say("channel-status", t("channelTested", channel.name), "ok");
      await listChannels(api); // what waited is on its way
    } catch (error) {
      const why = error instanceof ApiError && error.kind === "http" ? t("channelTestFailed", [channel.name, error.message])
        : explain(error);
      say("channel-status", why, "error");
      await listChannels(api);
    } finally {
      test.disabled = false;
    }
  });
  twoClicks(item.querySelector(".channel-remove"), t("channelRemoveConfirm"), async () => {
    const removed = await api.removeChannel(channel.id);
    say("channel-status", t("channelRemoved", removed.name), "ok");
    await listChannels(api);
  }, { failed: (error) => say("channel-status", explain(error), "error") });
  return item;
}

/** How a channel is doing: working (and when it last sent), or failing since when, why, and what waits. */
function stateOf(channel) {
  const waiting = channel.pending ? ` ${tn("channelWaiting", channel.pending)}` : "";
  if (channel.failures) {
    return t("channelFailing", [dateTime(channel.failing_since), channel.failures, channel.last_error,
                                dateTime(channel.next_try_at)]) + waiting;
  }
  return (channel.last_sent_at ? t("channelWorks", dateTime(channel.last_sent_at)) : t("channelNothingSent")) + waiting;
}

function showHours(hours) {
  $("digest-at").value = hours.digest;
  $("quiet-on").checked = Boolean(hours.quiet);
  [$("quiet-from").value, $("quiet-until").value] = hours.quiet || ["22:00", "07:00"];
  showQuietTimes();
}

function showQuietTimes() {
  for (const id of ["quiet-from", "quiet-until"]) $(id).disabled = !$("quiet-on").checked;
}

async function saveHours() {
  const hours = {
    digest: $("digest-at").value,
    quiet: $("quiet-on").checked ? [$("quiet-from").value, $("quiet-until").value] : null,
  };
  say("hours-status", t("statusSaving"), "info");
  try {
    const api = await Api.fromStorage();
    const kept = await api.setNotifyHours(hours);
    showHours(kept);
    say("hours-status", kept.quiet ? t("hoursSaved", [kept.digest, ...kept.quiet]) : t("hoursSavedNoQuiet", kept.digest),
        "ok");
  } catch (error) {
    say("hours-status", explain(error), "error");
  }
}
