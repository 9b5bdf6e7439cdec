"""Sentinelle's own root CA: made on this machine, able to vouch only for the social networks.

The CA carries critical X.509 NameConstraints: the permitted DNS names are the domains the
proxy intercepts (`proxy.hosts.all_domains()`, subdomains included) and every IPv4 and IPv6
address is excluded. A browser that trusts it still rejects a certificate it signed for a
bank, so a stolen key cannot intercept anything but the social networks.

mitmproxy reads it from its confdir as `mitmproxy-ca.pem` (the PEM key, then the PEM
certificate; mode 0600). It must then run with `upstream_cert=False`, or it copies the
origin's names into its leaves and they fall outside the constraint. The key is never
printed and never leaves the data dir.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sentinelle.proxy.files import write_atomically
from sentinelle.proxy.hosts import all_domains

KEY_AND_CERT = "mitmproxy-ca.pem"  # what mitmproxy loads: the key, then the certificate
CERTIFICATE = "mitmproxy-ca-cert.pem"  # what the browser trusts
COMMON_NAME = "Sentinelle local CA (social networks only)"
ORGANIZATION = "Sentinelle"
VALIDITY = datetime.timedelta(days=10 * 365)
KEY_SIZE = 2048  # RSA, like mitmproxy's own CA: its leaves reuse this key
EXCLUDED_NETWORKS = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


@dataclass(frozen=True)
class CA:
    """Where the CA is, and what a trust store needs to know about it."""

    certificate_file: Path
    certificate: x509.Certificate

    @property
    def constrained(self) -> bool:
        return is_name_constrained(self.certificate)

    @property
    def sha1(self) -> str:
        """Upper-case hex SHA-1 fingerprint (how Windows and macOS name a certificate)."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "x")


def make_ca(domains: Iterable[str], now: datetime.datetime | None = None
            ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh key and a self-signed CA certificate that can only vouch for `domains`."""
    now = now or datetime.datetime.now(datetime.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)])
    permitted = [x509.DNSName(d) for d in dict.fromkeys(domains)]
    excluded = [x509.IPAddress(net) for net in EXCLUDED_NETWORKS]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted,
                                            excluded_subtrees=excluded), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def is_name_constrained(certificate: x509.Certificate) -> bool:
    """Whether a CA certificate carries critical NameConstraints with permitted DNS names."""
    try:
        ext = certificate.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    return ext.critical and bool(ext.value.permitted_subtrees)


def uncovered(certificate: x509.Certificate, domains: Iterable[str]) -> list[str]:
    """The domains a constrained CA cannot vouch for (an unconstrained one covers all)."""
    try:
        ext = certificate.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return []
    permitted = [n.value for n in ext.permitted_subtrees or () if isinstance(n, x509.DNSName)]
    return [d for d in domains if not any(d == p or d.endswith("." + p) for p in permitted)]


def load_ca(confdir: Path) -> CA | None:
    """The CA mitmproxy will use from `confdir`, or None when there is none yet."""
    try:
        raw = (confdir / KEY_AND_CERT).read_bytes()
    except FileNotFoundError:
        return None
    return CA(confdir / CERTIFICATE, x509.load_pem_x509_certificates(raw)[0])


def ensure_ca(confdir: Path, domains: Iterable[str] | None = None) -> tuple[CA, bool]:
    """Sentinelle's CA in `confdir`, created if there is none. Returns (ca, created).

    A CA already there (an older mitmproxy one included) is kept as it is: replacing a CA
    the browser trusts would break it. `sentinelle setup --new-ca` replaces it on purpose.
    """
    if (found := load_ca(confdir)) is not None:
        if not found.certificate_file.exists():
            write_atomically(found.certificate_file, _pem(found.certificate), 0o644)
        return found, False
    return write_ca(confdir, domains), True


def write_ca(confdir: Path, domains: Iterable[str] | None = None) -> CA:
    """Make a new CA and write it to `confdir`, replacing any other (the key with mode 0600)."""
    key, certificate = make_ca(all_domains() if domains is None else domains)
    confdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    write_atomically(confdir / KEY_AND_CERT, key_pem + _pem(certificate), 0o600)
    write_atomically(confdir / CERTIFICATE, _pem(certificate), 0o644)
    # mitmproxy's own derived files would describe the CA they were made from.
    for stale in ("mitmproxy-ca.p12", "mitmproxy-ca-cert.p12", "mitmproxy-ca-cert.cer"):
        (confdir / stale).unlink(missing_ok=True)
    return CA(confdir / CERTIFICATE, certificate)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


