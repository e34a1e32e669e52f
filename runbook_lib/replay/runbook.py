"""Runbook 03 step by step, as notebooks/03_prefixed_replay.ipynb calls it:

    rp = replay.prepare(tg, p)         # dates resolved against the data, the ledger found (reads only)
    rp.datasets()                      # 1. the prefix's map: production dataset -> what the replay uses
    rp.capability()                    # 2. may each phase be called with a prefix? (else blocked)
    rp.test_datasets()                 # 3. test datasets and tables, made like production's
    rp.fingerprint_before()            # 4. production fingerprinted
    rp.commands()                      # 5. the same by hand: bq and curl commands of steps 3 and 5
    rp.run()                           #    the calls (bounded, retried, resumable); none with dry_run
    rp.isolation()                     # 6. production again, compared
    rp.summary(); rp.show_chart()      # 7. per date and phase (no chart when nothing ran)
    report.record(rp.result())

Each step after a stop (blocked, dry run, a refused test table) says why it did nothing, so the notebook
needs no branches; nothing is created before step 3 and no service is called before step 5. A dry run
(the default) plans step 3, shows the exact equivalent commands of steps 3 and 5, and stops at the calls.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from .. import charts
from ..errors import AccessDenied, ParameterError, QuotaExceeded, RunbookError
from ..formats import first_few, headline, keyed_table, size
from ..params.base import superseded
from ..results import Result
from ..warehouse import existing_partitions
from .capability import Capability, check_capability
from .commands import ReplayCommands, replay_commands
from .datasets import TestDatasets, output_tables, prepare_test_datasets
from .fingerprint import (WHOLE_TABLE, Checksums, Fingerprint, changes, fingerprint, plan_checksums,
                          production_tables)
from .claims import ClaimLost
from .ledger import FileLedger, LEDGER_TABLE, Ledger, LedgerBusy, WarehouseLedger, finished, ledger_dataset
from .prefix import DatasetMap, dataset_map
from .run import DONE, DONE_BEFORE, Call, Outcome, Replayer, RetryPolicy, Tokens, plan_calls
from .summary import Isolation, judge_isolation, per_date_table, rows_chart, test_rows

SUMMARY_CHARS = 480


@dataclass
class ReplayResult(Result):
    outcomes: list[Outcome] = field(default_factory=list)


def data_dates(warehouse: Any, phases: Any, phase: str) -> tuple[date | None, date | None]:
    """The first and last dates production has output for, over the phase's output tables (partition
    metadata: no scan)."""
    days = [p.partition_date for t in phases.get(phase).tables for p in existing_partitions(warehouse, t.ref) or []
            if p.partition_date and p.total_rows]
    return (min(days), max(days)) if days else (None, None)


class Replay:
    def __init__(self, target: Any, p: Any, days: list[date], warehouse_note: str = "", progress: bool = True):
        registry = target.phases
        self.target, self.p, self.days, self.progress = target, p, days, progress
        self.selected = p.selected_phases(registry)
        self.processors = p.processors_by_phase(registry)
        self.allowed = p.allowed_writes(registry)
        self.map: DatasetMap = dataset_map(registry, self.selected, p.dataset_prefix)
        self.pairs = output_tables(registry, self.selected, p.dataset_prefix)
        # The sandbox's ledger is a file (its warehouse file is busy with the services' writes meanwhile); in
        # the cloud a table of the prefix's Phase 3 test dataset, whichever phases this run selects (one ledger
        # per prefix on both targets); none when production cannot be read (nothing will run).
        path = p.ledger_file()
        self.ledger: Ledger | None = None
        if path is not None:
            self.ledger = FileLedger(path)
        elif not warehouse_note:
            production, test = ledger_dataset(registry, p.dataset_prefix)
            self.ledger = WarehouseLedger(target.warehouse, f"{test}.{LEDGER_TABLE}", production,
                                          p.test_dataset_ttl_days)
        self.policy = RetryPolicy()
        # One identity token per phase, minted on first use: step 3 checks them, step 5 calls with them.
        self.tokens = Tokens(target.services, p.principal())
        self.stopped = ""               # why the later steps do nothing ("" while going on)
        self._stop_shown_by = ""        # the step that showed `stopped` ("" while none has)
        self._interrupted = False       # the run step itself was interrupted: asked again, it says so again
        self.verdict_if_stopped = ""    # blocked | fail | pass (dry run)
        self.warehouse_note = warehouse_note
        self.capable: Capability | None = None
        self.tested: TestDatasets | None = None
        self.checksums: Checksums | None = None
        self.before: Fingerprint = {}
        self.after: Fingerprint = {}
        self.calls: list[Call] = plan_calls([registry.get(name) for name in self.selected], days, self.processors,
                                            p.dataset_prefix)
        self._done_before: dict | None = None   # the ledger's finished calls (resume), read once
        self.equivalent: ReplayCommands | None = None
        self.outcomes: list[Outcome] = []
        self.resume_notes: list[str] = []
        self.checked: Isolation | None = None
        self.test_counts: dict[str, dict[date, int]] = {}

    def describe(self) -> str:
        """One line for operators: where, which dates, which phases, where the ledger is."""
        days = f"{self.days[0].isoformat()}..{self.days[-1].isoformat()} ({len(self.days)} dates)" if self.days \
            else "no dates (production's data could not be read)"
        ledger = self.ledger.where if self.ledger else "none"
        return (f"{self.target.describe()}: replay {' -> '.join(self.selected)} for {days} with prefix "
                f"{self.p.dataset_prefix!r}; ledger {ledger}{'; DRY RUN' if self.p.dry_run else ''}")

    # ---- the steps

    def datasets(self) -> pd.DataFrame:
        """1. production dataset -> the dataset the replay uses, for everything the phases read and write."""
        return self.map.table()

    def capability(self) -> pd.DataFrame:
        """2. Each phase's serving revision must run its own code and contain the dataset_prefix commit."""
        self.capable = check_capability(self.target, self.selected)
        if not self.capable.ready:
            self._stop("blocked", f"Blocked: {self.capable.blocked_sentence()}")
        elif self.warehouse_note:
            self._stop("blocked", f"Blocked: production cannot be read, so nothing could prove it untouched: "
                                  f"{self.warehouse_note}")
        return self.capable.table()

    def test_datasets(self) -> pd.DataFrame:
        """3. Missing test datasets and tables created like production's (nothing with dry_run)."""
        if self.stopped:
            return self._said_once("test_datasets")
        self._mint_tokens()
        self.tested = prepare_test_datasets(self.target.warehouse, self.pairs, self.p.test_dataset_ttl_days,
                                            dry_run=self.p.dry_run)
        if self.tested.problems:
            self._stop("fail", f"Refused before any call: {'; '.join(self.tested.problems)}.")
        return self.tested.table()

    def fingerprint_before(self) -> pd.DataFrame:
        """4. Rows per partition of every production table the phases read or write, and the run history."""
        if self.stopped:
            return self._said_once("fingerprint_before")
        refs = production_tables(self.target.warehouse, self.target.phases)
        self.checksums = plan_checksums(self.target.warehouse, refs, self.days, self.p.checksum(),
                                        self.p.checksum_max_bytes)
        self.before = fingerprint(self.target.warehouse, refs, self.checksums, fresh=False)
        return self._prints_table(self.before)

    def commands(self) -> ReplayCommands | pd.DataFrame:
        """5. The exact equivalent commands: step 3's test datasets and tables (bq), then each call step 5
        makes (curl), from the same plan the run executes; calls an earlier run finished are left out."""
        if self.equivalent is None and self.stopped:
            return self._said_once("commands")
        return self._equivalent_commands()

    def run(self) -> pd.DataFrame:
        """5. The calls: Phase 3 per date, Phase 4 for a date once Phase 3 finished it."""
        if (changed := superseded(self.p, "the replay")) is not None:
            return _said(changed)
        if self.p.dry_run and not self.stopped:
            self._stop("pass", self._dry_run_sentence())
        if self.stopped:   # asked again after its own interrupt: said again (the cell run again is where one looks)
            return _said(self.stopped) if self._interrupted else self._said_once("run")
        if self.outcomes:   # the cell run again: each call would be sent again, and upstream writes production's
            # run-history rows every time, which the isolation check would then count as this one replay's
            counts = pd.Series([o.status for o in self.outcomes]).value_counts()
            return _said(f"This replay already ran ({', '.join(f'{n} {status}' for status, n in counts.items())}); "
                         "nothing was sent again. Its results are in the steps below; to replay again, run the "
                         "notebook again from replay.prepare (resume=True skips the calls that finished).")
        replayer = Replayer(self.target.services, self.tokens, self.ledger,
                            self.p.dataset_prefix, self._revisions(), self.processors, self.p.concurrency, self.policy,
                            after_first=self._production_still_untouched, progress=self.progress,
                            serving=self._serving())
        try:
            with self.ledger.hold(self.p.dataset_prefix) if self.ledger is not None else nullcontext():
                self.outcomes = replayer.run(self.calls, self._finished_before())
        except LedgerBusy as exc:
            self._stop("blocked", f"Blocked: {exc}.")
            return self._said_once("run")
        except ClaimLost as exc:   # raised on: the run must stop where it is, and the operator must see why
            self._stop("fail", f"Stopped: {exc}.")
            raise
        except BaseException:      # an interrupt (Ctrl-C in JupyterLab), an error: the cells after must not say
            # the dates were replayed
            self._stop("fail", "Stopped: the calls were interrupted before every date was replayed; run the "
                               "notebook again from the top, or from replay.prepare (resume=True skips the calls "
                               "that finished).")
            self._interrupted = True
            raise
        if replayer.stopped:
            self._stop("fail", replayer.stopped)
        return pd.DataFrame([o.to_dict() for o in self.outcomes])

    def isolation(self) -> pd.DataFrame:
        """6. Production again: a change outside allowed_prod_writes fails the replay."""
        if not self.outcomes and self.stopped:
            return self._said_once("isolation")
        self.after = fingerprint(self.target.warehouse, self._production_now(), self.checksums)
        self.checked = judge_isolation(self.before, self.after, self.allowed, self.target.phases.run_history_table)
        return self.checked.table()

    def summary(self) -> pd.DataFrame:
        """7. Per date and phase: status, attempts, seconds, rows in each test table next to production's."""
        if not self.outcomes:
            return self._said_once("summary") if self.stopped else _said("Nothing ran.")
        self.test_counts = test_rows(self.target.warehouse, self.pairs, self.days)
        by_phase = {name: output_tables(self.target.phases, [name], self.p.dataset_prefix) for name in self.selected}
        return per_date_table(self.outcomes, by_phase, self.test_counts, self.after or self.before)

    def chart(self):
        """Rows per date of each test table beside production's; None when nothing ran (no rows to chart, and the
        sentence saying why is shown once, above)."""
        if not self.outcomes:
            return None
        return rows_chart(self.pairs, self.days, self.test_counts, self.after or self.before)

    def show_chart(self, name: str = "replay-rows") -> None:
        """The chart, shown and saved as figures/<name>.png by charts.show; nothing when there is none."""
        fig = self.chart()
        if fig is not None:
            charts.show(fig, name)

    # ---- helpers

    def _dry_run_sentence(self) -> str:
        """What a real run would do, counting only the calls no earlier run finished."""
        done = self._finished_before()
        left = [c for c in self.calls if c.key not in done]
        into = ", ".join(self.map.test_datasets.values())
        if self.calls and not left:
            calls = f"{len(self.calls)} call{'s' if len(self.calls) != 1 else ''}"
            return (f"Nothing to call: all {calls} finished earlier into {into} (the ledger of prefix "
                    f"{self.p.dataset_prefix!r}; resume=False makes them again), and a dry run creates nothing.")
        earlier = f" ({len(done)} finished earlier are left out)" if done else ""
        return (f"Dry run: nothing was created or called; {len(self._equivalent_commands().calls)} calls would "
                f"replay {len({c.day for c in left})} dates into {into}{earlier}; step 5 shows the same as bq and "
                f"curl commands.")

    def _mint_tokens(self) -> None:
        """One identity token per selected phase, before step 3 creates anything: an account that cannot be
        impersonated (no gcloud, no Token Creator on it) or that a phase's service would not let in (the sandbox
        knows) is bad input, refused while nothing is changed. A dry run checks the account too (it calls
        nothing, but a real run would); the operator's own tokens are minted only for a real run."""
        if self.p.dry_run and not self.p.impersonate_service_account:
            return
        for phase in self.selected:
            try:
                self.tokens.get(phase)
            except RunbookError as exc:
                if not self.p.impersonate_service_account:
                    raise
                why = str(exc).rstrip(".")
                raise ParameterError("impersonate_service_account", self.p.impersonate_service_account,
                                     f"give a service account you may impersonate and that may call every phase "
                                     f"replayed; {phase}'s token could not be had: {why}") from None


    def _equivalent_commands(self) -> ReplayCommands:
        """The commands of step 3's plan and of the calls not finished before (steps 1-3 ran, none refused)."""
        if self.equivalent is None:
            if self.tested is None:
                raise RunbookError("Run the steps in order: step 3 (test_datasets) plans what the commands show.")
            done = self._finished_before()
            self.equivalent = replay_commands(self.target, self.tested, [c for c in self.calls if c.key not in done],
                                              self.p.impersonate_service_account, done_before=len(done))
        return self.equivalent

    def _revisions(self) -> dict[str, str]:
        """phase -> the revision serving it (step 2's), which the ledger records with each call."""
        return {p.phase: p.revision for p in self.capable.phases} if self.capable else {}

    def _serving(self) -> dict[str, tuple[str, ...]]:
        """phase -> every revision with a share of its traffic that step 2 checked: the only ones the calls may
        reach (the run reads the traffic again before each call)."""
        return {p.phase: p.serving for p in self.capable.phases if p.serving} if self.capable else {}

    def _finished_before(self) -> dict:
        """(date, phase) -> the ledger's entry, for calls an earlier run with this prefix finished (resume)."""
        if self._done_before is None:
            self._done_before = {}
            if self.p.resume and self.ledger is not None:
                self._done_before, self.resume_notes = finished(self.ledger.entries(), self.p.dataset_prefix,
                                                                self._revisions(), self.processors,
                                                                keys=[c.key for c in self.calls])
                gone = self._output_gone(self._done_before)
                if gone:
                    self.resume_notes.append(gone)
        return self._done_before

    def _done_without_output(self) -> list[str]:
        """The calls this run finished whose test tables have no rows on their date where production's had some at
        step 4 (counted at step 7; [] before it)."""
        if not self.test_counts or not self.before:
            return []
        empty = []
        for o in self.outcomes:
            if o.status != DONE:
                continue
            for production, test_ref in output_tables(self.target.phases, [o.phase], self.p.dataset_prefix):
                if production in self.before and self.before[production].rows_on(o.day) and \
                        not self.test_counts.get(test_ref, {}).get(o.day):
                    empty.append(f"{o.phase} {o.day.isoformat()} ({test_ref})")
                    break
        return empty

    def _output_gone(self, done: dict) -> str:
        """Drop from `done` the finished calls whose test output is no longer there (a dropped test dataset, an
        expired partition): a test table without rows on a date where production's table had some at step 4
        (its fingerprint). Partition metadata only, no scan. One note naming them ("" when every one is still
        there)."""
        if not done:
            return ""
        if not self.before:
            raise RunbookError("Run the steps in order: step 4 (fingerprint_before) counts production's rows, "
                               "which tell whether a finished call's test output is gone.")
        pairs = {phase: output_tables(self.target.phases, [phase], self.p.dataset_prefix) for _, phase in done}
        test = test_rows(self.target.warehouse, [pair for found in pairs.values() for pair in found],
                         sorted({day for day, _ in done}))
        gone = []
        for day, phase in sorted(done):
            missing = [test_ref for production, test_ref in pairs[phase]
                       if production in self.before and self.before[production].rows_on(day)
                       and not test[test_ref][day]]
            if missing:
                del done[(day, phase)]
                gone.append(f"{phase} {day.isoformat()} ({missing[0]})")
        if not gone:
            return ""
        return (f"{len(gone)} calls done earlier run again, their test output is gone (no rows on their date where "
                f"production has some): {', '.join(gone)}")

    def _production_still_untouched(self, phase: str) -> str:
        """After a phase's first call: production fingerprinted again; "" or why the replay stops."""
        now = fingerprint(self.target.warehouse, self._production_now(), self.checksums)
        wrong = [c for c in changes(self.before, now) if c.ref not in self.allowed]
        if not wrong:
            return ""
        return (f"Stopped after the first {phase} call: production changed ({wrong[0].ref}: {wrong[0].what}); "
                f"{phase} ignored dataset_prefix or wrote production.")

    def _production_now(self) -> list[str]:
        """The tables fingerprinted at step 4 and every production table listed now: one created since (a phase
        that ignored dataset_prefix writing a table production did not have yet) is a change too."""
        return sorted(set(self.before) | set(production_tables(self.target.warehouse, self.target.phases)))

    def _prints_table(self, prints: Fingerprint) -> pd.DataFrame:
        wanted = {d.isoformat() for d in self.days}
        rows = []
        for ref, printed in prints.items():
            replayed = [v for k, v in printed.partitions.items() if k in wanted]
            changed = [v.last_modified for v in printed.partitions.values() if v.last_modified]
            rows.append({"production table": ref, "exists": "yes" if printed.exists else "no",
                         "rows": printed.rows, "partitions": len(printed.partitions),
                         "last change": max(changed).strftime("%Y-%m-%d %H:%M:%S") if changed else "-",
                         "rows on the replay's dates": sum(v.rows for v in replayed),
                         "checksum": "yes" if any(v.checksum is not None for v in replayed) else "no",
                         "allowed to change": "yes" if ref in self.allowed else "no"})
        return pd.DataFrame(rows)

    def checksums_line(self) -> str:
        """What the checksums cost, or why there are none (one line, after step 4)."""
        checks = self.checksums
        if checks is None:
            return "Checksums: none (production was not fingerprinted)."
        if checks.on:
            return (f"Checksums of the replay's partitions in {len(checks.queries)} tables: each fingerprint scans "
                    f"{size(checks.bytes_per_pass)} (a dry run's estimate); there are 2 to 4 of them.")
        return f"Checksums {checks.note}."

    def _stop(self, verdict: str, why: str) -> None:
        if not self.stopped:
            self.stopped, self.verdict_if_stopped = why, verdict

    def _said_once(self, step: str) -> pd.DataFrame | None:
        """Why the steps stopped, for the first step that shows it (again if that step is asked again); None
        (nothing shown) for every other, so a notebook shows the sentence once, not under every section after it."""
        self._stop_shown_by = self._stop_shown_by or step
        return _said(self.stopped) if self._stop_shown_by == step else None

    # ---- the verdict

    def result(self) -> ReplayResult:
        dates_done = self._dates_done()
        figures = {"dates done": f"{dates_done}/{len(self.days)}",
                   "retries": sum(max(0, o.attempts - 1) for o in self.outcomes if o.status != DONE_BEFORE),
                   "production tables changed": len(self.checked.changed) if self.checked else 0,
                   "run-history rows leaked": self.checked.run_history_added if self.checked else 0}
        verdict, summary = self._verdict(dates_done)
        taken_over = self.ledger.notes if self.ledger is not None else []   # stale claims of other runs (gcp)
        if taken_over:   # that run may only be paused, and would call again: the operator must know
            verdict = "warn" if verdict == "pass" else verdict
            said = " ".join(f"{note[0].upper()}{note[1:].rstrip('.')}." for note in taken_over)
            summary = f"{said} {summary}"   # first: the summary is cut to a headline
        details = {"prefix": self.p.dataset_prefix, "phases": self.selected, "days": [d.isoformat() for d in self.days],
                   "map": self.map.to_dict(), "capability": self.capable.to_dict() if self.capable else None,
                   "test_datasets": self.tested.to_dict() if self.tested else None,
                   "isolation": self.checked.to_dict() if self.checked else None,
                   "outcomes": [o.to_dict() for o in self.outcomes], "resume_notes": self.resume_notes,
                   "claims_taken_over": taken_over,
                   "ledger": self.ledger.where if self.ledger else None, "dry_run": self.p.dry_run,
                   "commands": self.equivalent.to_dict() if self.equivalent else None,
                   "fingerprints": self._fingerprints_record(), "stopped": self.stopped}
        return ReplayResult(name="prefixed_replay", verdict=verdict, summary=headline(summary, SUMMARY_CHARS),
                            figures=figures, details=details, outcomes=list(self.outcomes))

    def _fingerprints_record(self) -> dict | None:
        """What an independent check of "production untouched" needs: each production table's kind, columns, rows
        and last change, and the replayed partitions' rows, last change and checksum, before and after, with the
        checksum queries as they ran (the other partitions are in the warehouse's own metadata)."""
        if not self.before:
            return None
        days = {d.isoformat() for d in self.days}

        def kept(prints: Fingerprint) -> dict:
            recorded = {}
            for ref, printed in prints.items():
                entry = printed.to_dict()
                changed = [p.last_modified for p in printed.partitions.values() if p.last_modified]
                entry["last_modified"] = max(changed).isoformat() if changed else None
                entry["partitions"] = {key: value for key, value in entry["partitions"].items()
                                       if key in days or key == WHOLE_TABLE or value["checksum"] is not None}
                recorded[ref] = entry
            return recorded

        return {"checksums": self.checksums.to_dict() if self.checksums else None, "before": kept(self.before),
                "after": kept(self.after) if self.after else None}

    def _dates_done(self) -> int:
        """Dates whose every call is done, now or (the ledger says) by an earlier run: a dry run calls nothing, but
        a date an earlier run finished is done all the same."""
        status = {c.key: DONE_BEFORE for c in self.calls if c.key in (self._done_before or {})}
        status.update({(o.day, o.phase): o.status for o in self.outcomes})
        return sum(bool(keys) and all(status.get(k) in (DONE, DONE_BEFORE) for k in keys)
                   for keys in ([c.key for c in self.calls if c.day == d] for d in self.days))

    def _verdict(self, dates_done: int) -> tuple[str, str]:
        cross = "; ".join(self.map.reads_production_output)
        cross = f" {cross}." if cross else ""
        if self.checked and self.checked.changed:
            first = self.checked.changed[0]
            more = f" (and {len(self.checked.changed) - 1} more tables)" if len(self.checked.changed) > 1 else ""
            lead = f"{self.stopped} " if self.stopped else ""
            return "fail", f"{lead}Production changed outside allowed_prod_writes: {first.ref}: {first.what}{more}."
        if self.stopped:
            return self.verdict_if_stopped, self.stopped
        failed = [o for o in self.outcomes if o.status not in (DONE, DONE_BEFORE)]
        written = ", ".join(self.map.test_datasets.values())
        if failed:
            first = failed[0]
            # the calls that did not finish are named first (a long replay's tables show only their ends)
            named = first_few(f"{o.phase} {o.day.isoformat()}" for o in failed)
            which = f"{len(failed)} calls did not finish ({named}); the first, " if len(failed) > 1 else ""
            return "fail", (f"{dates_done}/{len(self.days)} dates done; {which}{first.phase} {first.day.isoformat()} "
                            f"{first.status}{f' after {first.attempts} attempts' if first.attempts else ''}: "
                            f"{first.error}.")
        empty = self._done_without_output()
        if empty:   # a 200 is no proof of work: the rows are
            return "warn", (f"{len(empty)} of {len(self.days)} dates answered done but wrote no test rows where "
                            f"production has some: {first_few(empty)}; run "
                            f"them again (resume=True calls them again) and read that phase's logs.")
        earlier = sum(o.status == DONE_BEFORE for o in self.outcomes)
        resumed = f" ({earlier} calls done by an earlier run, not repeated)" if earlier else ""
        done = (f"Replayed {len(self.days)} dates of {' -> '.join(self.selected)} into {written}{resumed}; "
                f"production untouched")
        foreign = self.tested.foreign if self.tested else []
        if foreign:   # someone else's datasets: written as they are, without the kit's expiry
            done += f" (into {', '.join(foreign)}, not made by the kit: no expiry set, check they are test datasets)"
        if self.checked and self.checked.allowed:
            leaked = self.checked.run_history_added
            history = self.target.phases.run_history_table
            others = [c.ref for c in self.checked.allowed if c.ref != history]
            said = []
            if leaked:
                said.append(f"{leaked} run-history rows added to production {history} while it ran (upstream "
                            f"writes run history to production whatever dataset_prefix says; the table's new rows, "
                            f"so another writer's count too)")
            if others:
                said.append(f"allowed changes to {', '.join(others)}")
            return "warn", f"{done} but for {'; '.join(said)}.{cross}"
        return ("warn" if foreign else "pass"), f"{done}.{cross}"


def _said(text: str) -> pd.DataFrame:
    return keyed_table([("note", text)], ["step", "outcome"])


def prepare(target: Any, p: Any, progress: bool = True) -> Replay:
    """The replay's dates and ledger from a ReplayParams; reads only. A date outside the data is a ParameterError.

    When production cannot be read (a missing role, a quota) the dates stay as given and the replay is
    blocked at step 2: without fingerprints nothing could prove production untouched."""
    note = ""
    try:
        first, last = data_dates(target.warehouse, target.phases, p.selected_phases(target.phases)[0])
        days = p.days(first, last)
    except (AccessDenied, QuotaExceeded) as exc:
        note = str(exc)
        days = p.days_between(p.start_date or p.end_date, p.end_date or p.start_date) \
            if (p.start_date or p.end_date) else []
    return Replay(target, p, days, warehouse_note=note, progress=progress)
