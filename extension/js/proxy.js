// "Send only social networks through Sentinelle": the switch in the options page. The social
// networks' requests go to Sentinelle's proxy, every other request goes direct.
//
//  - Chromium: chrome.proxy with a PAC script the extension writes itself (`pacScript.data`):
//    its own list of social domains (data/social-domains.json, proxy/hosts.py's), the proxy on
//    127.0.0.1 always, at a port it checked. With the script held by the browser, a social
//    network fails to load while Sentinelle is stopped rather than loading unwatched (a PAC `url`
//    that cannot be fetched sends everything direct).
//  - Firefox: proxy.onRequest, registered at the top level of background.js, routes each request
//    with the domains and port kept in chrome.storage.local (`routeRequest`) to 127.0.0.1, with
//    no failover either. Firefox consults it only for the hosts in its manifest's host
//    permissions beyond loopback: the social networks.
//
// Turning the switch on, and each start of the worker while it is on, asks Sentinelle for its
// proxy's port (`GET /api/proxy`, an answer Sentinelle signed: api.js): a new proxy port
// reaches the browser, and `sentinelle doctor` sees the contact ("PAC active"). What the answer
// may change is only the port (an integer 1–65535) and extra domains (`sentinelle_extra_hosts`)
// that are domain names; never the proxy's host, never the script.

import { Api, ApiError } from "./api.js";
import { SettingsError, clearProxyRoute, getProxyRoute, getProxySwitch, saveProxyRoute } from "./settings.js";

// The proxy is Sentinelle's, on this computer: no answer of any server changes that.
export const PROXY_HOST = "127.0.0.1";
// A domain name as proxy/hosts.py's normalise_domain accepts it (lower case, no trailing dot).
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

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

export function validPort(port) {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

export function validDomain(domain) {
  return typeof domain === "string" && DOMAIN.test(domain);
}

/** The social domains Sentinelle watches, as this extension ships them (proxy/hosts.py's). */
export async function builtInDomains() {
  const response = await fetch(chrome.runtime.getURL("data/social-domains.json"));
  return response.json();
}

/** The PAC script (plain ES5) for these domains and their subdomains, as server/api/pac.py writes it. */
export function pacScript(domains, port) {
  if (!validPort(port) || !domains.every(validDomain)) throw new TypeError("not a port or not domain names");
  return [
    "// Sentinelle: social networks through the local proxy, every other site direct.",
    `var SOCIAL = ${JSON.stringify(domains)};`,
    "function FindProxyForURL(url, host) {",
    "  host = host.toLowerCase();",
    "  for (var i = 0; i < SOCIAL.length; i++) {",
    "    var d = SOCIAL[i];",
    '    if (host === d || dnsDomainIs(host, "." + d)) {',
    `      return "PROXY ${PROXY_HOST}:${port}";`,
    "    }",
    "  }",
    '  return "DIRECT";',
    "}",
    "",
  ].join("\n");
}

/**
 * The route for Sentinelle's answer to `GET /api/proxy`: `{ host, port, domains }` with the
 * host 127.0.0.1, the port checked, the built-in domains and then the extra ones that are
 * domain names. ApiError when the port is not one.
 */
export async function routeOf(rules) {
  if (!validPort(rules?.port)) throw new ApiError("http", `not a port: ${JSON.stringify(rules?.port)}`);
  const domains = await builtInDomains();
  const extra = Array.isArray(rules.domains) ? rules.domains.filter(validDomain) : [];
  return { host: PROXY_HOST, port: rules.port, domains: [...new Set([...domains, ...extra])] };
}

/**
 * Firefox's answer for a request to `host`: Sentinelle's proxy for a social host, else direct.
 * The `null` that ends the list forbids Firefox to fail over to its own proxy settings (often
 * direct) when Sentinelle's proxy does not answer: the social network fails to load instead.
 */
export function routeFor(host, route) {
  if (route && validPort(route.port) && isSocial(host, route.domains)) {
    return [{ type: "http", host: PROXY_HOST, port: route.port }, null];
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
 * Switch on: ask Sentinelle for its proxy's port, write the rules and apply them; resolves to
 * the route `{ host, port, domains }`. ApiError when Sentinelle cannot give them, SettingsError
 * when the browser's proxy setting is not the extension's to change. Nothing is saved on failure.
 */
export async function applyProxy() {
  const api = await Api.fromStorage();
  const route = await routeOf(await api.proxy());
  await applyRoute(route);
  await saveProxyRoute(route);
  return route;
}

/** Give the browser the rules for `route` (Chromium: the PAC script; Firefox's onRequest reads the
 *  route from storage, and has nothing to be given). */
async function applyRoute(route) {
  if (routesEachRequest()) return;
  await checkControl();
  await chrome.proxy.settings.set({
    value: { mode: "pac_script", pacScript: { data: pacScript(route.domains, route.port), mandatory: true } },
    scope: "regular",
  });
}

/** Switch off: every request goes as the browser's own settings say. */
export async function clearProxy() {
  await clearProxyRoute();
  if (!routesEachRequest()) await chrome.proxy.settings.clear({ scope: "regular" });
}

/**
 * At each start of the worker, while the switch is on: the rules of the route kept in storage
 * first, at once and without asking anyone, then Sentinelle's port again. Chromium does not always
 * keep an extension's proxy setting across a restart of the browser (it drops it each time it
 * installs the extension anew, as it does at every start for one loaded with `--load-extension`):
 * until the rules are back, the social networks would load direct, unwatched. With the kept rules
 * and Sentinelle stopped, they fail to load until it is back on its port.
 */
export async function refreshProxy() {
  if (!(await getProxySwitch())) return "off";
  const kept = await getProxyRoute();
  try {
    if (kept) await applyRoute(kept);
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
