// The pairing with the server (address and token) and the proxy switch live in chrome.storage.local,
// and nowhere else: the worker, the popup and every page read them from there each time they need it.

import { forgetSession } from "./trust.js";

export const DEFAULT_SERVER = "http://127.0.0.1:8765";
// The server answers only on loopback, and the manifest grants the extension only these hosts.
const LOOPBACK_HOSTS = Object.freeze(["127.0.0.1", "localhost"]);

export class SettingsError extends Error {
  constructor(key) {
    super(key);
    this.key = key; // a message key of _locales
  }
}

/**
 * `http://127.0.0.1:8765/` → `http://127.0.0.1:8765`; throws SettingsError for anything else.
 * `localhost` becomes 127.0.0.1, where Sentinelle listens: the name may also lead to ::1, where
 * another program could listen and relay the handshake to Sentinelle.
 */
export function normaliseServer(text) {
  let url;
  try {
    url = new URL(String(text).trim() || DEFAULT_SERVER);
  } catch {
    throw new SettingsError("errorServerInvalid");
  }
  if (url.protocol !== "http:" || !LOOPBACK_HOSTS.includes(url.hostname)) {
    throw new SettingsError("errorServerNotLoopback");
  }
  url.hostname = "127.0.0.1";
  return url.origin;
}

/** { server, token } once paired, else null. */
export async function getPairing() {
  const { server, token } = await chrome.storage.local.get(["server", "token"]);
  return server && token ? { server: normaliseServer(server), token } : null; // saved by an older version: localhost
}

/** The address to show in the options page: the paired one, else the default. */
export async function getServer() {
  const { server } = await chrome.storage.local.get("server");
  return server || DEFAULT_SERVER;
}

/** Pair with a server. What was known of the previous one (notified alerts) is forgotten. */
export async function savePairing(server, token) {
  await chrome.storage.local.remove(["lastNotifiedId", "impersonationsNotified"]);
  await forgetSession();
  await chrome.storage.local.set({ server: normaliseServer(server), token: token.trim() });
}

export async function clearPairing() {
  await chrome.storage.local.remove(["token", "lastNotifiedId", "impersonationsNotified"]);
  await forgetSession();
}

/** Where the worker's link to the server stands, for the pages to show (chrome.storage.session). */
export async function getLink() {
  const { link } = await chrome.storage.session.get("link");
  return link || { state: "idle" };
}

export async function setLink(link) {
  await chrome.storage.session.set({ link: { ...link, at: Date.now() } });
}

/** Whether the parent switched on "Send only social networks through Sentinelle" (off by default). */
export async function getProxySwitch() {
  const { proxyOn } = await chrome.storage.local.get("proxyOn");
  return proxyOn === true;
}

/** The switch and, while it is on, the route the extension applied: `{ host, port, domains }`. */
export async function getProxyRoute() {
  const { proxyOn, proxyRoute } = await chrome.storage.local.get(["proxyOn", "proxyRoute"]);
  return proxyOn === true && proxyRoute ? proxyRoute : null;
}

export async function saveProxyRoute(route) {
  await chrome.storage.local.set({ proxyOn: true, proxyRoute: route });
}

export async function clearProxyRoute() {
  await chrome.storage.local.set({ proxyOn: false });
  await chrome.storage.local.remove("proxyRoute");
}
