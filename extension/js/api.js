// The one client of Sentinelle's HTTP API. Before anything that depends on the token goes to
// the paired address, the program there proves it is Sentinelle (trust.js): the token itself
// never crosses the socket, and no answer is believed unless Sentinelle signed it. Nothing of
// the parent's (a photo, a name, a status) goes before a fresh signed answer (`fetch`).
// Every failure becomes an ApiError whose `kind` says what the parent can do about it:
//
//   ApiError
//   ├── not_paired      no address or token saved yet: open the options page
//   ├── unreachable     nothing answers at the address: is `sentinelle run` running?
//   ├── not_sentinelle  something answers, but cannot prove it is Sentinelle: nothing was sent
//   ├── unauthorized    401: the token is wrong (run `sentinelle token` again)
//   ├── forbidden       403: the server refuses this address or origin
//   └── http            any other error status; `message` is the server's own words

import { getPairing } from "./settings.js";
import { HandshakeFailure, forgetSession, requestHeaders, session, signedBy } from "./trust.js";

// What the extension asks, without sending anything of the parent's, for Sentinelle to prove
// itself right before a request that does send something (its answer is signed like any other).
const PROOF_PATH = "/api/health";

/** Whether a request sends the parent's data or acts (every method but GET): it goes only to a
 *  listener that has just proved it is Sentinelle. */
function acts({ method = "GET", json, body }) {
  return method !== "GET" || json !== undefined || body !== undefined;
}

export class ApiError extends Error {
  constructor(kind, message = kind, status = 0) {
    super(message);
    this.kind = kind;
    this.status = status;
  }

  /** The message key of _locales that explains this error to the parent. */
  get messageKey() {
    return {
      not_paired: "errorNotPaired",
      unreachable: "errorUnreachable",
      not_sentinelle: "errorNotSentinelle",
      unauthorized: "errorUnauthorized",
      forbidden: "errorForbidden",
    }[this.kind] || "errorServer";
  }
}

export class Api {
  constructor(server, token) {
    this.server = server;
    this.token = token;
  }

  /** A client for the paired server; ApiError("not_paired") before pairing. */
  static async fromStorage() {
    const pairing = await getPairing();
    if (!pairing) throw new ApiError("not_paired");
    return new Api(pairing.server, pairing.token);
  }

