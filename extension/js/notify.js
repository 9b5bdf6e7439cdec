// System notifications for new alerts, with the protected photo as the icon where the browser allows.
// An impersonation alert says so first: an account that pretends to be the child is worse news
// than a copy of her photo, and the parent should know which one this is before clicking.

import { named, platformName, t } from "./i18n.js";
import { capitalised, isImpersonation, pretendsToBe, resemblanceText } from "./impersonation.js";
import { accountOf, placeLabel } from "./places.js";

const PREFIX = "alert-";
// Larger evidence stays out of the notification (it is on the review page in full).
const MAX_NOTIFICATION_IMAGE = 1024 * 1024;

export function notificationId(alertId) {
  return PREFIX + alertId;
}

/** The alert id a notification is about, or null for another notification. */
export function alertIdOf(notificationId) {
  return notificationId.startsWith(PREFIX) ? Number(notificationId.slice(PREFIX.length)) : null;
}

export async function notifyAlert(api, alert) {
  const fallbackIcon = chrome.runtime.getURL("icons/icon-128.png");
  const photo = await dataUrlOf(api, alert.photo_url);
  const evidence = await dataUrlOf(api, alert.evidence_url, MAX_NOTIFICATION_IMAGE);
  const options = {
    type: "basic",
    iconUrl: photo || fallbackIcon,
    ...(isImpersonation(alert) ? impersonationWords(alert) : copyWords(alert)),
    priority: 2,
  };
  const id = notificationId(alert.id);
  // A copy notified before may come back as an impersonation: the new words replace the old.
  await chrome.notifications.clear(id).catch(() => false);
  // Richest first: Chromium shows what was seen beside the protected photo; Firefox knows only
  // "basic"; and an image the browser cannot use must never cost the parent the notification.
  const attempts = [
    evidence && { ...options, type: "image", imageUrl: evidence },
    options,
    { ...options, iconUrl: fallbackIcon },
  ].filter(Boolean);
  for (const [index, attempt] of attempts.entries()) {
    try {
      return await chrome.notifications.create(id, attempt);
    } catch (error) {
      if (index === attempts.length - 1) throw error;
    }
  }
  return null;
}

/** A copy: whose photo, where, and who showed it. */
function copyWords(alert) {
  const place = accountOf(alert);
  const where = place ? placeLabel(alert, place) : alert.host;
  return {
    title: alert.child ? t("notificationTitleChild", named(alert.child)) : t("notificationTitle"),
    message: t("notificationMessage", [alert.photo_name || "?", platformName(alert.platform), where]),
    contextMessage: t("notificationContext"),
  };
}

/** "@lea.martin.2013 pretends to be Léa Martin" — "On Instagram, it uses her photo as its
 *  profile picture" — "Its handle looks like Léa Martin's full name". */
function impersonationWords(alert) {
  const platform = platformName(alert.platform);
  const message = alert.shown_as === "profile_picture"
    ? t("notificationImpersonationPicture", platform)
    : t("notificationImpersonationPost", [platform, alert.photo_name || "?"]);
  const why = resemblanceText(alert.resemblance);
  return {
    title: pretendsToBe(alert),
    message,
    contextMessage: why ? capitalised(why) : t("notificationContext"),
  };
}

/** An API image as a data: URL (notifications cannot send the token), or null. */
async function dataUrlOf(api, path, maxBytes = Infinity) {
  try {
    const blob = await api.blob(path);
    if (blob.size > maxBytes || !blob.type.startsWith("image/")) return null;
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return `data:${blob.type};base64,${btoa(binary)}`;
  } catch {
    return null; // the photo was forgotten since, or the evidence is gone: notify without it
  }
}
