"""server/setup/squid.py and `sentinelle setup squid`: the configuration Squid gets, as Squid itself parses it."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinelle.proxy.hosts import all_domains
from sentinelle.server.cli.main import cli
from sentinelle.server.setup.squid import (
    SquidSettings,
    init_ssl_db_command,
    squid_config,
    write_files,
)

SQUID = shutil.which("squid") or ("/usr/sbin/squid" if Path("/usr/sbin/squid").exists() else None)
KEY = "Zk3_" + "q" * 39  # as server/config.py makes one: 43 URL-safe characters


def directives(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_social_networks_are_bumped_everything_else_spliced_and_sentinelle_may_be_down():
    text = squid_config(SquidSettings(Path("/etc/squid/conf.d/sentinelle-ca.pem"), KEY,
                                      icap=[("127.0.0.1", 1344), ("127.0.0.1", 1345)]))
    lines = directives(text)
    assert lines.index("ssl_bump peek sentinelle_step1") < lines.index("ssl_bump bump sentinelle_social") \
        < lines.index("ssl_bump splice all")  # first match wins: peek, then bump the social ones only
    [social] = [line for line in lines if line.startswith("acl sentinelle_social ssl::server_name ")]
    assert social.split()[3:] == [f".{d}" for d in all_domains()]
    assert "acl sentinelle_step1 at_step SslBump1" in lines
    assert "sslproxy_cert_adapt setCommonName sentinelle_social" in lines
    assert ("http_port 3128 ssl-bump tls-cert=/etc/squid/conf.d/sentinelle-ca.pem "
            "tls-key=/etc/squid/conf.d/sentinelle-ca.pem generate-host-certificates=on "
            "dynamic_cert_mem_cache_size=16MB") in lines
    assert "sslcrtd_program /usr/lib/squid/security_file_certgen -s /var/lib/squid/ssl_db -M 16MB" in lines
    assert "icap_enable on" in lines and "icap_preview_enable on" in lines
    assert "icap_service sentinelle_1 respmod_precache bypass=on icap://127.0.0.1:1344/respmod" in lines
    assert "icap_service sentinelle_2 respmod_precache bypass=on icap://127.0.0.1:1345/respmod" in lines
    assert "adaptation_service_set sentinelle sentinelle_1 sentinelle_2" in lines
    # Squid shows the service its key with every response: no other program can raise an alert.
    assert f'adaptation_meta X-Sentinelle-Key "{KEY}" all' in lines
    assert lines[-2:] == ["adaptation_access sentinelle allow sentinelle_social_sites",
                          "adaptation_access sentinelle deny all"]


def test_extra_domains_and_an_address_to_listen_on():
    text = squid_config(SquidSettings(Path("/ca.pem"), KEY, port=3129, listen="10.0.0.1",
                                      extra_domains=["example-social.net"]))
    assert "http_port 10.0.0.1:3129 ssl-bump" in text and " .example-social.net\n" in text


def test_the_ssl_db_is_made_as_squid_s_user():
    settings = SquidSettings(Path("/ca.pem"), KEY, ssl_db=Path("/var/lib/squid/ssl_db"))
    assert init_ssl_db_command(settings) == ["sudo", "-u", "proxy", "/usr/lib/squid/security_file_certgen",
                                             "-c", "-s", "/var/lib/squid/ssl_db", "-M", "16MB"]


def test_the_ca_copy_and_the_configuration_with_the_key_are_private_from_their_first_byte(tmp_path):
    settings = SquidSettings(tmp_path / "conf.d" / "sentinelle-ca.pem", KEY)
    written = write_files(tmp_path / "conf.d", settings, b"KEY+CERT")
    assert written.ca_file.read_bytes() == b"KEY+CERT"
    assert stat.S_IMODE(written.ca_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.config.stat().st_mode) == 0o600
    assert "tls-cert=" + str(written.ca_file) in written.config.read_text()


@pytest.mark.parametrize("key", ["", "short", 'has"quote' + "q" * 20, "new\nline" + "q" * 20, "sp ace" + "q" * 20])
def test_a_key_squid_would_misread_is_refused(key):
    with pytest.raises(ValueError, match="ICAP key"):
        squid_config(SquidSettings(Path("/ca.pem"), key))


def test_setup_squid_writes_what_it_prints_with_the_ca_of_the_data_dir(tmp_path, data_dir):
    runner = CliRunner()
    printed = runner.invoke(cli, ["--data-dir", str(data_dir), "setup", "squid", "--port", "3129",
                                  "--icap", "127.0.0.1:1400"], catch_exceptions=False)
    assert printed.exit_code == 0 and "icap://127.0.0.1:1400/respmod" in printed.output
    assert f"tls-cert={data_dir / 'mitmproxy' / 'mitmproxy-ca.pem'}" in printed.output  # made on the spot
    folder = tmp_path / "conf.d"
    wrote = runner.invoke(cli, ["--data-dir", str(data_dir), "setup", "squid", "--write", str(folder)],
                          catch_exceptions=False)
    assert wrote.exit_code == 0, wrote.output
    assert (folder / "sentinelle-ca.pem").read_bytes() == (data_dir / "mitmproxy" / "mitmproxy-ca.pem").read_bytes()
    # The key `sentinelle icap` asks for, made once in the data dir (0600) and written for Squid.
    key = (data_dir / "icap-key").read_text().strip()
    assert stat.S_IMODE((data_dir / "icap-key").stat().st_mode) == 0o600
    assert f'adaptation_meta X-Sentinelle-Key "{key}" all' in (folder / "sentinelle.conf").read_text()
    assert f'"{key}"' in printed.output  # the same key each time
    assert "security_file_certgen -c -s /var/lib/squid/ssl_db" in wrote.output
    bad = runner.invoke(cli, ["--data-dir", str(data_dir), "setup", "squid", "--icap", "nope"])
    assert bad.exit_code == 2 and "is not HOST:PORT" in bad.output


def test_setup_alone_still_sets_up_the_pc(data_dir):
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "setup", "--dry-run"], catch_exceptions=False)
    assert "CA" in result.output and "squid" not in result.output.lower()


@pytest.mark.skipif(SQUID is None, reason="Squid is not installed (Debian: squid-openssl)")
def test_squid_itself_parses_the_configuration(tmp_path, data_dir):
    folder = tmp_path / "conf.d"
    CliRunner().invoke(cli, ["--data-dir", str(data_dir), "setup", "squid", "--write", str(folder)],
                       catch_exceptions=False)
    main = tmp_path / "squid.conf"
    main.write_text(f"pid_filename {tmp_path}/squid.pid\ncache_log {tmp_path}/cache.log\n"
                    f"include {folder}/sentinelle.conf\nhttp_access deny all\n")
    parsed = subprocess.run([SQUID, "-k", "parse", "-f", str(main)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    assert "ERROR" not in parsed.stderr and "WARNING" not in parsed.stderr, parsed.stderr[-2000:]
