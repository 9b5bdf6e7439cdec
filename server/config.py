"""Where Sentinelle keeps its files, and the API token: one data dir, private to the parent.

Everything the program writes goes under the data dir: `--data-dir`, else
`$SENTINELLE_HOME`, else the platform's user data dir.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

import platformdirs

TOKEN_FILE = "token"
# What Squid's configuration adds to each response it sends to the ICAP service (`setup squid`).
ICAP_KEY_FILE = "icap-key"


def default_data_dir() -> Path:
    if home := os.environ.get("SENTINELLE_HOME"):
        return Path(home)
    return Path(platformdirs.user_data_dir("sentinelle", appauthor=False))


def ensure_data_dir(path: Path) -> Path:
    """Create the data dir readable by its owner only (0700), and return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def mitmproxy_dir(data_dir: Path) -> Path:
    """mitmproxy's confdir: its CA key and certificate live here."""
    return data_dir / "mitmproxy"


def ca_certificate(data_dir: Path) -> Path:
    """The certificate the browser must trust (mitmproxy writes it on first start)."""
    return mitmproxy_dir(data_dir) / "mitmproxy-ca-cert.pem"


def load_or_create_token(data_dir: Path) -> str:
    """The API token the extension is paired with, created on first use (file mode 0600)."""
    return _load_or_create(data_dir, TOKEN_FILE)


def load_or_create_icap_key(data_dir: Path) -> str:
    """The key Squid shows the ICAP service, created on first use (file mode 0600)."""
    return _load_or_create(data_dir, ICAP_KEY_FILE)


def _load_or_create(data_dir: Path, name: str) -> str:
    """A secret of the data dir's, in file `name`, created on first use (file mode 0600)."""
    path = ensure_data_dir(data_dir) / name
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""
    if secret:
        return secret
    secret = secrets.token_urlsafe(32)
    # O_EXCL: created with 0600 from its first byte, never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


def same_token(given: str, expected: str) -> bool:
    """Compare tokens in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())
