"""server/notify/channels.py: Apprise checks a URL and sends through it; what is shown of a
URL, and of a failure, keeps its secrets."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from sentinelle.server.notify.channels import ChannelError, check, default_name, scrub, send
from sentinelle.server.notify.news import TEST
from tests.support.receivers import HttpReceiver

# Each URL, and the parts of it that are secrets.
SECRETS = {
    "ntfy://sentinelle-dupont-7f3k": ["sentinelle-dupont-7f3k"],
    "ntfys://ntfy.example.org/dupont-private-topic": ["dupont-private-topic"],
    "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321": ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "987654321"],
    "mailtos://parent:app-password-42@gmail.com": ["app-password-42"],
    "mailto://family.test:2525?smtp=127.0.0.1&from=sentinelle@family.test&to=parent@family.test": ["parent@family.test"],
    "pover://ukey1234567890abcdefghijklmnopq@atoken1234567890abcdefghijklmn": ["ukey1234567890", "atoken1234567890"],
    "json://user:hunter22@127.0.0.1:8080/hooks/private-hook": ["hunter22", "private-hook"],
}


@pytest.mark.parametrize("url", SECRETS)
def test_what_is_shown_of_a_url_keeps_its_secrets(url):
    shown = check(url)
    assert shown.split("://")[0].rstrip("s") in url  # the service is said
    for secret in SECRETS[url]:
        assert secret not in shown, (secret, shown)
    assert "?" not in shown


def test_the_host_of_a_self_hosted_service_is_shown():
    assert check("ntfys://ntfy.example.org/topic") == "ntfys://ntfy.example.org/t...c"
    assert check("json://127.0.0.1:8080/hook") == "json://127.0.0.1:8080/h...k"


def test_a_url_apprise_cannot_use_is_refused_with_why():
    for url, why in (("", "not a URL"), ("my phone", "not a URL"), ("bogus://x", "bogus:// is no service"),
                     ("https://example.org/", "https:// is no service"), ("tgram://not-a-token", "is missing or wrong")):
        with pytest.raises(ChannelError, match=why) as refused:
            check(url)
        assert "github.com/caronc/apprise/wiki" in str(refused.value)


def test_a_failures_reason_is_scrubbed_of_the_urls_secrets():
    url = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321"
    said = scrub("Failed to send to bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw (chat 987654321).", url)
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in said and "987654321" not in said
    assert said.startswith("Failed to send to bot")


LOUD = """
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)  # whatever a host program logs
from sentinelle.server.notify.channels import send
from sentinelle.server.notify.news import TEST
print(send("json://127.0.0.1:9/hooks/private-hook-4242", TEST))
"""


def test_no_secret_reaches_the_log_even_at_its_most_verbose():
    done = subprocess.run([sys.executable, "-c", LOUD], capture_output=True, text=True, timeout=60, check=True)
    assert "Connection error" in done.stdout
    assert "private-hook-4242" not in done.stdout + done.stderr


LAZY = """
import sys
import sentinelle.server.run.root, sentinelle.server.api.notify, sentinelle.server.cli.notify
print("apprise" in sys.modules)
from sentinelle.server.notify.channels import check
check("json://127.0.0.1:9/x")
print("apprise" in sys.modules)
"""


def test_apprise_loads_only_once_a_url_is_checked_or_a_message_sent():
    # A running Sentinelle without a channel never pays for it (a third of a second, some 40 MB).
    done = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_a_channel_is_named_after_its_service():
    assert default_name("mailtos://a:b@gmail.com", set()) == "e-mail"
    assert default_name("ntfy://topic", {"ntfy", "ntfy-2"}) == "ntfy-3"


async def test_a_message_goes_through_apprise_and_a_refusal_says_why_without_secrets():
    receiver = await HttpReceiver().start()
    try:
        url = receiver.url("json", "/hooks/private-hook")
        assert await asyncio.to_thread(send, url, TEST) is None
        assert receiver.received[0].message()["message"] == TEST.body
        receiver.mode = "refuse"
        reason = await asyncio.to_thread(send, url, TEST)
        assert "error=500" in reason and "private-hook" not in reason
        await receiver.stop()
        reason = await asyncio.to_thread(send, url, TEST)
        assert "Connection error" in reason
    finally:
        await receiver.stop()