  /**
   * The raw Response of a successful request, signed by Sentinelle; ApiError otherwise. A request
   * that acts (`acts`: it may carry her name, her accounts, her photos) goes only once a request
   * that carries nothing has just had an answer Sentinelle signed, and then in that session.
   */
  async fetch(path, options = {}) {
    let proven = null;
    if (acts(options)) {
      const proof = await this.signed(PROOF_PATH);
      await proof.response.body?.cancel(); // its words are not needed, only its signature
      proven = proof.session;
    }
    const { response } = await this.signed(path, options, proven);
    if (response.ok) return response;
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error || message;
    } catch {
      // not JSON: keep the status line
    }
    const kind = { 401: "unauthorized", 403: "forbidden" }[response.status] || "http";
    throw new ApiError(kind, message, response.status);
  }

  /**
   * `{ response, session }` of one request whose answer Sentinelle signed, in `proven` or else the
   * kept session; ApiError("not_sentinelle") otherwise. Any unsigned answer forgets the session:
   * whatever sent it, the session proves nothing there any more. An unsigned 401 may be Sentinelle
   * restarted, which forgot the session: a request that carries nothing is asked once more in a
   * new session, after a handshake in which the listener proves it is Sentinelle (or nothing but
   * the hello is sent). A request that acts is never sent twice.
   */
  async signed(path, options = {}, proven = null) {
    let current = proven || await this.session();
    let [response, signed] = await this.send(path, options, current);
    if (!signed) {
      await forgetSession(current);
      if (response.status === 401 && !acts(options)) {
        current = await this.session();
        [response, signed] = await this.send(path, options, current);
        if (!signed) await forgetSession(current);
      }
    }
    if (!signed) {
      throw new ApiError("not_sentinelle", `${this.server}: the answer is not signed by Sentinelle`, response.status);
    }
    return { response, session: current };
  }

  /** The session with Sentinelle at this address (trust.js); ApiError when none can be had. */
  async session() {
    try {
      return await session(this.server, this.token);
    } catch (error) {
      if (!(error instanceof HandshakeFailure)) throw error;
      throw new ApiError(error.kind, `${this.server}: ${error.kind}`, error.status);
    }
  }

  /** One request with the session: [Response, whether Sentinelle signed it]. */
  async send(path, { method = "GET", json, body, signal } = {}, current) {
    const url = this.server + path;
    const { nonce, headers } = await requestHeaders(current, method, url);
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(url, {
        method, headers, body, signal, cache: "no-store", credentials: "omit", redirect: "error",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("unreachable", `${this.server}: ${error.message}`);
    }
    return [response, await signedBy(current, response, nonce)];
  }

  async json(path, options) {
    return (await this.fetch(path, options)).json();
  }

  /** Sentinelle's version (a signed answer: Sentinelle proved itself first). */
  health() {
    return this.json("/api/health");
  }

  stats() {
    return this.json("/api/stats");
  }

  alerts(status) {
    return this.json(status ? `/api/alerts?status=${encodeURIComponent(status)}` : "/api/alerts");
  }

  alert(id) {
    return this.json(`/api/alerts/${Number(id)}`);
  }

  setStatus(id, status) {
    return this.json(`/api/alerts/${Number(id)}`, { method: "PATCH", json: { status } });
  }

  /** The proxy's port and domains (`{ host, port, domains, pac, pac_url }`; proxy.js uses only
   * the port and validated domains) and Sentinelle notes the contact. */
  proxy() {
    return this.json("/api/proxy");
  }

  photos() {
    return this.json("/api/photos");
  }

  /** Every child: `{ id, name, aliases, handles: [[platform, handle]…], photos }`. */
  children() {
    return this.json("/api/children");
  }

  /** Create or update the child `name` means (with `id`: that child, given `name`); the nicknames
   *  and handles given replace hers. Resolves to her, with `was`: her name before, when it changed. */
  setChild({ id, name, aliases, handles }) {
    return this.json("/api/children", { method: "PUT", json: { id, name, aliases, handles } });
  }

  /** Stop watching for a child: her photos are no longer protected; her alerts stay. Resolves to
   *  `{ name, photos, alerts }`: what was removed, and how many of her alerts were kept. */
  removeChild(id) {
    return this.json(`/api/children/${Number(id)}`, { method: "DELETE" });
  }

  /** Accounts whose names look like a child's (`open`, `dismissed`, `impersonation`, or all). */
  watchlist(status) {
    return this.json(status ? `/api/watchlist?status=${encodeURIComponent(status)}` : "/api/watchlist");
  }

  /** Dismiss a watch-list account, mark it as impersonation, or open it again. */
  setWatchStatus(id, status) {
    return this.json(`/api/watchlist/${Number(id)}`, { method: "PATCH", json: { status } });
  }

  /** Every case, with its accounts, its reports (answered, or for how many `days` not, and whether
   *  to `escalate` after `escalateAfter` days) and its timeline. */
  cases(escalateAfter) {
    return this.json(`/api/cases?escalate_after=${Number(escalateAfter) || 7}`);
  }

  /** Keep that the parent reported an alert or an account (`target`) to `channel`, with the
   *  reference the channel gave (`ref`) and its date (`on`, YYYY-MM-DD); resolves to the report. */
  report({ target, channel, ref, on }) {
    return this.json("/api/reports", { method: "POST", json: { target: String(target), channel, ref, on } });
  }

  /** The channels to the parent's phone or mailbox (their URLs masked), and when they are told:
   *  `{ channels: [{ id, name, shown, details, pending, failures, failing_since, last_error,
   *  next_try_at, last_sent_at }…], hours: { digest: "HH:MM", quiet: ["HH:MM", "HH:MM"] | null } }`. */
  notifySettings() {
    return this.json("/api/notify");
  }

  /** Add a channel (an Apprise URL); resolves to it, masked. A URL Apprise cannot use: ApiError("http"). */
  addChannel({ url, name, details }) {
    return this.json("/api/notify/channels", { method: "POST", json: { url, name: name || undefined, details } });
  }

  setChannelDetails(id, details) {
    return this.json(`/api/notify/channels/${Number(id)}`, { method: "PATCH", json: { details } });
  }

  removeChannel(id) {
    return this.json(`/api/notify/channels/${Number(id)}`, { method: "DELETE" });
  }

  /** Send a test message now; ApiError("http") with why it did not go. */
  testChannel(id) {
    return this.json(`/api/notify/channels/${Number(id)}/test`, { method: "POST" });
  }

  /** `{ digest: "HH:MM", quiet: ["HH:MM", "HH:MM"] | null }`; resolves to the hours kept. */
  setNotifyHours(hours) {
    return this.json("/api/notify/hours", { method: "PUT", json: hours });
  }

  /** Each network's last patrol (`{ networks, extension_connected }`: server/api/patrol.py). */
  patrol() {
    return this.json("/api/patrol");
  }

  /** The patrol starts a look (`{ run, platform, what, term, child, url }`); resolves to it, with its id. */
  startLook(look) {
    return this.json("/api/patrol", { method: "POST", json: look });
  }

  /** The patrol ends look `id`: `{ outcome, scrolls, requests }`. */
  endLook(id, result) {
    return this.json(`/api/patrol/${Number(id)}`, { method: "PATCH", json: result });
  }

  /** Enroll files (File or Blob with a name); resolves to one outcome per file. */
  enroll(files, child) {
    const form = new FormData();
    if (child) form.append("child", child); // the server reads it before the photos
    for (const file of files) form.append("photo", file, file.name);
    return this.json("/api/photos", { method: "POST", body: form });
  }

  forgetPhoto(id) {
    return this.json(`/api/photos/${Number(id)}`, { method: "DELETE" });
  }

  /** An image of the API (evidence, thumbnail) as a Blob: it needs the token, so no <img src>. */
  async blob(path) {
    if (!path.startsWith("/api/")) throw new ApiError("http", `not an API path: ${path}`);
    return (await this.fetch(path)).blob();
  }

  /** The Server-Sent Events stream, as a Response whose body the caller reads. */
  events(signal) {
    return this.fetch("/api/events", { signal });
  }
}
