// Who posted an alert's image, or where it was seen: the account the network's feed named
// (the server reads it), else the account or page read from the page address the browser
// sent with the image (its Referer), when it sent one.

import { t } from "./i18n.js";

// Path words that are sections of a site, not account names.
const NOT_ACCOUNTS = Object.freeze([
  "p", "reel", "reels", "explore", "stories", "accounts", "direct", "tv", "home", "i", "search",
  "notifications", "messages", "settings", "watch", "groups", "photo", "photo.php", "photos",
  "permalink.php", "story.php", "profile.php", "marketplace", "pin", "ideas", "hashtag", "login",
  "status", "share", "video", "foryou", "following", "friends", "r", "u", "user", "add", "web",
]);

/** An http(s) URL string, or null: addresses from the wire are never used as links otherwise. */
export function safeUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** { kind: "account" | "page", label, url } for the alert, or null when it is unknown. */
export function accountOf(alert) {
  const posted = alert.account && (safeUrl(alert.account_url) || safeUrl(alert.post_url) || safeUrl(alert.page_url));
  if (posted) return { kind: "account", label: handle(alert.platform, alert.account), url: posted };
  // Known by its id alone until a feed names it: its post is the address to open.
  const byId = !alert.account && alert.account_id && (safeUrl(alert.post_url) || safeUrl(alert.page_url));
  if (byId) return { kind: "account", label: t("accountById", alert.account_id), url: byId };
  const url = safeUrl(alert.page_url);
  if (!url) return null;
  const { hostname, pathname } = new URL(url);
  const host = hostname.replace(/^(www|m|mobile|web)\./, "");
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const account = accountName(host, parts);
  if (account) return { kind: "account", label: account, url };
  return { kind: "page", label: host + (pathname.length > 1 ? pathname : ""), url };
}

/** { label, url } of who posted a re-posted copy first, as the feed named them, or null. */
export function firstPosterOf(alert) {
  if (!alert.first_account) return null;
  return {
    label: handle(alert.platform, alert.first_account),
    url: safeUrl(alert.first_post_url) || safeUrl(alert.first_account_url),
  };
}

/** The place of an alert in a line: who showed the copy, and who posted it first, whose
 *  profile picture it is, or whose story it was in. */
export function placeLabel(alert, place) {
  if (alert.account && alert.shown_as === "profile_picture") return t("profilePictureOf", place.label);
  if (alert.shown_as === "story") return t("storyOf", place.label);
  const first = alert.account && firstPosterOf(alert);
  return first ? t("repostedFrom", [place.label, first.label]) : place.label;
}

/** An account as its network writes it: @name, u/name on Reddit (a community: r/name), the bare
 *  name on Pinterest. */
export function handle(platform, account) {
  if (platform === "reddit") return account.startsWith("r/") ? account : `u/${account}`;
  return platform === "pinterest" ? account : `@${account}`;
}

function accountName(host, [first = "", second = ""]) {
  const site = host.split(".").slice(-2, -1)[0];
  if (first.startsWith("@")) return first; // tiktok.com/@name
  if (site === "reddit") {
    if (first === "r" && second) return `r/${second}`;
    if ((first === "user" || first === "u") && second) return `u/${second}`;
    return null;
  }
  if (site === "instagram" && first === "stories" && second) return `@${second}`;
  if (site === "snapchat" && first === "add" && second) return second;
  if (site === "facebook" && first === "groups" && second) return second;
  if (!first || NOT_ACCOUNTS.includes(first.toLowerCase()) || !/^[\w.-]{1,64}$/.test(first)) return null;
  return ["instagram", "twitter", "x", "threads"].includes(site) ? `@${first}` : first;
}
