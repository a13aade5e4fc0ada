"""The rate limit as the server counts it: arrivals, not tokens. A message
reaches the MTA some time after its token (the transaction's round trips,
more for the first on a connection), so with tokens exactly 60/N s apart the
first token of a minute and the N+1st would fall within one minute at the
server whenever the first arrived later after its token than the last.
``ratelimit.SPACING`` keeps N+1 tokens more than 60.5 s apart."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from ertui import mtas
from ertui.delivery import ratelimit

LAG = 0.5  # seconds by which arrivals may differ in their delay after the token


def earliest_takes(engine: Engine, mta_id: int, count: int, t0: float) -> list[float]:
    """The times of ``count`` tokens, each taken as soon as the bucket allows."""
    now, takes = t0, list[float]()
    while len(takes) < count:
        wait = ratelimit.take(engine, mta_id, now)
        if wait == 0.0:
            takes.append(now)
        else:
            now += wait
    return takes


@pytest.mark.parametrize("per_minute", [1, 7, 60, 600])
def test_no_minute_at_the_server_holds_more_than_the_limit(any_engine: Engine, per_minute: int) -> None:
    m = mtas.add(any_engine, description="limited", host="mail.example.com", rate_limit=per_minute)
    takes = earliest_takes(any_engine, m.id or 0, 2 * per_minute + 1, 1_000_000.0)
    spans = [takes[i + per_minute] - takes[i] for i in range(len(takes) - per_minute)]
    assert min(spans) >= 60.0 + LAG, f"{per_minute + 1} tokens within {min(spans):.3f} s"
    # and no slower than needed: 1 % more (and the 0.01 s least wait of ``take`` per token)
    assert max(spans) <= 60.0 * ratelimit.SPACING + 0.01 * per_minute + 0.05
