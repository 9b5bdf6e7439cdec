"""How the extension and Sentinelle prove to each other that they hold the token, without
ever sending it: the extension talks to whatever listens on the API port, and while
Sentinelle is stopped any program of any user of the PC may listen there.

    extension                                              Sentinelle
    POST /api/hello {"nonce": cn, "time": t,       ──▶    C == mac(token, CLIENT_CHECK, host, cn, t)?
                     "check": C}                          t recent, cn not seen before?
                                                   ◀──    {"instance": i, "nonce": sn, "proof": P}
    P == mac(token, SERVER_PROOF, host, i, cn, sn)?        (401 when C is wrong: the token is wrong)
    then, on every request:
    Authorization: Sentinelle <mac(token, SESSION, …)>  ──▶  a session this instance issued?
    Sentinelle-Nonce: rn, Sentinelle-Time: t              Q == mac(KQ, REQUEST_CHECK, METHOD,
    Sentinelle-Check: Q                                            path, t, rn)? t recent, rn new?
                                                   ◀──    Sentinelle-Proof: mac(K, RESPONSE, rn)

`host` is the Host header (`127.0.0.1:8765`): a proof made for one address is worth nothing
at another. `K` and `KQ` (mac(token, RESPONSE_KEY, …), mac(token, REQUEST_KEY, …)) never cross
the socket: only Sentinelle can sign a response, and the extension believes no answer that is
not signed; only the extension can check a request, so the session's credential, which does
cross it, opens nothing by itself. The session is a fresh value, worth nothing once this
instance of Sentinelle stops.

A check is good for `WINDOW_SECONDS` around its time `t` (milliseconds since the epoch, from
the clock both sides read on this PC), and once: the nonces of that window are remembered
(`Nonces`), so a hello or a request captured on its way is refused when played again, and one
older than the window is refused for its time. Every value is HMAC-SHA256, in base64url without
padding; every comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

CLIENT_CHECK = "sentinelle/hello/client/v2"
SERVER_PROOF = "sentinelle/hello/server/v1"
SESSION = "sentinelle/session/v1"
RESPONSE_KEY = "sentinelle/response-key/v1"
RESPONSE = "sentinelle/response/v1"
REQUEST_KEY = "sentinelle/request-key/v1"
REQUEST_CHECK = "sentinelle/request/v1"
# The request's headers (its nonce, its time and the extension's check over them), and the
# answer's header that signs the nonce.
NONCE_HEADER = "Sentinelle-Nonce"
TIME_HEADER = "Sentinelle-Time"
CHECK_HEADER = "Sentinelle-Check"
PROOF_HEADER = "Sentinelle-Proof"
AUTH_SCHEME = "sentinelle"
# How far a check's time may be from Sentinelle's clock, either way. Both read this PC's clock:
# the slack is for a request that waited behind others, not for another clock.
WINDOW_SECONDS = 120.0
# The nonces remembered at most. Only a client that holds the token gets one remembered (its
# check comes first), and the extension makes a few a second at its busiest.
MAX_NONCES = 10_000
# A time is an integer of milliseconds since the epoch, as JavaScript's Date.now() gives it.
_TIME = re.compile(r"^[0-9]{1,15}$")
# Nonces, checks and sessions are base64url: 16 to 96 bytes.
_VALUE = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
# Sessions kept per instance of Sentinelle: the newest ones (a page, the worker, a restart of the
# browser each make one); an older one gets a 401 and the extension shakes hands again. Only a
# client that holds the token can open one (its check, of now, and never played again), so no
# other program can push them out.
MAX_SESSIONS = 64


class HandshakeError(ValueError):
    """A hello that is not well formed."""


def mac(key: str | bytes, *parts: str) -> bytes:
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).digest()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def well_formed(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(_VALUE.match(value))


def well_formed_time(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(_TIME.match(value))


class Nonces:
    """The nonces of the checks accepted within the window, to refuse any of them played again.

    At most `limit` are kept, oldest first. When a new one would make one too many, the oldest
    goes and its time becomes the floor: from then on no check is accepted at or before that
    time, so a nonce forgotten early is still refused (for its time, which its check covers)."""

    def __init__(self, window: float = WINDOW_SECONDS, limit: int = MAX_NONCES,
                 clock: Callable[[], float] = time.time) -> None:
        self._window_ms, self._limit, self._clock = window * 1000, limit, clock
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._floor = -1

    def _timely(self, at: str) -> bool:
        """Whether a check made at `at` (milliseconds) may still be accepted."""
        now = self._clock() * 1000
        return int(at) > self._floor and abs(now - int(at)) <= self._window_ms

    def first(self, nonce: str, at: str) -> bool:
        """Note `nonce`, of a good check made at `at`: False when it was seen before, or when
        its time is out of the window (then it is not noted)."""
        if not self._timely(at) or nonce in self._seen:
            return False
        self._forget_expired()
        self._seen[nonce] = int(at)
        while len(self._seen) > self._limit:
            _, gone = self._seen.popitem(last=False)
            self._floor = max(self._floor, gone)
        return True

    def __len__(self) -> int:
        return len(self._seen)

    def _forget_expired(self) -> None:
        # Refused for their time by now, with or without their nonce.
        oldest = self._clock() * 1000 - self._window_ms
        while self._seen and next(iter(self._seen.values())) < oldest:
            self._seen.popitem(last=False)


@dataclass(frozen=True)
class Session:
    credential: str
    response_key: bytes
    request_key: bytes

    def sign(self, nonce: str) -> str:
        return b64(mac(self.response_key, RESPONSE, nonce))

    def checks(self, method: str, path: str, at: str, nonce: str, check: str) -> bool:
        """Whether `check` is the extension's, for this request (method, path and query as sent,
        its time and nonce)."""
        expected = b64(mac(self.request_key, REQUEST_CHECK, method.upper(), path, at, nonce))
        return hmac.compare_digest(check.encode(), expected.encode())


class Sessions:
    """The sessions this instance of Sentinelle issued, newest last, and the nonces of the
    hellos and requests it accepted within the window."""

    def __init__(self, token: str, instance: str | None = None) -> None:
        self._token = token
        self.instance = instance or b64(secrets.token_bytes(16))
        self._issued: OrderedDict[str, Session] = OrderedDict()
        self._nonces = Nonces()

    def hello(self, host: str, body: object) -> dict | None:
        """The answer to `POST /api/hello`, or None when the client's check is wrong (it does
        not hold this token), out of its time or played again. HandshakeError when the body is
        not `{"nonce", "time", "check"}`."""
        if not isinstance(body, dict) or not well_formed(body.get("nonce")) \
                or not well_formed_time(body.get("time")) or not well_formed(body.get("check")):
            raise HandshakeError('the body must be {"nonce": …, "time": …, "check": …}, '
                                 "the nonce and check in base64url, the time in milliseconds")
        client_nonce, at = body["nonce"], body["time"]
        expected = b64(mac(self._token, CLIENT_CHECK, host, client_nonce, at))
        if not hmac.compare_digest(body["check"].encode(), expected.encode()) \
                or not self._nonces.first(client_nonce, at):
            return None
        server_nonce = b64(secrets.token_bytes(32))
        parts = (host, self.instance, client_nonce, server_nonce)
        session = Session(b64(mac(self._token, SESSION, *parts)), mac(self._token, RESPONSE_KEY, *parts),
                          mac(self._token, REQUEST_KEY, *parts))
        self._issued[session.credential] = session
        while len(self._issued) > MAX_SESSIONS:
            self._issued.popitem(last=False)
        return {"service": "sentinelle", "instance": self.instance, "nonce": server_nonce,
                "proof": b64(mac(self._token, SERVER_PROOF, *parts))}

    def find(self, credential: str) -> Session | None:
        """The session whose credential this is (compared in constant time with each one)."""
        found = None
        given = credential.encode()
        for session in self._issued.values():
            if hmac.compare_digest(given, session.credential.encode()):
                found = session
        return found

    def admit(self, credential: str, method: str, path: str, headers: Mapping[str, str]) -> Session | None:
        """The session of a request (`path`: its path and query as sent), when its credential is
        one this instance issued, its check is the extension's, its time is within the window and
        its nonce was never seen; else None."""
        nonce, at, check = (headers.get(name) for name in (NONCE_HEADER, TIME_HEADER, CHECK_HEADER))
        if not (well_formed(nonce) and well_formed_time(at) and well_formed(check)):
            return None
        session = self.find(credential)
        if session is None or not session.checks(method, path, at, nonce, check):
            return None
        return session if self._nonces.first(nonce, at) else None
