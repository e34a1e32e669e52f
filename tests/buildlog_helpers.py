"""Test helpers for the build-log chain: a LogSource made from a function, and a lookup-then-fetch
that records a build found outside the region asked for (as an operator following
`gcloud builds log ID` without --region would experience it)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from runbook_lib.buildlogs import Attempt, LogFetch, LogSource, fetch_build_log
from runbook_lib.diagnose import Finding, classify_log
from runbook_lib.errors import NotFoundError

CLOUD_BUILD = "cloudbuild"  # the build lookup itself, recorded when it had to change region


@dataclass
class FunctionSource:
    """Adapt a plain function into a LogSource."""

    name: str
    function: Callable[[dict], str]

    def fetch(self, build: dict) -> str:
        return self.function(build)


def fetch_build_log_by_id(build_id: str, builds: Any, sources: Iterable[LogSource],
                          region: str | None = None, local_file: str | Path | None = None) -> LogFetch:
    """Look the build up (in `region`, default the adapter's region), then run the chain.

    A build asked for in `global` that is not there is retried in the adapter's region (where source
    deploys build); the miss is recorded first as a "wrong-region" attempt.
    """
    asked = region or builds.region
    prior: list[Attempt] = []
    try:
        build = builds.get(build_id, region=asked)
    except NotFoundError:
        if asked == builds.region:
            raise
        build = builds.get(build_id, region=builds.region)  # raises NotFoundError if absent there too
        why = (f"plain `gcloud builds log {build_id}` searches only global, so pass --region={builds.region}"
               if asked == "global" else f"pass --region={builds.region}")
        prior.append(Attempt(CLOUD_BUILD, "wrong-region",
                             f"Build {build_id} is not in region {asked} but in {builds.region}, where source "
                             f"deploys build; {why}."))
    fetched = fetch_build_log(build, sources, local_file=local_file)
    fetched.attempts[:0] = prior
    return fetched


def top_of(lines: Iterable[str]) -> Finding:
    """The top finding (the packaged catalogue) for a log of these lines, each ended by a newline."""
    return classify_log("\n".join(lines) + "\n")[0]


def signature_and_line(lines: Iterable[str]) -> tuple[str, int]:
    """(signature, line) of the top finding for a log of these lines: what most classifier tests assert, read once."""
    top = top_of(lines)
    return top.signature, top.line
