// "Send only social networks through Sentinelle": the switch in the options page. The social
// networks' requests go to Sentinelle's proxy, every other request goes direct.
//
//  - Chromium: chrome.proxy with the server's PAC script embedded (`pacScript.data`). With the
//    script held by the browser, a social network fails to load while Sentinelle is stopped
//    rather than loading unwatched (a PAC `url` that cannot be fetched sends everything direct).
//  - Firefox: proxy.onRequest, registered at the top level of background.js, routes each request
//    with the domains and port kept in chrome.storage.local (`routeRequest`), with no failover
//    either. Firefox consults it only for the hosts in its manifest's host permissions beyond
//    loopback: the social networks.
//
// Turning the switch on, and each start of the worker while it is on, asks the server for the
// rules (`GET /api/proxy`): a new proxy port or a new domain reaches the browser, and
// `sentinelle doctor` sees the contact ("PAC active").

import { Api, ApiError } from "./api.js";
import { SettingsError, clearProxyRoute, getProxyRoute, getProxySwitch, saveProxyRoute } from "./settings.js";

// chrome.proxy.settings' levelOfControl, and what it means for the parent.
const CONTROL_PROBLEMS = Object.freeze({
  controlled_by_other_extensions: "errorProxyOtherExtension",
  not_controllable: "errorProxyPolicy",
});

/** Whether this browser routes each request itself (Firefox: proxy.onRequest), not with a PAC script. */
export function routesEachRequest() {
  return Boolean(globalThis.browser?.proxy?.onRequest);
}

/** The host permissions proxy.onRequest needs (Firefox): every one of the manifest but loopback's. */
export function socialOrigins() {
  return (chrome.runtime.getManifest().host_permissions || [])
    .filter((pattern) => !/^http:\/\/(?:127\.0\.0\.1|localhost)\//.test(pattern));
}

/** Whether `host` is one of `domains` or under one of them (what the PAC script's test is). */
export function isSocial(host, domains) {
  const name = String(host).toLowerCase().replace(/\.$/, "");
  return domains.some((domain) => name === domain || name.endsWith(`.${domain}`));
}

/**
 * Firefox's answer for a request to `host`: Sentinelle's proxy for a social host, else direct.
 * The `null` that ends the list forbids Firefox to fail over to its own proxy settings (often
 * direct) when Sentinelle's proxy does not answer: the social network fails to load instead.
 */
export function routeFor(host, route) {
  if (route && isSocial(host, route.domains)) {
    return [{ type: "http", host: route.host, port: route.port }, null];
  }
  return { type: "direct" };
}

/** The proxy.onRequest listener (Firefox): reads the route from storage, the worker keeping none. */
export async function routeRequest(details) {
  return routeFor(new URL(details.url).hostname, await getProxyRoute());
}

/** SettingsError if another extension or a policy holds the browser's proxy setting (Chromium). */
async function checkControl() {
  const { levelOfControl } = await chrome.proxy.settings.get({ incognito: false });
  if (Object.hasOwn(CONTROL_PROBLEMS, levelOfControl)) {
    throw new SettingsError(CONTROL_PROBLEMS[levelOfControl]);
  }
  return levelOfControl;
}

/**
 * Switch on: fetch the rules from the server and apply them; resolves to the route
 * `{ host, port, domains }`. ApiError when the server cannot give them, SettingsError when
 * the browser's proxy setting is not the extension's to change. Nothing is saved on failure.
 */
export async function applyProxy() {
  const api = await Api.fromStorage();
  const rules = await api.proxy();
  const route = { host: rules.host, port: rules.port, domains: rules.domains };
  if (!routesEachRequest()) {
    await checkControl();
    await chrome.proxy.settings.set({
      value: { mode: "pac_script", pacScript: { data: rules.pac, mandatory: true } },
      scope: "regular",
    });
  }
  await saveProxyRoute(route);
  return route;
}

/** Switch off: every request goes as the browser's own settings say. */
export async function clearProxy() {
  await clearProxyRoute();
  if (!routesEachRequest()) await chrome.proxy.settings.clear({ scope: "regular" });
}

/**
 * At each start of the worker: while the switch is on, fetch the rules again. When Sentinelle
 * does not answer, the rules already applied stay (social networks do not load until it is back).
 */
export async function refreshProxy() {
  if (!(await getProxySwitch())) return "off";
  try {
    await applyProxy();
    return "on";
  } catch (error) {
    if (error instanceof ApiError) return error.kind;
    if (error instanceof SettingsError) return error.key;
    throw error;
  }
}

/**
 * What the options page shows: `{ on, route, problem }`, where `problem` is the message key of
 * what keeps the switch from working (another extension or a policy holds the proxy setting).
 */
export async function proxyStatus() {
  const route = await getProxyRoute();
  const on = await getProxySwitch();
  if (routesEachRequest()) {
    const granted = !on || await chrome.permissions.contains({ origins: socialOrigins() });
    return { on, route, problem: granted ? null : "errorProxyPermission" };
  }
  const { levelOfControl } = await chrome.proxy.settings.get({ incognito: false });
  let problem = Object.hasOwn(CONTROL_PROBLEMS, levelOfControl) ? CONTROL_PROBLEMS[levelOfControl] : null;
  if (on && !problem && levelOfControl !== "controlled_by_this_extension") problem = "errorProxyNotApplied";
  return { on, route, problem };
}
