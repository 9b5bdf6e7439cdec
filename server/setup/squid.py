"""Squid's configuration for a whole network: decrypt the social networks only, send their
responses to Sentinelle's ICAP service, pass everything else through untouched.

`squid_config` is pure: settings in, the text of a squid.conf part out (for Debian's
/etc/squid/conf.d/, which its squid.conf includes). What it asks of Squid (5.x, Debian's
`squid-openssl`), line by line:

- `ssl_bump peek` at step 1: Squid reads each TLS connection's client hello (the name asked
  for, SNI) and nothing else; then `bump` (decrypt) only the social domains of
  proxy/hosts.py, and `splice` all the rest: a bank's connection is relayed as it is, with
  the bank's own certificate, never decrypted.
- The certificates Squid makes for the social hosts are signed by Sentinelle's own CA
  (server/setup/ca.py), whose name constraints let it vouch for those domains only: a
  device that trusts it still refuses anything it signed for another site. Squid makes them
  with `security_file_certgen`, which keeps them in its own database (`ssl_db`).
- Each response of a social host goes to the ICAP service (`respmod_precache`), with a
  preview; `bypass=on`: when Sentinelle is stopped or fails, Squid passes responses on
  unchecked, and browsing goes on.
- Squid adds the service's key to each of them (`adaptation_meta`, an ICAP header): the
  service looks at no response without it, so that no other program can make it raise an
  alert. The configuration holds the key, so it is written readable by Squid alone (0600).
- The services sit in one `adaptation_service_set`: Squid uses the first that is up and
  tries the next only when it fails (a set is a list of stand-bys, not a load balancer).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if sys.platform != "win32":  # the platforms that have pwd, as mypy reads them
    import pwd
else:  # Windows: Squid's user is never looked up there
    pwd = None

from sentinelle.proxy.files import write_atomically
from sentinelle.proxy.fronts.icap import KEY_HEADER
from sentinelle.proxy.hosts import all_domains
from sentinelle.server.settings import ICAP_PORT

CERTGEN = Path("/usr/lib/squid/security_file_certgen")  # Debian's squid-openssl
SSL_DB = Path("/var/lib/squid/ssl_db")
CONFIG_FILE = "sentinelle.conf"
CA_FILE = "sentinelle-ca.pem"  # Sentinelle's CA key and certificate, for Squid
DEFAULT_ICAP = ("127.0.0.1", ICAP_PORT)
SERVICE_SET = "sentinelle"


@dataclass(frozen=True)
class SquidSettings:
    """What the configuration names: where Squid listens, the CA it signs with, the ICAP services."""

    ca_file: Path  # PEM with the CA's key and certificate (Squid reads both from it)
    icap_key: str  # what the ICAP service asks of every response (server/config.py)
    port: int = 3128
    listen: str = ""  # an address to listen on ("": every address of the machine, as Debian's default)
    icap: Sequence[tuple[str, int]] = (DEFAULT_ICAP,)
    certgen: Path = CERTGEN
    ssl_db: Path = SSL_DB
    certgen_children: int = 8
    extra_domains: Sequence[str] = field(default_factory=tuple)

    @property
    def domains(self) -> list[str]:
        return all_domains(self.extra_domains)


def squid_config(settings: SquidSettings) -> str:
    """The squid.conf part, as text."""
    if not settings.icap:
        raise ValueError("at least one ICAP service is needed")
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,}", settings.icap_key):  # one token: no quote, no new line
        raise ValueError("the ICAP key must be 16 or more letters, digits, - and _")
    where = f"{settings.listen}:{settings.port}" if settings.listen else str(settings.port)
    domains = " ".join(f".{d}" for d in settings.domains)
    services = [f"sentinelle_{n}" for n in range(1, len(settings.icap) + 1)]
    lines = [
        "# Sentinelle for a whole network, written by `sentinelle setup squid`.",
        "# Squid decrypts the social networks only and sends their responses to Sentinelle's ICAP",
        "# service (`sentinelle icap`); every other site is passed through untouched, never decrypted.",
        "",
        "# Devices point their proxy here, and trust Sentinelle's CA (it can vouch for the social",
        "# networks only).",
        (f"http_port {where} ssl-bump tls-cert={settings.ca_file} tls-key={settings.ca_file} "
         "generate-host-certificates=on dynamic_cert_mem_cache_size=16MB"),
        f"sslcrtd_program {settings.certgen} -s {settings.ssl_db} -M 16MB",
        f"sslcrtd_children {settings.certgen_children} startup=1 idle=1",
        "",
        "# The social networks (Sentinelle's proxy/hosts.py), by the name a TLS client asks for",
        "# and by the host of a request.",
        f"acl sentinelle_social ssl::server_name {domains}",
        f"acl sentinelle_social_sites dstdomain {domains}",
        "acl sentinelle_step1 at_step SslBump1",
        "# Read the client hello of every TLS connection, nothing more; decrypt the social",
        "# networks; relay every other connection as it is (a bank keeps its own certificate).",
        "ssl_bump peek sentinelle_step1",
        "ssl_bump bump sentinelle_social",
        "ssl_bump splice all",
        "# A certificate Squid makes names the host the device asked for, and only it: copied from",
        "# the site's own, it would carry the site's other names too, some outside what the CA may",
        "# vouch for, and every device would refuse it.",
        "sslproxy_cert_adapt setCommonName sentinelle_social",
        "",
        "# Their responses go to Sentinelle, which answers at once and checks the images after.",
        "# bypass=on: with Sentinelle stopped, Squid passes responses on unchecked; browsing goes on.",
        "icap_enable on",
        "icap_preview_enable on",
        "icap_persistent_connections on",
        "# Sentinelle's key, on every response sent to it: it looks at no response without it.",
        f'adaptation_meta {KEY_HEADER} "{settings.icap_key}" all',
    ]
    for name, (host, port) in zip(services, settings.icap):
        lines.append(f"icap_service {name} respmod_precache bypass=on icap://{host}:{port}/respmod")
    lines += [
        "# The first service that is up takes every response; the next ones stand by.",
        f"adaptation_service_set {SERVICE_SET} {' '.join(services)}",
        f"adaptation_access {SERVICE_SET} allow sentinelle_social_sites",
        f"adaptation_access {SERVICE_SET} deny all",
    ]
    return "\n".join(lines) + "\n"


def init_ssl_db_command(settings: SquidSettings, as_user: str | None = "proxy") -> list[str]:
    """The command that makes Squid's certificate database, once, as Squid's user."""
    command = [str(settings.certgen), "-c", "-s", str(settings.ssl_db), "-M", "16MB"]
    return (["sudo", "-u", as_user] if as_user else []) + command


@dataclass(frozen=True)
class Written:
    config: Path
    ca_file: Path
    owner: str | None  # the user the CA file was given to, when it could be


def write_files(folder: Path, settings: SquidSettings, ca_pem: bytes, squid_user: str = "proxy") -> Written:
    """Write the configuration (it holds the ICAP key) and Squid's copy of the CA (key and
    certificate) into `folder`, both mode 0600. They are given to Squid's user when this runs as
    root; otherwise the caller says how to."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / CA_FILE
    owner, ids = None, None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(squid_user)
        except KeyError:
            pass
        else:
            owner, ids = squid_user, (entry.pw_uid, entry.pw_gid)
    write_atomically(ca_file, ca_pem, 0o600, owner=ids)  # private from its first byte
    config = folder / CONFIG_FILE
    write_atomically(config, squid_config(settings), 0o600, owner=ids)
    return Written(config, ca_file, owner)
