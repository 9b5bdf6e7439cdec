// Every string the parent reads comes from _locales/<lang>/messages.json, in pages and worker
// alike (pages fill their markup with `localize` from page.js).

/** The message `key`, with `substitutions` ($1, $2…); the key itself if it is missing, so a gap shows.
 *  A substitution made by `named` is joined to the word before it as the language writes it. */
export function t(key, substitutions) {
  const subs = substitutions === undefined ? undefined : [].concat(substitutions).map(String);
  return elide(chrome.i18n.getMessage(key, subs) || key, uiLanguage());
}

// A name put into a message begins with this (invisible) mark until `t` has joined it to the
// word before it; the mark never reaches the page.
const NAME = "\u2063";

/** A child's name (or any name) to put into a message: French elides the word before it. */
export function named(name) {
  return NAME + name;
}

// The words French writes without their last letter before a vowel sound: "d'Alice", not "de Alice".
const FRENCH_ELIDING = /(?<!\p{L})(de|que|le|la|jusque|lorsque|puisque|quoique) \u2063/giu;
const VOWELS = "aeiouyæœ";

/** Whether a French word or name begins with a vowel sound: a vowel (accents aside), an h before a
 *  vowel (mute in nearly every first name: Hélène, Hugo), a y before a consonant (Yves, not Yann). */
export function vowelSound(word) {
  const [first = "", second = ""] = word.normalize("NFD").replace(/\p{M}/gu, "").toLocaleLowerCase("fr");
  const vowel = (letter) => letter !== "" && VOWELS.includes(letter);
  if (first === "h") return vowel(second);
  if (first === "y") return /\p{L}/u.test(second) && !vowel(second);
  return vowel(first);
}

/** `message` with the word before each `named` part elided where `language` does ("fr": "de
 *  Alice" → "d'Alice", "de Léa" stays), and the marks taken out. */
export function elide(message, language) {
  const joined = language.toLowerCase().startsWith("fr")
    ? message.replace(FRENCH_ELIDING, (whole, word, offset) =>
      (vowelSound(message.slice(offset + whole.length)) ? `${word.slice(0, -1)}'` : whole))
    : message;
  return joined.replaceAll(NAME, "");
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
