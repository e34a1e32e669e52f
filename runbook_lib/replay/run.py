"""Step 5 of runbook 03: the calls, with bounded concurrency, retries, a progress bar and the ledger.

Each (date, phase) is one call with the phase's real payload: Phase 3's /process-date-range for that
one date (so the ledger and Phase 4 can follow date by date), Phase 4's /process-date; dataset_prefix
set, backfill_mode on (no downstream triggers). A phase's date waits until the phase before it has
finished that date; a failed date is not run further down.

429, 500, 503, timeouts and dropped connections are retried with exponential backoff and full jitter
(tenacity), never sooner than the answer's Retry-After asks (within the call's patience); an expired
identity token (401) is minted again once. A 2xx whose body says `"status": "failed"` (or "error") is a
failed call: the phase services answer 200 for a run whose processors failed. The first call of each phase runs alone and `after_first`
may stop the run there (runbook.py re-fingerprints production: a phase that wrote production is
stopped after one date, not after all of them).

Before each attempt of a call and each ledger write the ledger's hold is checked (Ledger.check_hold): a run
whose claim on the prefix another run took over while this one was paused stops there with ClaimLost.
Before each attempt the phase's traffic is read again (services.traffic_now, one read of the service): step 2
checked the revisions serving it then, and a rollback or a redeploy meanwhile would send the calls to code nobody
checked (one that ignores the prefix writes production). A revision step 2 did not check stops the replay before that attempt is sent.
"""
from __future__ import annotations

import functools
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import date, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable

from tenacity import Retrying, retry_if_exception_type, retry_if_result, stop_after_attempt, wait_random_exponential

from ..errors import RunbookError, ServiceTimeout
from ..formats import one_line
from ..progress import bar as progress_bar
from ..phases import Phase
from ..services import ConnectionDropped, ServiceResponse
from .claims import ClaimLost
from .ledger import DONE, FAILED, RUNNING, LedgerEntry

RETRY_STATUSES = (429, 500, 503)
RETRY_ERRORS = (ServiceTimeout, ConnectionDropped)   # no answer: the call may or may not have run; both are safe to repeat
FAILED_BODY_STATUSES = ("failed", "error")            # a 2xx body's "status" that says the run did not do its work
DONE_BEFORE = "done earlier"      # finished by an earlier run (the ledger), not called again
NOT_RUN = "not run"


@dataclass
class RetryPolicy:
    attempts: int = 5          # calls in all, the first included
    base_s: float = 1.0        # backoff before retry n is uniform in [0, min(max_s, base_s * 2**n)]
    max_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    # The most one call waits between its attempts in all: a Retry-After beyond what is left of it is cut to it
    # (and the outcome says so), so one overloaded service cannot hold a replay for hours.
    patience_s: float = 300.0


@dataclass(frozen=True)
class Call:
    day: date
    phase: str
    payload: dict

    @property
    def key(self) -> tuple[date, str]:
        return (self.day, self.phase)


@dataclass
class Outcome:
    day: date
    phase: str
    status: str                 # done | failed | done earlier | not run
    attempts: int = 0
    seconds: float = 0.0
    http_status: int | None = None
    error: str = ""
    note: str = ""              # e.g. a Retry-After cut to the call's patience

    @property
    def finished(self) -> bool:
        return self.status in (DONE, DONE_BEFORE)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["day"] = self.day.isoformat()
        return d


def payload_for(phase: Phase, day: date, processors: tuple[str, ...], prefix: str) -> dict:
    """The phase's own request body for one date; processors () means all of them, as upstream reads []."""
    common = {"processors": list(processors), "backfill_mode": True, "dataset_prefix": prefix}
    if phase.payload_style == "date_range":
        return {"start_date": day.isoformat(), "end_date": day.isoformat(), **common}
    return {"analysis_date": day.isoformat(), **common, "strict_mode": True, "skip_dependency_check": False}


def plan_calls(phases: list[Phase], days: list[date], processors: dict[str, tuple[str, ...]],
               prefix: str) -> list[Call]:
    return [Call(day, phase.name, payload_for(phase, day, processors.get(phase.name, ()), prefix))
            for phase in phases for day in days]


class Tokens:
    """Identity tokens per phase: minted on first use, again after a 401; never printed or stored."""

    def __init__(self, services: Any, principal: str | None = None):
        self.services, self.principal = services, principal
        self._tokens: dict[str, str] = {}

    def get(self, phase: str) -> str:
        if phase not in self._tokens:
            self._tokens[phase] = self.services.identity_token(principal=self.principal, phase=phase)
        return self._tokens[phase]

    def refresh(self, phase: str) -> str:
        self._tokens.pop(phase, None)
        return self.get(phase)


