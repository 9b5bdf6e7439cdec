"""How the extension and Sentinelle prove to each other that they hold the token, without
ever sending it: the extension talks to whatever listens on the API port, and while
Sentinelle is stopped any program of any user of the PC may listen there.

    extension                                              Sentinelle
    POST /api/hello {"nonce": cn, "check": C}      ──▶    C == mac(token, CLIENT_CHECK, host, cn)?
                                                   ◀──    {"instance": i, "nonce": sn, "proof": P}
    P == mac(token, SERVER_PROOF, host, i, cn, sn)?        (401 when C is wrong: the token is wrong)
    then, on every request:
    Authorization: Sentinelle <mac(token, SESSION, …)>  ──▶  a session this instance issued?
    Sentinelle-Nonce: rn                           ◀──    Sentinelle-Proof: mac(K, RESPONSE, rn)

`host` is the Host header (`127.0.0.1:8765`): a proof made for one address is worth nothing
at another. `K` (mac(token, RESPONSE_KEY, …)) never crosses the socket, so only Sentinelle
can sign a response, and the extension believes no answer that is not signed. The session
itself is a fresh value, worth nothing once this instance of Sentinelle stops. Every value is
HMAC-SHA256, in base64url without padding; every comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass

CLIENT_CHECK = "sentinelle/hello/client/v1"
SERVER_PROOF = "sentinelle/hello/server/v1"
SESSION = "sentinelle/session/v1"
RESPONSE_KEY = "sentinelle/response-key/v1"
RESPONSE = "sentinelle/response/v1"
# The request header that carries the extension's nonce, and the answer's header that signs it.
NONCE_HEADER = "Sentinelle-Nonce"
PROOF_HEADER = "Sentinelle-Proof"
AUTH_SCHEME = "sentinelle"
# Nonces, checks and sessions are base64url: 16 to 96 bytes.
_VALUE = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
# Sessions kept per instance of Sentinelle: the newest ones (a page, the worker, a restart of the
# browser each make one); an older one gets a 401 and the extension shakes hands again. Only a
# client that holds the token can open one (its check), so no other program can push them out.
MAX_SESSIONS = 64


class HandshakeError(ValueError):
    """A hello that is not well formed."""


def mac(key: str | bytes, *parts: str) -> bytes:
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).digest()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def well_formed(value: object) -> bool:
    return isinstance(value, str) and bool(_VALUE.match(value))


@dataclass(frozen=True)
class Session:
    credential: str
    response_key: bytes

    def sign(self, nonce: str) -> str:
        return b64(mac(self.response_key, RESPONSE, nonce))


class Sessions:
    """The sessions this instance of Sentinelle issued, newest last."""

    def __init__(self, token: str, instance: str | None = None) -> None:
        self._token = token
        self.instance = instance or b64(secrets.token_bytes(16))
        self._issued: OrderedDict[str, Session] = OrderedDict()

    def hello(self, host: str, body: object) -> dict | None:
        """The answer to `POST /api/hello`, or None when the client's check is wrong (it does
        not hold this token). HandshakeError when the body is not `{"nonce", "check"}`."""
        if not isinstance(body, dict) or not well_formed(body.get("nonce")) \
                or not well_formed(body.get("check")):
            raise HandshakeError('the body must be {"nonce": …, "check": …} in base64url')
        client_nonce = body["nonce"]
        if not hmac.compare_digest(body["check"].encode(),
                                   b64(mac(self._token, CLIENT_CHECK, host, client_nonce)).encode()):
            return None
        server_nonce = b64(secrets.token_bytes(32))
        parts = (host, self.instance, client_nonce, server_nonce)
        session = Session(b64(mac(self._token, SESSION, *parts)), mac(self._token, RESPONSE_KEY, *parts))
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
