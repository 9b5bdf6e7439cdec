// The one client of Sentinelle's HTTP API. Before anything that depends on the token goes to
// the paired address, the program there proves it is Sentinelle (trust.js): the token itself
// never crosses the socket, and no answer is believed unless Sentinelle signed it.
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
import { HandshakeFailure, NONCE_HEADER, forgetSession, freshNonce, session, signedBy } from "./trust.js";

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
   * The raw Response of a successful request, signed by Sentinelle; ApiError otherwise. A kept
   * session that Sentinelle no longer knows (it restarted: 401, unsigned) is renewed once.
   */
  async fetch(path, options = {}) {
    let current = await this.session();
    let [response, signed] = await this.send(path, options, current);
    if (!signed && response.status === 401) {
      current = await this.session({ renew: true });
      [response, signed] = await this.send(path, options, current);
    }
    if (!signed) {
      await forgetSession();
      throw new ApiError("not_sentinelle", `${this.server}: the answer is not signed by Sentinelle`, response.status);
    }
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

  /** The session with Sentinelle at this address (trust.js); ApiError when none can be had. */
  async session(options) {
    try {
      return await session(this.server, this.token, options);
    } catch (error) {
      if (!(error instanceof HandshakeFailure)) throw error;
      throw new ApiError(error.kind, `${this.server}: ${error.kind}`, error.status);
    }
  }

  /** One request with the session: [Response, whether Sentinelle signed it]. */
  async send(path, { method = "GET", json, body, signal } = {}, current) {
    const nonce = freshNonce(24);
    const headers = { Authorization: `Sentinelle ${current.credential}`, [NONCE_HEADER]: nonce };
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(this.server + path, {
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