def retry_after_s(response: Any, now: float | None = None) -> float | None:
    """The wait an answer's Retry-After asks for, in seconds (delay-seconds or an HTTP date); None without one."""
    value = (getattr(response, "headers", None) or {}).get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:   # asctime's form and a -0000 zone: HTTP dates are all GMT (RFC 9110 5.6.7)
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class PatientWait:
    """tenacity's wait: the policy's jittered backoff, at least what Retry-After asks, within the call's patience."""

    def __init__(self, policy: RetryPolicy):
        self.policy = policy
        self.backoff = wait_random_exponential(multiplier=policy.base_s, max=policy.max_s)
        self.waited = 0.0
        self.spent = False
        self.note = ""

    def __call__(self, state: Any) -> float:
        wait = self.backoff(state)
        asked = None if state.outcome.failed else retry_after_s(state.outcome.result())
        if asked is not None:
            wait = max(wait, asked)
        left = max(0.0, self.policy.patience_s - self.waited)
        if left <= 0:   # (tenacity asks the wait before the stop, which reads this and ends the call)
            self.spent = True
            return 0.0
        if wait > left:
            if asked is not None and asked > left:
                self.note = (f"the service asked to wait {asked:g}s (Retry-After); waited {left:g}s, what was left "
                             f"of the call's patience ({self.policy.patience_s:g}s)")
            wait = left
        self.waited += wait
        return wait


def failed_body(response: ServiceResponse) -> str:
    """Why a 2xx answer is still a failed call ("" when it is not): its body's status says so."""
    body = response.body if isinstance(response.body, dict) else {}
    status = body.get("status")
    if not (isinstance(status, str) and status.lower() in FAILED_BODY_STATUSES):
        return ""
    run = body.get("run") if isinstance(body.get("run"), dict) else {}
    processors = [p for p in run.get("processors") or [] if isinstance(p, dict) and p.get("error")]
    why = body.get("error") or run.get("error") or (
        f"{processors[0].get('processor', 'a processor')}: {processors[0]['error']}" if processors else "")
    return f"HTTP {response.status} but the answer says status {status!r}" + (f": {one_line(str(why), 300)}" if why else "")


class StopRetrying(RunbookError):
    """Why a call must not be sent again (production was written by its earlier attempt)."""


class Interrupted(Exception):
    """The replay was interrupted (Ctrl-C in JupyterLab): a call out is not sent again."""


class TrafficMoved(RunbookError):
    """A phase's traffic went to a revision step 2 did not check while the replay ran: nothing more is sent."""


def call_with_retries(services: Any, tokens: Tokens, call: Call, policy: RetryPolicy,
                      check_hold: Callable[[], None] | None = None,
                      before_retry: Callable[[], str] | None = None) -> Outcome:
    """One (date, phase): the call, retried on 429/500/503, timeouts and dropped connections; never raises for a
    refusal. `check_hold` runs before each attempt (a retry may come after a pause): its ClaimLost is raised.
    `before_retry` runs before each attempt after the first: a reason it gives ends the call there, failed."""
    started = time.monotonic()
    attempts = 0

    def once():
        nonlocal attempts
        if check_hold is not None:
            check_hold()
        if attempts and before_retry is not None:
            why = before_retry()
            if why:
                raise StopRetrying(why)
        attempts += 1
        response = services.invoke(call.phase, call.payload, token=tokens.get(call.phase))
        if response.status == 401:   # an identity token lives an hour: a long replay outlives it
            response = services.invoke(call.phase, call.payload, token=tokens.refresh(call.phase))
        return response

    waits = PatientWait(policy)
    # once the call's patience is spent, another attempt would go at once at a service that asked for a wait
    retrying = Retrying(stop=stop_after_attempt(policy.attempts) | (lambda state: waits.spent), wait=waits,
                        retry=retry_if_exception_type(RETRY_ERRORS) | retry_if_result(
                            lambda r: r.status in RETRY_STATUSES),
                        retry_error_callback=lambda state: state.outcome, sleep=policy.sleep)
    outcome = Outcome(call.day, call.phase, FAILED)
    try:
        answer = retrying(once)
        if isinstance(answer, Future):      # every attempt was used up: the last one's answer or error
            answer = answer.result()
    except (ClaimLost, Interrupted):        # not this call's failure: the whole replay stops
        raise
    except TrafficMoved as exc:             # the replay stops too, but this call's answer is the ledger's to keep
        outcome.status = FAILED if attempts else NOT_RUN
        outcome.error = f"{'not sent again' if attempts else 'not sent'}: {exc}"
    except StopRetrying as exc:
        outcome.error = f"not sent again: {exc}"
    except RunbookError as exc:             # a timeout on the last attempt, a refused token, no URL ...
        outcome.error = one_line(str(exc))
    else:
        body = answer.body if isinstance(answer.body, dict) else {}
        outcome.http_status = answer.status
        failed = failed_body(answer) if answer.ok else ""
        if answer.ok and not failed:
            outcome.status = DONE
        elif answer.ok:
            outcome.error = failed
        else:
            outcome.error = f"HTTP {answer.status}: {one_line(str(body.get('error') or body), 300)}"
    outcome.attempts, outcome.seconds = attempts, round(time.monotonic() - started, 3)
    outcome.note = waits.note
    return outcome


