"""Runbook 03 by hand: the exact equivalent `bq` and `curl` commands of what the replay creates and calls.

Built from the same plan the run executes: the test datasets and tables step 3 plans (datasets.py:
create_dataset's location, default table expiration and labels; create_table_like's source and
destination) and the calls step 5 makes (run.py's Calls: the phase's endpoint and the JSON body
`invoke` sends, to the URL its service answers on). A dry run shows them and does nothing; a real run
shows them as what it does. Every argument is shell-quoted (shlex), so a copied command means what it
says; the identity token is left to `gcloud auth print-identity-token`, as the run mints it, and never
printed. On the sandbox, whose project is a real project's id, the bq commands name it PROJECT under a line saying
they are what this would be on gcp, and the calls, its own loopback services', take the token
`runbook sandbox token` prints.

What the kit does besides, which a person replaying by hand does not need: the ledger (a table in the
first test dataset on BigQuery, a file on the sandbox), retries with backoff, and the check of
production after each phase's first call.
"""
from __future__ import annotations

import html
import json
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..shell_words import PrintedProject
from .datasets import NewDataset, TestDatasets
from .run import Call

SANDBOX_CALLS_HEADER = ("# The sandbox's own calls, with its token: each URL's port is its service's while the "
                        "sandbox's services run (another port once they are started again)")
SHOWN_CALLS = 4          # the calls shown inline; all of them in the block below and in the result
_DAY_S = 86_400


def dataset_command(project: str, new: NewDataset) -> str:
    """`bq mk --dataset` as create_dataset makes it: location, default table expiration (bq takes seconds),
    every label."""
    argv = ["bq"] + ([f"--location={new.location}"] if new.location else []) + ["mk", "--dataset"]
    argv += ["--default_table_expiration", str(int(round(new.ttl_days * _DAY_S)))]
    for key, value in new.labels.items():
        argv += ["--label", f"{key}:{value}"]
    return shlex.join(argv + [f"{project}:{new.name}"])


def table_command(project: str, production: str, test: str, location: str | None) -> str:
    """`CREATE TABLE ... LIKE` through `bq query`: production's schema, partitioning and clustering, as
    create_table_like copies them (LIKE also copies table options such as a description, which the run
    leaves out); IF NOT EXISTS, as the run accepts a table made meanwhile."""
    sql = f"CREATE TABLE IF NOT EXISTS `{project}.{test}` LIKE `{project}.{production}`"
    argv = ["bq"] + ([f"--location={location}"] if location else [])
    return shlex.join(argv + [f"--project_id={project}", "query", "--use_legacy_sql=false", sql])


def token_command(impersonate: str = "", audience: str = "") -> str:
    """The gcloud command whose output is the identity token the run sends (gcp/services.identity_token)."""
    argv = ["gcloud", "auth", "print-identity-token"]
    if impersonate:
        argv += [f"--impersonate-service-account={impersonate}", f"--audiences={audience}", "--include-email"]
    return shlex.join(argv)


def sandbox_token_command(home: str, impersonate: str = "") -> str:
    """The `runbook` command whose output is the sandbox's identity token the run sends (local/service_iam.py's
    identity_token): the operator's, or the service account's given."""
    argv = [_runbook_program(), "sandbox", "token", "--home", home]
    return shlex.join(argv + (["--principal", f"serviceAccount:{impersonate}"] if impersonate else []))


def _runbook_program() -> str:
    """`runbook` when the shell finds it, else the kit's own script beside this Python (a virtualenv not
    activated), so that the printed command works as printed."""
    if shutil.which("runbook"):
        return "runbook"
    beside = Path(sys.executable).parent / "runbook"
    return str(beside) if beside.is_file() else "runbook"


