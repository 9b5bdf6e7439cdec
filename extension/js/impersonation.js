// Accounts that pretend to be the child, in words: an impersonation alert (an account whose name
// looks like hers shows her photo) and a watch-list entry (an account that only looks like her)
// both say what of the account looked like what of hers. Shared by the worker (notifications),
// the popup and the review page; no DOM here.

import { named, t } from "./i18n.js";
import { handle } from "./places.js";

// The server's `field` (what of the account) and `what` (what of hers), each to its sentence.
const RESEMBLANCE_KEYS = Object.freeze({
  handle: Object.freeze({
    "full name": "resemblanceHandleFullName",
    "own handle": "resemblanceHandleOwnHandle",
    "nickname and last name": "resemblanceHandleNickname",
  }),
  "display name": Object.freeze({
    "full name": "resemblanceNameFullName",
    "own handle": "resemblanceNameOwnHandle",
    "nickname and last name": "resemblanceNameNickname",
  }),
});

export function isImpersonation(alert) {
  return alert?.kind === "impersonation";
}

/** "its handle looks like Léa Martin's full name", from `{ child, field, what }` (an alert's
 *  `resemblance`, or a watch-list entry); null when there is nothing to say. */
export function resemblanceText(resemblance) {
  if (!resemblance?.child) return null;
  const key = RESEMBLANCE_KEYS[resemblance.field]?.[resemblance.what] || "resemblanceOther";
  return t(key, named(resemblance.child));
}

/** A sentence's first letter in upper case ("its handle…" → "Its handle…"), in any language. */
export function capitalised(sentence) {
  return sentence.charAt(0).toLocaleUpperCase() + sentence.slice(1);
}

/** Whom an impersonation alert pretends to be: the child its name resembles, else the photo's. */
export function impersonated(alert) {
  return alert.resemblance?.child || alert.child || t("theChild");
}

/** The account that pretends to be her, as its network writes it ("@fake.account"). */
export function impostor(alert) {
  return alert.account ? handle(alert.platform, alert.account) : t("anAccount");
}

/** "@fake.account pretends to be Alice Dupont": the account, never the photo, pretends. */
export function pretendsToBe(alert) {
  return t("pretendsToBe", [impostor(alert), named(impersonated(alert))]);
}
