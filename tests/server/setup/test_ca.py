"""server/setup/ca.py: the CA can vouch for the social networks and nothing else, checked by a real TLS client."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from mitmproxy.certs import CertStore

from sentinelle.proxy.hosts import all_domains
from sentinelle.server.setup.ca import (
    CERTIFICATE,
    KEY_AND_CERT,
    ensure_ca,
    is_name_constrained,
    load_ca,
    uncovered,
)


@pytest.fixture(scope="module")
def confdir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "mitmproxy"
    ensure_ca(path)
    return path


def handshake(confdir: Path, tmp_path: Path, hostname: str, san: x509.GeneralName) -> None:
    """Serve a leaf minted by mitmproxy from our CA on loopback and connect to it as
    `hostname`, trusting only the CA. Raises ssl.SSLCertVerificationError when rejected."""
    store = CertStore.from_store(confdir, "mitmproxy", 2048)
    entry = store.get_cert(hostname, [san])
    cert_file, key_file = tmp_path / "leaf.pem", tmp_path / "leaf-key.pem"
    cert_file.write_bytes(entry.cert.to_pem())
    key_file.write_bytes(entry.privatekey.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(confdir / CERTIFICATE))
    try:
        with socket.create_connection(listener.getsockname(), timeout=5) as raw:
            with client_context.wrap_socket(raw, server_hostname=hostname) as tls:
                tls.sendall(b"x")
    finally:
        thread.join(5)
        listener.close()


def test_a_leaf_for_an_instagram_cdn_host_is_accepted(confdir, tmp_path):
    host = "scontent-cdg4-1.cdninstagram.com"
    handshake(confdir, tmp_path, host, x509.DNSName(host))


@pytest.mark.parametrize("host", ["www.my-bank.fr", "instagram.com.evil.example", "notinstagram.com"])
def test_a_leaf_for_any_other_host_is_rejected(confdir, tmp_path, host):
    with pytest.raises(ssl.SSLCertVerificationError, match="(?i)permitted subtree|name constraint"):
        handshake(confdir, tmp_path, host, x509.DNSName(host))


def test_a_leaf_for_an_ip_address_is_rejected(confdir, tmp_path):
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(confdir, tmp_path, "127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1")))


def test_the_ca_is_critically_constrained_to_the_intercepted_domains(confdir):
    ca = load_ca(confdir)
    ext = ca.certificate.extensions.get_extension_for_class(x509.NameConstraints)
    assert ext.critical and ca.constrained
    assert [n.value for n in ext.value.permitted_subtrees] == all_domains()
    assert {str(n.value) for n in ext.value.excluded_subtrees} == {"0.0.0.0/0", "::/0"}
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_key_is_private_and_mitmproxy_can_load_it(confdir):
    assert stat.S_IMODE((confdir / KEY_AND_CERT).stat().st_mode) == 0o600
    raw = (confdir / KEY_AND_CERT).read_bytes()
    assert raw.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert b"PRIVATE KEY" not in (confdir / CERTIFICATE).read_bytes()
    store = CertStore.from_store(confdir, "mitmproxy", 2048)
    assert store.default_ca.fingerprint() == load_ca(confdir).certificate.fingerprint(hashes.SHA256())


def test_an_existing_ca_is_kept(confdir):
    before = (confdir / KEY_AND_CERT).read_bytes()
    ca, created = ensure_ca(confdir)
    assert not created and (confdir / KEY_AND_CERT).read_bytes() == before


def test_a_mitmproxy_made_ca_is_recognised_as_unconstrained(tmp_path):
    CertStore.create_store(tmp_path, "mitmproxy", 2048)
    ca, created = ensure_ca(tmp_path)
    assert not created and not ca.constrained and not is_name_constrained(ca.certificate)


def test_extra_domains_outside_the_ca_are_named(confdir, tmp_path):
    ca = load_ca(confdir)
    assert uncovered(ca.certificate, ["www.instagram.com", "example-social.net"]) == ["example-social.net"]
    wider, _ = ensure_ca(tmp_path / "wider", all_domains(["example-social.net"]))
    assert uncovered(wider.certificate, ["cdn.example-social.net"]) == []
