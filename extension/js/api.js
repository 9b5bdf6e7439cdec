// The one client of Sentinelle's HTTP API. Every failure becomes an ApiError whose `kind`
// says what the parent can do about it:
//
//   ApiError
//   ├── not_paired    no address or token saved yet: open the options page
//   ├── unreachable   nothing answers at the address: is `sentinelle run` running?
//   ├── unauthorized  401: the token is wrong (run `sentinelle token` again)
//   ├── forbidden     403: the server refuses this address or origin
//   └── http          any other error status; `message` is the server's own words

import { getPairing } from "./settings.js";

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

  /** The raw Response of a successful request; ApiError otherwise. */
  async fetch(path, { method = "GET", json, body, signal } = {}) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(this.server + path, {
        method, headers, body, signal, cache: "no-store", credentials: "omit",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("unreachable", `${this.server}: ${error.message}`);
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

  async json(path, options) {
    return (await this.fetch(path, options)).json();
  }

  /** Whether a Sentinelle answers at the address at all (no token needed). */
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

  /** The proxy's rules: `{ host, port, domains, pac, pac_url }` (and Sentinelle notes the contact). */
  proxy() {
    return this.json("/api/proxy");
  }

  photos() {
    return this.json("/api/photos");
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
