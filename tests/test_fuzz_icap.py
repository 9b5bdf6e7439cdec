"""Fuzzing the real `sentinelle icap`: malformed and odd requests each get their refusal (a 4xx,
or RFC 3507's 501 and 505 for a method or a version), or a 204 when they are Squid's and well
formed, or are closed when they end early; never a 500, a hang or a traceback, and a copy of the
protected photo sent without Squid's key raises nothing. A sample; `python -m benchmarks.fuzz`
runs thousands."""

from __future__ import annotations

import asyncio

from tests.conftest import kodak, square_crop_copy
from tests.support.broken_images import seed_images
from tests.support.icap_fuzz import MUTATIONS, make_icap_cases, send_icap_cases
from tests.support.icap_process import SentinelleIcap
from tests.support.scenario import wait_for
from tests.support.watcher import sentinelle

CASES = 10 * len(MUTATIONS)
# 200: an OPTIONS; 501 and 505: RFC 3507's answers to another method or version.
ANSWERS = {"200", "204", "400", "403", "405", "413", "501", "505", "closed", "reset"}


async def test_odd_icap_requests_get_a_4xx_and_raise_nothing(data_dir):
    sentinelle(data_dir, "enroll", str(kodak(15)))  # the seed images are made from #5
    service = await asyncio.to_thread(SentinelleIcap, data_dir)
    try:
        cases = make_icap_cases(CASES, service.key, square_crop_copy(kodak(15), width=320),
                                list(seed_images().values()), seed=1)
        outcomes = await send_icap_cases(service.port, cases)
        assert set(outcomes) <= ANSWERS, outcomes
        assert outcomes["403"] >= 2 * CASES // len(MUTATIONS)  # every request without the key, at least
        assert outcomes["204"] and outcomes["400"] and outcomes["413"]

        def stats() -> dict:
            return service.api("/api/stats")

        await wait_for(lambda: stats()["images"]["waiting"] == 0 and not stats()["images"]["reading"], timeout=60)
        assert stats()["alerts"] == 0 and stats()["images"]["seen"] > 0
        assert service.listening()
    finally:
        code = await asyncio.to_thread(service.stop)
    assert code == 0 and "Traceback" not in service.output[1], service.output[1]
