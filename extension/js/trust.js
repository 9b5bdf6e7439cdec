// Making sure the program at the paired address is Sentinelle before anything that depends on
// the token is sent to it: while Sentinelle is stopped, any program of any user of the PC may
// listen on its port. The protocol is server/api/handshake.py's:
//
//   1. POST /api/hello {nonce, time, check}: a fresh nonce, the time, and an HMAC of both with the
//      token (never the token itself). Sentinelle answers {instance, nonce, proof}: an HMAC with
//      the token over the address, its instance, both nonces. The extension checks the proof
//      (crypto.subtle).
//   2. Both sides derive from the token and both nonces a session credential (sent in
//      `Authorization: Sentinelle …`), a request key and a response key (never sent). Each request
//      carries a fresh `Sentinelle-Nonce`, the time and the extension's check of the request
//      (`Sentinelle-Check`, with the request key); Sentinelle accepts each check once, near its
//      time, and signs each answer over the nonce (`Sentinelle-Proof`); the extension believes no
//      answer that is not signed.
//
// The session is kept in chrome.storage.session (the worker keeps no globals), tied to the
// address and the token; a restarted Sentinelle knows none of the old sessions (401), and the
// extension shakes hands again. Whatever answers unsigned, the session is forgotten (api.js).

const CLIENT_CHECK = "sentinelle/hello/client/v2";
const SERVER_PROOF = "sentinelle/hello/server/v1";
const SESSION = "sentinelle/session/v1";
const RESPONSE_KEY = "sentinelle/response-key/v1";
const RESPONSE = "sentinelle/response/v1";
const REQUEST_KEY = "sentinelle/request-key/v1";
const REQUEST_CHECK = "sentinelle/request/v1";
const CACHE_TAG = "sentinelle/cache-tag/v1"; // computed here only, never sent
const NONCE_HEADER = "Sentinelle-Nonce";
const TIME_HEADER = "Sentinelle-Time";
const CHECK_HEADER = "Sentinelle-Check";
const PROOF_HEADER = "Sentinelle-Proof";
const STORED = "apiSession";
const HANDSHAKE_LOCK = "sentinelle-handshake";
const WELL_FORMED = /^[A-Za-z0-9_-]{22,128}$/;

export function b64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromB64url(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function freshNonce(size = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(size)));
}

export function wellFormed(value) {
  return typeof value === "string" && WELL_FORMED.test(value);
}

function bytesOf(key) {
  return typeof key === "string" ? new TextEncoder().encode(key) : key;
}

function hmacKey(key) {
  return crypto.subtle.importKey("raw", bytesOf(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function message(parts) {
  return new TextEncoder().encode(parts.join("\n"));
}

/** HMAC-SHA256 of the parts joined by newlines, keyed with `key` (a string: its UTF-8). */
export async function mac(key, ...parts) {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(key), message(parts)));
}

/** Whether `signature` (base64url) is the HMAC of the parts with `key` (crypto.subtle.verify). */
export async function verifyMac(key, signature, ...parts) {
  let bytes;
  try {
    bytes = fromB64url(signature);
  } catch {
    return false;
  }
  return wellFormed(signature) && crypto.subtle.verify("HMAC", await hmacKey(key), bytes, message(parts));
}

/** Thrown when the answer to the hello is not Sentinelle's, or its HTTP status says why. */
export class HandshakeFailure extends Error {
  constructor(kind, status = 0) {
    super(kind);
    this.kind = kind; // "unreachable", "unauthorized", "forbidden", "not_sentinelle"
    this.status = status;
  }
}

/**
 * A session with Sentinelle at `server` for `token`: the one kept in chrome.storage.session
 * when it is for this address and token, else a new one from a handshake. Only one handshake
 * runs at a time (a Web Lock): the pages and the worker share its result.
 */
export async function session(server, token) {
  const tag = b64url(await mac(token, CACHE_TAG, server));
  const kept = async () => {
    const { [STORED]: stored } = await chrome.storage.session.get(STORED);
    return stored && stored.server === server && stored.tag === tag && stored.requestKey ? stored : null;
  };
  return (await kept()) || navigator.locks.request(HANDSHAKE_LOCK, async () => {
    // Another page may have shaken hands while this one waited: then use that session.
    const stored = await kept();
    if (stored) return stored;
    const made = { ...(await handshake(server, token)), server, tag };
    await chrome.storage.session.set({ [STORED]: made });
    return made;
  });
}

/**
 * Forget the kept session: `stale` (its answer was not signed: whoever sent it, the session
 * proves nothing there any more), unless another page has replaced it since; or, without
 * `stale`, whatever is kept (the pairing changed).
 */
export function forgetSession(stale = null) {
  return navigator.locks.request(HANDSHAKE_LOCK, async () => {
    const { [STORED]: stored } = await chrome.storage.session.get(STORED);
    if (stored && (!stale || stored.credential === stale.credential)) {
      await chrome.storage.session.remove(STORED);
    }
  });
}

async function handshake(server, token) {
  const host = new URL(server).host;
  const nonce = freshNonce();
  const time = String(Date.now());
  const check = b64url(await mac(token, CLIENT_CHECK, host, nonce, time));
  let response;
  try {
    response = await fetch(`${server}/api/hello`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ nonce, time, check }),
      cache: "no-store", credentials: "omit", redirect: "error",
    });
  } catch {
    throw new HandshakeFailure("unreachable");
  }
  if (response.status === 401) throw new HandshakeFailure("unauthorized", 401);
  if (response.status === 403) throw new HandshakeFailure("forbidden", 403);
  let answer = null;
  try {
    answer = response.ok ? await response.json() : null;
  } catch {
    // not JSON: not Sentinelle
  }
  if (!answer || ![answer.instance, answer.nonce, answer.proof].every(wellFormed)) {
    throw new HandshakeFailure("not_sentinelle", response.status);
  }
  const parts = [host, answer.instance, nonce, answer.nonce];
  if (!(await verifyMac(token, answer.proof, SERVER_PROOF, ...parts))) {
    throw new HandshakeFailure("not_sentinelle", response.status);
  }
  return {
    instance: answer.instance,
    credential: b64url(await mac(token, SESSION, ...parts)),
    key: b64url(await mac(token, RESPONSE_KEY, ...parts)),
    requestKey: b64url(await mac(token, REQUEST_KEY, ...parts)),
  };
}

/**
 * The headers of a request in the session `stored`, to `url` (the address it goes to, whose path
 * and query the check covers as they go on the wire), and its nonce, which the answer must sign.
 */
export async function requestHeaders(stored, method, url) {
  const nonce = freshNonce(24);
  const time = String(Date.now());
  const { pathname, search } = new URL(url);
  const check = await mac(fromB64url(stored.requestKey), REQUEST_CHECK, method.toUpperCase(),
                          pathname + search, time, nonce);
  return {
    nonce,
    headers: {
      Authorization: `Sentinelle ${stored.credential}`,
      [NONCE_HEADER]: nonce, [TIME_HEADER]: time, [CHECK_HEADER]: b64url(check),
    },
  };
}

/** Whether `response` is signed by Sentinelle for the request that carried `nonce`. */
export async function signedBy(stored, response, nonce) {
  const proof = response.headers.get(PROOF_HEADER);
  return proof !== null && verifyMac(fromB64url(stored.key), proof, RESPONSE, nonce);
}