def call_command(url: str, path: str, payload: dict, impersonate: str = "", token: str = "") -> str:
    """One `curl -X POST` as Services.invoke sends it: the body is the very JSON text it sends. `token`: the
    command printing the token (default: gcloud's, as on gcp)."""
    # The token header stays in double quotes so the shell runs the substitution; the rest is quoted by shlex.
    header = f'"Authorization: Bearer $({token or token_command(impersonate, url)})"'
    rest = shlex.join(["-H", "Content-Type: application/json", "-d", json.dumps(payload), url.rstrip("/") + path])
    return f"curl -X POST -H {header} {rest}"


@dataclass
class ReplayCommands:
    """The replay as commands, in an order that works by hand (datasets, tables, then each phase's dates)."""

    datasets: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # comment lines: what is left out, and why
    # on the sandbox: the comment line heading the bq commands (what they would be on gcp, the project named
    # PROJECT), and the one heading the calls (their URLs' ports are its services' while they run); "" on gcp
    bq_header: str = ""
    calls_header: str = ""

    def all(self) -> list[str]:
        return [*self.datasets, *self.tables, *self.calls]

    def _lines(self, calls: list[str]) -> list[str]:
        """The bq commands and `calls`, each block under its header (on the sandbox)."""
        bq = [*self.datasets, *self.tables]
        return ([self.bq_header] if self.bq_header and bq else []) + bq + \
            ([self.calls_header] if self.calls_header and calls else []) + calls

    def script(self) -> str:
        """Every command, as a copyable shell script."""
        return "\n".join([*(f"# {n}" for n in self.notes), *self._lines(self.calls)]) + "\n"

    def to_text(self) -> str:
        """The short display: datasets and tables, the first calls and how many more."""
        lines = ["# The same by hand: test datasets and tables (bq), then one call per date and phase (curl)",
                 *(f"# {n}" for n in self.notes), *self._lines(self.calls[:SHOWN_CALLS])]
        more = len(self.calls) - SHOWN_CALLS
        if more > 0:
            lines.append(f"# ... and {more} more calls ({len(self.calls)} in all: every command in the block below "
                         f"and in the result's details, commands)")
        if not self.all():
            lines.append("# nothing to create and nothing to call")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        return {"datasets": list(self.datasets), "tables": list(self.tables), "calls": list(self.calls),
                "notes": list(self.notes),
                **({"bq_header": self.bq_header, "calls_header": self.calls_header} if self.bq_header else {})}

    def _repr_html_(self) -> str:
        every = (f"<details><summary>All {len(self.all())} commands, to copy</summary>"
                 f"<pre>{html.escape(self.script())}</pre></details>")
        return f"<pre>{html.escape(self.to_text())}</pre>{every}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())


def replay_commands(target: Any, tested: TestDatasets, calls: list[Call], impersonate: str = "",
                    done_before: int = 0) -> ReplayCommands:
    """The commands of step 3's plan and step 5's calls (those not finished by an earlier run). On the sandbox the
    bq commands name the project PROJECT (shell_words.printed_project) and the calls take the sandbox's token."""
    printed = PrintedProject.of(target)
    project = printed.printed
    found = ReplayCommands(
        datasets=[dataset_command(project, new) for new in tested.new_datasets],
        tables=[table_command(project, t.production, t.test, t.location) for t in tested.new_tables])
    token = ""
    if printed.sandbox:
        token = sandbox_token_command(target.options.get("home", ""), impersonate)
        found.bq_header, found.calls_header = printed.header, SANDBOX_CALLS_HEADER
    if done_before:
        found.notes.append(f"{done_before} calls finished by an earlier run with this prefix are left out (resume)")
    urls: dict[str, str | None] = {}
    for call in calls:
        if call.phase not in urls:
            urls[call.phase] = target.services.describe(call.phase).url
            if not urls[call.phase]:
                found.notes.append(f"{call.phase}'s service has no URL now, so its calls would fail: none shown")
        url = urls[call.phase]
        if url:
            found.calls.append(call_command(url, target.phases.get(call.phase).endpoint, call.payload, impersonate,
                                            token))
    return found
