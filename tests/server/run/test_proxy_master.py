"""server/run/proxy_master.py: the mitmproxy `sentinelle run` runs carries traffic and does nothing else with it."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions
from mitmproxy.options import Options

from sentinelle.server.run.proxy_master import proxy_master


@pytest.mark.parametrize("option", [
    "save_stream_file=flows.mitm",   # every flow written to disk
    "hardump=flows.har",             # the same, as HAR
    "map_local=|instagram.com|/tmp",  # responses replaced by local files
    "modify_body=/~s/a/b",           # bodies rewritten
    "server_replay=flows.mitm",      # responses replayed
])
async def test_options_that_would_save_replay_or_rewrite_traffic_are_refused(option):
    master = proxy_master(Options())
    with pytest.raises(exceptions.OptionsError):
        master.options.set(option)


async def test_the_parts_that_carry_the_traffic_are_there():
    master = proxy_master(Options())
    # What mitmproxy and Sentinelle look these up by: the listener, the choice of what is
    # intercepted, the certificates, the refusal of other machines, `--set scripts=`.
    for name in ("proxyserver", "nextlayer", "tlsconfig", "block", "scriptloader", "errorcheck"):
        assert master.addons.get(name) is not None, name
    master.options.update(block_global=True, scripts=[])
