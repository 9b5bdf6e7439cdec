// Every string the parent reads comes from _locales/<lang>/messages.json, in pages and worker
// alike (pages fill their markup with `localize` from page.js).

/** The message `key`, with `substitutions` ($1, $2…); the key itself if it is missing, so a gap shows. */
export function t(key, substitutions) {
  const subs = substitutions === undefined ? undefined : [].concat(substitutions).map(String);
  return chrome.i18n.getMessage(key, subs) || key;
}

/** A message that depends on a count: `key_one` or `key_other`, by the language's plural rules. */
export function tn(key, count) {
  const form = new Intl.PluralRules(uiLanguage()).select(count) === "one" ? "one" : "other";
  return t(`${key}_${form}`, count);
}

/** The browser's UI language, as a BCP 47 tag ("fr", "en-US"). */
export function uiLanguage() {
  return chrome.i18n.getUILanguage();
}

/** "3 minutes ago", in the UI language. */
export function relativeTime(iso, now = Date.now()) {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const format = new Intl.RelativeTimeFormat(uiLanguage(), { numeric: "auto" });
  const steps = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
                 ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(0, "second");
}

/** A date and time the parent can read, in the UI language and the local time zone. */
export function dateTime(iso) {
  return new Intl.DateTimeFormat(uiLanguage(), { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(iso));
}

export function platformName(platform) {
  const name = chrome.i18n.getMessage(`platform_${platform}`);
  return name || platform || t("platform_other");
}

export function statusName(status) {
  return t(`status_${status}`);
}
