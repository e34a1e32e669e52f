"""Test-only parameter model and helpers for the runner's fixture notebooks (not part of the kit)."""
from __future__ import annotations

import sys
from typing import Literal

from pydantic import Field

from runbook_lib import charts
from runbook_lib.params import RunbookParams
from runbook_lib.results import Result


class ExampleParams(RunbookParams):
    verdict: Literal["pass", "warn", "fail", "blocked"] = "pass"
    rows: int = Field(3, ge=1, le=1000)
    api_token: str = ""
    chart: bool = True


def check(p: ExampleParams) -> Result:
    """A fake check whose verdict is a parameter. With a token it behaves like careless code that
    prints and records the secret, so the tests can prove masking catches it everywhere."""
    details = {"rows_seen": list(range(p.rows)), "python": sys.executable}
    summary = f"{p.rows} rows checked"
    if p.api_token:
        print(f"calling the service with Authorization: Bearer {p.api_token}")
        print(f"the token was {p.api_token}")
        details["request"] = {"headers": {"Authorization": f"Bearer {p.api_token}"}, "token": p.api_token}
        summary += f" with token {p.api_token}"
    return Result(name="example check", verdict=p.verdict, summary=summary,
                  figures={"rows": p.rows, "verdict asked": p.verdict}, details=details)


def show_chart(p: ExampleParams) -> None:
    """Draw the rows chart unless chart=False (matplotlib costs a second or two per run in tests)."""
    if not p.chart:
        return
    fig = charts.new_figure(4, 2)
    ax = fig.add_subplot()
    ax.bar(range(p.rows), [i + 1 for i in range(p.rows)])
    ax.set_title("rows")
    charts.show(fig, "rows")


def explode(p: ExampleParams) -> None:
    raise RuntimeError("boom: the fixture runbook failed on purpose")


# ---------------------------------------------------------------------------------------------
# misbehaving.ipynb: a runbook that does, on purpose, what a careless or broken one might.

class MisbehavingParams(RunbookParams):
    action: Literal["leak", "die", "sleep", "serve", "exit-after-record", "exit-before-record", "progress",
                    "noisy-shutdown"] = "leak"
    api_token: str = ""
    seconds: int = Field(60, ge=1, le=600)


# Long enough that an error message carrying the token at its end is cut at 300 characters
# inside the token, and an output carrying it at its end is cut at the 1 MB cap inside it.
ERROR_PADDING = 250
OUTPUT_PADDING = 999_990


def misbehave(p: MisbehavingParams) -> None:
    import os
    import signal
    import time
    from pathlib import Path

    if p.action == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    elif p.action in ("sleep", "serve"):
        if p.action == "serve":   # start a sandbox service and never reach the target's close()
            from runbook_lib import connect

            connect("local", **p.connect_options()).services.ensure_running("phase3")
        # Tell a waiting test that the kernel is busy in this cell (the run folder is ours to write in).
        (Path(os.environ[charts.RUN_DIR_ENV]) / "sleeping").write_text(str(os.getpid()))
        time.sleep(p.seconds)
    elif p.action == "progress":   # a long loop with the kit's bar, a step every half second, `seconds` steps
        from runbook_lib import progress

        with progress.bar(total=p.seconds, desc="slow work", unit="step") as bar:
            bar.set_postfix_str("password=hunter2-9f")   # what the runner echoes is masked
            for _ in range(p.seconds):
                time.sleep(0.5)
                bar.update()
    elif p.action == "exit-before-record":
        raise SystemExit(0)
    elif p.action == "leak":
        _leak(p.api_token)
    elif p.action == "noisy-shutdown":   # as tornado logs a message that meets a socket ipykernel is closing
        import atexit
        import logging

        atexit.register(logging.getLogger("tornado.general").error,
                        "Uncaught exception in ZMQStream callback\nTraceback (most recent call last):\n  (shutdown noise)")


def _leak(token: str) -> None:
    """Show the token every way a runbook might: escaped in HTML, as a JSON key, in display
    metadata, JSON-encoded in a print, at the end of a huge output, then in a long error."""
    import html
    import json

    import pandas as pd
    from IPython.display import HTML, display

    display(pd.DataFrame({"cfg": [{"api_key": token}], "tok": [token]}))
    display(HTML(f"<b>{html.escape(token)}</b>"))
    display({"application/json": {token: "as a key"}, "text/plain": "json with the token as a key"},
            raw=True, metadata={"application/json": {"note": token}})
    print("z" * OUTPUT_PADDING + token + "z" * 300_000)
    print(json.dumps({"sent": token}))
    raise RuntimeError("x" * ERROR_PADDING + " auth failed for " + token)


def misbehaving_result(p: MisbehavingParams) -> Result:
    return Result(name="misbehaving", verdict="pass", summary=f"recorded before {p.action}")


def after_recording(p: MisbehavingParams) -> None:
    if p.action == "exit-after-record":
        raise SystemExit(0)
    print("after recording")
