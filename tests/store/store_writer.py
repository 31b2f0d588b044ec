"""Helper process for the store tests; tests/store/test_store.py runs it and may SIGKILL it mid-write.

python tests/store/store_writer.py write URL BATCH_SIZE MAX_BATCHES
    write batches of outputs, each marked ``context.batch``; print ``writing N`` before each
    batch and ``committed N`` after it.
python tests/store/store_writer.py open URL GO_FILE
    print ``ready``, wait until GO_FILE exists, then open the store and register one version,
    so that several such processes race on a fresh database.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from andon.store import Store
from andon.store.records import OutputRecord, new_id

RACE_VERSION_ID = "c0ffee" + "0" * 58
RACE_CONTENT = {"prompt": "Say hello to {{ name }}", "params": {"temperature": 0}}


def _record(batch: int, row: int) -> OutputRecord:
    now = datetime.now(UTC)
    return OutputRecord(
        id=new_id("out"),
        feature="kill-test",
        version_id="f" * 64,
        provider="python",
        model="echo",
        params={"temperature": 0.2},
        messages=[{"role": "user", "content": f"row {row} of batch {batch}" + " padding" * 20}],
        status="ok",
        started_at=now,
        finished_at=now,
        output_text="ok",
        context={"batch": batch, "row": row},
    )


def write(url: str, batch_size: int, max_batches: int) -> None:
    """Write ``max_batches`` batches of ``batch_size`` outputs, one transaction each."""
    with Store.open(url) as store:
        for batch in range(max_batches):
            records = [_record(batch, row) for row in range(batch_size)]
            print(f"writing {batch}", flush=True)
            store.save_outputs(records)
            print(f"committed {batch}", flush=True)


def open_when_told(url: str, go_file: Path) -> None:
    """Wait for the starting signal, then open the store and register the same version as the others."""
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not go_file.exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal within 60 s")
        time.sleep(0.001)
    with Store.open(url) as store:
        store.register_version("race", "v1", RACE_VERSION_ID, RACE_CONTENT)
    print("opened", flush=True)


def main(argv: list[str]) -> None:
    """Dispatch on the mode given on the command line."""
    mode, url, *rest = argv
    if mode == "write":
        write(url, int(rest[0]), int(rest[1]))
    elif mode == "open":
        open_when_told(url, Path(rest[0]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
