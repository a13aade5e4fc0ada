"""The secret key file is made once, whole, when many processes need it at the
same moment (a new store: two `ertui mta add`, or recovery requests, at once).

It was written in place after an exclusive create, so another process could
find the file already there but still empty, and failed with "… is not a
valid Fernet key" (2 of 30 rounds of 16 processes, before the fix). Each
round here starts 16 processes on a barrier; every one must get the key and
all the same key."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

ROUNDS = 40
PROCESSES = 16


def _load(path: str, barrier: Barrier, results: Any) -> None:
    from ertui.store.vault import Vault

    barrier.wait()
    try:
        Vault.load(Path(path))
        results.put(("ok", Path(path).read_bytes()))
    except Exception as exc:  # reported to the test, which names it
        results.put(("error", str(exc)))


def test_processes_that_make_the_key_at_once_all_read_one_whole_key(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    for round_no in range(ROUNDS):
        path = tmp_path / f"round{round_no}" / "ertui" / "secret.key"
        barrier = ctx.Barrier(PROCESSES)
        results = ctx.Queue()
        procs = [ctx.Process(target=_load, args=(str(path), barrier, results)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        got = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(60)
        errors = [text for kind, text in got if kind == "error"]
        keys = {data for kind, data in got if kind == "ok"}
        assert errors == [], f"round {round_no}: {errors[0]}"
        assert len(keys) == 1 and len(next(iter(keys))) == 44  # one Fernet key for all
        assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary file left
        assert path.stat().st_mode & 0o077 == 0