@dataclass
class Replayer:
    """Runs the calls; writes the ledger as each starts and ends (the ledger is written by this thread only).
    ClaimLost from the ledger's check stops the run where it is: the calls already out end, none more go.
    A phase's traffic moved to a revision outside `serving` stops it too (`stopped` says so): no attempt goes
    after that, the answers of those already sent are written, the calls waiting are not run."""

    services: Any
    tokens: Tokens
    ledger: Any
    prefix: str
    revisions: dict[str, str]                       # phase -> the revision serving it now
    processors: dict[str, tuple[str, ...]]
    concurrency: int = 2
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    after_first: Callable[[str], str] | None = None  # phase -> "" to go on, or why to stop
    progress: bool = True
    stopped: str = ""
    # phase -> every revision with a share of its traffic that step 2 checked; before each attempt the phase's
    # traffic is read again and must go to these only (a phase not named here is not read again)
    serving: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The run's state, kept by run() and its helpers.
    _previous: dict[str, str] = field(default_factory=dict, init=False)     # phase -> the phase before it
    _results: dict[tuple[date, str], Outcome] = field(default_factory=dict, init=False)
    _checked: dict[str, bool] = field(default_factory=dict, init=False)     # its first call passed after_first
    _trying: dict[str, bool] = field(default_factory=dict, init=False)      # its first call is out
    _interrupted: bool = field(default=False, init=False)
    _moved: str = field(default="", init=False)       # why the traffic check stopped the run (set by a call's thread)
    # (date, phase) -> the revision serving most of the phase's traffic when the call's last attempt was checked:
    # what the ledger records as having served it
    _seen: dict[tuple[date, str], str] = field(default_factory=dict, init=False)

    def run(self, calls: list[Call], done_before: dict[tuple[date, str], LedgerEntry]) -> list[Outcome]:
        order = list(dict.fromkeys(c.phase for c in calls))
        self._previous = {phase: order[i - 1] for i, phase in enumerate(order) if i}
        self._results = {c.key: Outcome(c.day, c.phase, DONE_BEFORE, done_before[c.key].attempts,
                                        done_before[c.key].seconds) for c in calls if c.key in done_before}
        self._checked = {phase: self.after_first is None for phase in order}
        self._trying = {phase: False for phase in order}
        # Later phases first: a date all the way through beats another date half-way.
        waiting = sorted((c for c in calls if c.key not in self._results), key=lambda c: (-order.index(c.phase), c.day))
        running: dict[Future, Call] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="replay") as pool, \
                progress_bar(total=len(calls), initial=len(self._results), desc=f"replay {self.prefix}", unit="call",
                     disable=not self.progress) as bar:
            while True:
                self.stopped = self.stopped or self._moved
                for call in [c for c in waiting if self._hopeless(c)]:
                    waiting.remove(call)
                    self._results[call.key] = Outcome(call.day, call.phase, NOT_RUN, error=self._hopeless(call))
                    bar.update(1)
                for call in list(waiting):
                    if len(running) >= self.concurrency or not self._ready(call):
                        continue
                    waiting.remove(call)
                    self._trying[call.phase] = True
                    self._write(call, RUNNING)
                    # a phase's first call may write production and then fail: checked before it is sent again
                    unchecked = not self._checked[call.phase] and self.after_first is not None
                    running[pool.submit(call_with_retries, self.services, self.tokens, call, self.policy,
                                        functools.partial(self._before_attempt, call),
                                        functools.partial(self.after_first, call.phase) if unchecked else None)] = call
                if not running:
                    break
                try:
                    settled = wait(running, return_when=FIRST_COMPLETED)[0]
                except KeyboardInterrupt:
                    self._settle_interrupted(running)
                    raise
                for future in settled:
                    self._finished(running.pop(future), future.result())
                    bar.update(1)
                    bar.set_postfix(retries=sum(max(0, o.attempts - 1) for o in self._results.values()
                                                if o.status in (DONE, FAILED)))
        for call in waiting:   # nothing left that could make them ready
            self._results[call.key] = Outcome(call.day, call.phase, NOT_RUN, error=self.stopped or "never became ready")
        return [self._results[c.key] for c in calls]

    def _before_attempt(self, call: Call) -> None:
        if self._interrupted:
            raise Interrupted("the replay was interrupted")
        self.ledger.check_hold()
        self._check_traffic(call)

    def _check_traffic(self, call: Call) -> None:
        """TrafficMoved unless the phase's traffic still goes only to revisions step 2 checked. Cloud Run routes
        each request by the traffic at that moment, so this is read before every attempt, not once per phase."""
        if self._moved:   # another call's thread found it: the replay is stopping, whatever the phase
            raise TrafficMoved(self._moved)
        checked = self.serving.get(call.phase)
        if not checked:
            return
        try:
            serving = self.services.traffic_now(call.phase)
        except RunbookError as exc:   # unread, it could be anything: not sent (a resume makes it again)
            raise RunbookError(f"{call.phase}'s traffic could not be read before the call, so it was not sent: "
                               f"{one_line(str(exc), 300)}") from None
        new = [name for name, _ in serving if name not in checked]
        if not new and serving:
            self._seen[call.key] = serving[0][0]
            return
        shares = ", ".join(f"{name} ({percent}%)" if len(serving) > 1 else name for name, percent in serving) or \
            "no revision"
        unchecked = "none is ready" if not serving else "not checked by this replay" if len(new) == len(serving) \
            else f"{', '.join(new)} not checked by this replay"
        check = f"check {', '.join(new)} with runbook 00 (or redeploy with runbook 02)" if new else \
            "check it with runbook 00"
        self._moved = self._moved or (
            f"Stopped: {call.phase}'s traffic moved from {', '.join(checked)} to {shares} ({unchecked}) while the "
            f"replay ran; nothing more was sent: {check} and resume with resume=True.")
        raise TrafficMoved(self._moved)

    def _settle_interrupted(self, running: dict[Future, Call]) -> None:
        """After Ctrl-C: no call out is sent again, and the answer of each attempt still in flight is waited for and
        written to the ledger (a call that finished is not called again by a resume; one cut short stays running)."""
        self._interrupted = True
        for future, call in running.items():
            try:
                outcome = future.result()
            except BaseException:   # (Interrupted before a retry, ClaimLost ...): cut short, "running" says so
                continue
            self._results[call.key] = outcome
            self._write(call, FAILED if outcome.status == NOT_RUN else outcome.status, outcome)

    def _hopeless(self, call: Call) -> str:
        """Why a waiting call will never run: the replay stopped, or the phase before did not finish its date."""
        earlier = self._previous.get(call.phase)
        prior = self._results.get((call.day, earlier)) if earlier else None
        if self.stopped:
            return self.stopped
        return f"{earlier} did not finish {call.day.isoformat()}" if prior and prior.status in (FAILED, NOT_RUN) else ""

    def _ready(self, call: Call) -> bool:
        """The phase before finished this date, and this phase's first call is not still out alone."""
        earlier = self._previous.get(call.phase)
        prior = self._results.get((call.day, earlier)) if earlier else None
        if earlier and not (prior and prior.finished):
            return False
        return self._checked[call.phase] or not self._trying[call.phase]

    def _finished(self, call: Call, outcome: Outcome) -> None:
        self._results[call.key] = outcome
        # a call the traffic check kept back ends its "running" entry as failed: a resume makes it again
        self._write(call, FAILED if outcome.status == NOT_RUN else outcome.status, outcome)
        if not self._checked[call.phase]:
            self._trying[call.phase] = False
            # whatever its answer: a call that failed (a 500 after a commit, a timeout) may have written production
            why = self.after_first(call.phase) if self.after_first else ""
            # the traffic's move is the cause of a write to production it led to: said first
            self.stopped = self.stopped or self._moved or why
            self._checked[call.phase] = outcome.status == DONE and not self.stopped
        self.stopped = self.stopped or self._moved

    def _write(self, call: Call, status: str, outcome: Outcome | None = None) -> None:
        self.ledger.check_hold()   # ClaimLost: this run's claim was taken over, nothing more is written or called
        self.ledger.write(LedgerEntry(
            day=call.day, phase=call.phase, status=status, prefix=self.prefix,
            revision=self._seen.get(call.key) or self.revisions.get(call.phase, ""),
            processors=self.processors.get(call.phase, ()),
            attempts=outcome.attempts if outcome else 0, seconds=outcome.seconds if outcome else 0.0,
            error=outcome.error if outcome else ""))
