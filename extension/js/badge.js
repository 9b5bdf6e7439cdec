// The action's badge: the number of unreviewed alerts, or "!" when the server cannot be read.

import { t, tn } from "./i18n.js";

const ALERT_RED = "#c62828";
const TROUBLE_GREY = "#616161";

export async function showCount(count) {
  await chrome.action.setBadgeBackgroundColor({ color: ALERT_RED });
  await chrome.action.setBadgeText({ text: count > 0 ? String(count) : "" });
  await chrome.action.setTitle({
    title: count > 0 ? tn("badgeUnreviewed", count) : t("badgeAllReviewed"),
  });
}

/** The server cannot be read: say so on the button; `messageKey` explains why. */
export async function showTrouble(messageKey) {
  await chrome.action.setBadgeBackgroundColor({ color: TROUBLE_GREY });
  await chrome.action.setBadgeText({ text: messageKey === "errorNotPaired" ? "" : "!" });
  await chrome.action.setTitle({ title: `${t("extName")}: ${t(messageKey)}` });
}
