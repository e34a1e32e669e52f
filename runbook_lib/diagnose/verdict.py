"""Runbook 01's result: findings + builder evidence (+ a source preflight) -> one verdict, fixes, and
the parameters for the redeploy runbook.

`explain` gathers the facts once, then three small functions decide the verdict, the fixes and the
redeploy parameters.
"""
from __future__ import annotations

import html
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ParameterError
from ..formats import headline
from ..phases import PROJECT_ROOT, Phase, load_phases
from ..results import Result
from .build import FAILED_STATUSES, RUNNING_STATUSES, BuilderEvidence, BuildSearch, builder_evidence, when
from .catalogue import Catalogue
from .catalogue_yaml import load_catalogue
from .classify import Finding

RUNBOOKS_DIR = PROJECT_ROOT / "notebooks"
REDEPLOY_RUNBOOK = "02_redeploy_phase.ipynb"


@dataclass(frozen=True)
class FailureType:
    """One failureInfo.type: what Cloud Build means by it, the catalogue signature it names when one fits, and
    what to do when none does."""

    meaning: str
    signature: str | None = None
    fix: str | None = None


# Every failureInfo.type Cloud Build documents (v1 REST, Build.FailureInfo.FailureType). They name the cause
# when the log names none, or when there is no log to read at all.
FAILURE_TYPES = {
    "PUSH_FAILED": FailureType("unable to push the image to the repository", "push-permission-denied"),
    "PUSH_NOT_AUTHORIZED": FailureType("unauthorized push of the final image", "push-permission-denied"),
    "PUSH_IMAGE_NOT_FOUND": FailureType(
        "the final image was not found: no step built an image the build's `images:` names", None,
        "Make each image in the build's `images:` exactly the tag a step builds (`docker build -t IMAGE`, "
        "`pack build IMAGE`), or take it out of `images:`."),
    "FETCH_SOURCE_FAILED": FailureType("the source fetching has failed", "source-fetch-failed"),
    "LOGGING_FAILURE": FailureType(
        "a failure of Cloud Build's own logging backend", None,
        "Run the build again: Cloud Build documents LOGGING_FAILURE as a backend logging failure to retry."),
    "USER_BUILD_STEP": FailureType(
        "a build step has failed", None,
        "Find the failed step and its exit code in the build table, then rerun the build with a log that can "
        "be read (without `options.logging: NONE`, by someone who may read its logs bucket or Cloud Logging) "
        "and diagnose that log."),
    "FAILURE_TYPE_UNSPECIFIED": FailureType("Cloud Build gave no failure type"),
}
# build statuses that name a signature whatever failureInfo says
_STATUS_SIGNATURES = {"TIMEOUT": "build-timeout", "EXPIRED": "build-timeout"}
# Failures no build step made (the source fetch, the push, Cloud Build itself, the clock): their own fix comes
# before the phase's standing buildpacks-vs-Dockerfile fixes, which would not have prevented them.
_NOT_A_STEP_FAILURE_TYPES = {"PUSH_FAILED", "PUSH_NOT_AUTHORIZED", "PUSH_IMAGE_NOT_FOUND", "FETCH_SOURCE_FAILED",
                             "LOGGING_FAILURE"}
_NOT_A_STEP_STATUSES = {"INTERNAL_ERROR", "TIMEOUT", "EXPIRED"}
INTERNAL_ERROR_FIX = ("Run the build again: status INTERNAL_ERROR is Cloud Build's own failure (Google's, not a "
                      "step's); if it fails the same way again, give the build id to Google Cloud support.")
# A catalogue fix about what gcloud uploads, which a trigger build (a clone of its repository) never involves.
_ABOUT_THE_UPLOAD = re.compile(r"\.gcloudignore|\bupload", re.IGNORECASE)


@dataclass(frozen=True)
class StatusReading:
    """A status whose own words replace those of the signature it shares with another status."""

    signature: str
    title: str
    cause: str
    fix: tuple[str, ...]


# EXPIRED shares build-timeout with TIMEOUT, but the build never started: its timeout is not the matter, the time
# it may wait in the queue (the Build's queueTtl) is.
STATUS_READINGS = {
    "EXPIRED": StatusReading(
        "build-timeout", "Build expired in the queue",
        "The build waited in Cloud Build's queue longer than its queue time-to-live (queueTtl) and never started "
        "(status EXPIRED), so no step ran.",
        ("Raise the build's queue time-to-live (`queueTtl:` at the top of the build config, a Build field beside "
         "`timeout:`, e.g. `queueTtl: 7200s`), then submit the build again; its `timeout:` is not the matter.",
         "Run fewer builds at once (deploy in smaller batches) or raise the concurrent-build limit (a private pool), "
         "so builds do not wait in the queue that long.")),
    "TIMEOUT": StatusReading(
        "build-timeout", "Build timed out",
        "The build ran longer than its timeout (`timeout:`, status TIMEOUT), and Cloud Build stopped it.",
        ("Look at the step durations in the build table to see which step was slow.",
         "Raise the build timeout (`timeout:` in the build config or `--timeout` on `gcloud builds submit`) or "
         "make the slow step faster (cache layers, smaller context).")),
}


def step_timeout_reading(step: str) -> StatusReading:
    """A step stopped by its own `timeout:` (the step TIMEOUT, the build FAILURE): that step's limit is the matter,
    not the build's timeout nor its queue."""
    return StatusReading(
        "build-timeout", "Build step timed out",
        f"Build {step} ran longer than its own timeout (step status TIMEOUT), and Cloud Build stopped it; the "
        "build's own timeout was not reached.",
        (f"Raise the `timeout:` of {step} in the build config, or make that step faster (cache layers, smaller "
         "context); the build's `timeout:` and `queueTtl` are not the matter.",
         "Look at the step durations in the build table to see how long it ran."))


def status_reading(evidence: BuilderEvidence | None) -> StatusReading | None:
    """The words of the build's own status (or of its timed-out step) for the signature statuses share."""
    if evidence is None:
        return None
    if evidence.timed_out_step:
        return step_timeout_reading(evidence.timed_out_step)
    return STATUS_READINGS.get(evidence.status or "")


def existing_runbook(name: str) -> str | None:
    """`notebooks/<name>` when that runbook is in this kit, else None: results link only to runbooks that exist."""
    return f"{RUNBOOKS_DIR.name}/{name}" if (RUNBOOKS_DIR / name).is_file() else None


@dataclass
class Diagnosis(Result):
    """Runbook 01's result: a Result plus the cause, the ranked fixes and the redeploy parameters."""

    cause: str = ""
    fixes: list[str] = field(default_factory=list)
    redeploy: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["details"].update({"cause": self.cause, "fixes": list(self.fixes), "redeploy": dict(self.redeploy),
                               "findings": [f.to_dict() for f in self.findings]})
        return out

    def _repr_html_(self) -> str:
        fixes = "".join(f"<li>{html.escape(x)}</li>" for x in self.fixes)
        redeploy = "\n".join(f"{k} = {v!r}" for k, v in self.redeploy.items())
        runbook = existing_runbook(REDEPLOY_RUNBOOK)
        heading = f"Parameters for {runbook}" if runbook else "Redeploy parameters"
        # A phase with no failed build has no cause and nothing to redeploy: no empty headings for them.
        return (super()._repr_html_() + (f"<p><b>Cause:</b> {html.escape(self.cause)}</p>" if self.cause else "")
                + (f"<p><b>Fixes, best first:</b></p><ol>{fixes}</ol>" if fixes else "")
                + (f"<p><b>{html.escape(heading)}:</b></p><pre>{html.escape(redeploy)}</pre>" if redeploy else ""))


@dataclass
class _Facts:
    """What the verdict, the fixes and the redeploy parameters are decided from."""

    ranked: list[Finding]              # log findings, best first (led by the Build resource's cause if any)
    evidence: BuilderEvidence | None
    phase: Phase | None
    preflight: Any
    no_log: str | None = None          # why no log could be read; None when one was (or the caller has no say)

    @property
    def top(self) -> Finding | None:
        return self.ranked[0] if self.ranked else None

    @property
    def status(self) -> str | None:
        return self.evidence.status if self.evidence else None

    @property
    def service(self) -> str | None:
        if self.evidence and self.evidence.service:
            return self.evidence.service
        return self.phase.service if self.phase else None

    @property
    def who(self) -> str:
        if self.evidence and self.evidence.build_id:
            return f"{self.service} build {self.evidence.build_id}"
        return self.service or "The build"

    @property
    def builder(self) -> str:
        if self.evidence:
            return self.evidence.builder
        return self.top.builder if self.top and self.top.builder != "any" else "unknown"

    @property
    def wrong_builder(self) -> bool:
        """A phase with its own Dockerfile that buildpacks built: gcloud saw no top-level Dockerfile."""
        return bool(self.evidence and self.phase and self.evidence.builder == "buildpacks" and self.phase.dockerfile)

    @property
    def lints(self) -> list[Any]:
        return list(getattr(self.preflight, "lints", []) or [])


def rank_findings(findings: list[Finding], evidence: BuilderEvidence | None, catalogue: Catalogue) -> list[Finding]:
    """The findings, led by the signature the Build resource names when the log names none, in the words of the
    build's status when it has its own (STATUS_READINGS)."""
    reading = status_reading(evidence)
    ranked = _rank_by_resource(findings, evidence, catalogue)
    if reading is None:
        return ranked
    return [replace(f, title=reading.title, cause=reading.cause, fix=list(reading.fix))
            if f.signature == reading.signature else f for f in ranked]


def _rank_by_resource(findings: list[Finding], evidence: BuilderEvidence | None,
                      catalogue: Catalogue) -> list[Finding]:
    """A fetch failure, for example, logs nothing useful, but failureInfo.type says what happened."""
    top = findings[0] if findings else None
    if evidence is None or (top is not None and top.signature != "unknown"):
        return list(findings)
    failure = FAILURE_TYPES.get(evidence.failure_type or "")
    implied = (failure.signature if failure else None) or _STATUS_SIGNATURES.get(evidence.status or "")
    said = f"failureInfo.type {evidence.failure_type}" if evidence.failure_type else f"status {evidence.status}"
    if not implied and evidence.timed_out_step:
        implied, said = "build-timeout", f"{evidence.timed_out_step} status TIMEOUT"
    if not implied or implied not in catalogue.ids():
        return list(findings)
    sig = catalogue.get(implied)
    return [Finding.of(sig, evidence=[f"Build resource: {said}"], score=float(sig.weight))] + \
        [f for f in findings if f.signature != "unknown"]


def decide_verdict(facts: _Facts) -> tuple[str, str, str]:
    """(verdict, cause, summary): did the build fail, and why, in one sentence each."""
    top, status, who, builder = facts.top, facts.status, facts.who, facts.builder
    log_failed = bool(top and top.signature != "unknown" and top.severity == "error")
    failed = status in FAILED_STATUSES if status else log_failed
    start_failed = any(f.signature == "container-start-failed" for f in facts.ranked)
    problems = list(getattr(facts.preflight, "problems", []) or [])
    if facts.evidence is None and not facts.ranked:
        return ("blocked", "Neither a build log nor a Build resource was given, so there is nothing to diagnose.",
                "Nothing to diagnose: no log findings and no build.")
    if (failed or start_failed) and facts.no_log is not None and facts.evidence is not None:
        title = top.title if top else _failure_said(facts.evidence, detail=False)
        return ("fail", _cause_without_log(facts),
                f"{who} {status or 'failed'} with {builder}: {title} (no log could be read).")
    if failed or start_failed:
        where = f" (log line {top.line})" if top and top.line else ""
        cause = top.cause if top else "The build failed."
        if top and top.signature == "unknown" and facts.evidence is not None:
            cause = (f"The build ended {status} and no catalogue signature matched the log"
                     f"{'; read line ' + str(top.line) + ' first' if top.line else ''}.")
        summary = f"{who} {status or 'failed'} with {builder}: {top.title if top else 'unknown cause'}{where}."
        return "fail", _blame_the_race(cause, facts), summary
    if status in RUNNING_STATUSES:
        return ("warn", f"The build is still {status}; diagnose it again when it has finished.",
                f"{who} is {status}; nothing to diagnose yet.")
    if status and status != "SUCCESS":
        return ("warn", f"The build ended {status}: it was stopped, not broken, so there is no failure to explain.",
                f"{who} ended {status}; no failure to diagnose.")
    if facts.wrong_builder or problems:
        cause = (f"{facts.service} was built with buildpacks although the phase has its own Dockerfile "
                 f"({facts.phase.dockerfile}), so gcloud did not see a top-level Dockerfile when it ran."
                 if facts.wrong_builder else problems[0])
        return "warn", cause, f"{who} {status or ''} but needs attention: {cause}".replace("  ", " ")
    if facts.evidence is None and top is not None and top.signature == "unknown":
        return ("warn", top.cause,
                "No known failure signature in the log" + (f"; read line {top.line} first." if top.line else "."))
    return "pass", "The build succeeded with the expected builder.", f"{who} {status or 'succeeded'} with {builder}."


def _failure_said(evidence: BuilderEvidence, detail: bool = True) -> str:
    """What the Build resource says went wrong: failureInfo's type, its meaning and (quoted) its detail."""
    if not evidence.failure_type:
        return f"status {evidence.status} and no failureInfo"
    known = FAILURE_TYPES.get(evidence.failure_type)
    said = f"failureInfo.type {evidence.failure_type}" + (f" ({known.meaning})" if known else "")
    if detail and evidence.failure_detail:
        said += f', detail "{" ".join(str(evidence.failure_detail).split())}"'
    return said


def _cause_without_log(facts: _Facts) -> str:
    """A failed build with no log to read: the Build resource's own words lead, then the signature they name."""
    assert facts.evidence is not None
    cause = (f"No log of the build could be read ({facts.no_log.rstrip('.')}), so this comes from the Build "
             f"resource: {_failure_said(facts.evidence)}.")
    top = facts.top
    return f"{cause} {top.cause}" if top is not None and top.signature != "unknown" else cause


def _blame_the_race(cause: str, facts: _Facts) -> str:
    """A failed build that missed its Dockerfile, when the preflight found the deploy scripts' race: say so."""
    race = next((lint for lint in facts.lints if lint.kind == "root-dockerfile-race"), None)
    top = facts.top
    if race is None or top is None or not (top.builder == "buildpacks" or top.signature == "dockerfile-not-in-upload"):
        return cause
    return (f"{cause.rstrip('.')}; the source preflight shows why: {len(race.related)} deploy scripts "
            "copy their Dockerfile to the same ./Dockerfile and race when run together.")


def rank_fixes(facts: _Facts, verdict: str, catalogue: Catalogue) -> list[str]:
    """The fix steps, best first, with the phase's own names filled in; none for a build that is fine."""
    fixes: list[str] = []
    if verdict == "fail" or facts.wrong_builder:
        chosen = list(facts.ranked)
        if facts.wrong_builder and not any(f.builder == "buildpacks" for f in chosen) \
                and "buildpacks-build-failed" in catalogue.ids():
            # A phase with a Dockerfile built by buildpacks: the fix is the explicit Docker build, after the
            # failure's own when no step made it (a push refused is an IAM grant whichever builder ran).
            chosen.insert(1 if chosen and _not_a_step_failure(facts) else 0,
                          Finding.of(catalogue.get("buildpacks-build-failed")))
        lead = chosen[0] if chosen else None
        for f in chosen:
            if f.signature == "unknown" and len(chosen) > 1:
                continue
            # Findings that share the lead's builder are the same root cause: their fixes repeat it.
            if f is not lead and f.builder != "any" and lead is not None and f.builder == lead.builder:
                continue
            fixes.extend(x for x in f.fix if x not in fixes)
    failure = FAILURE_TYPES.get(facts.evidence.failure_type or "") if facts.evidence else None
    if verdict == "fail" and facts.no_log is not None and failure and failure.fix and not facts.ranked:
        fixes.insert(0, failure.fix)   # no log and no signature: what Cloud Build's own failure type calls for
    fixes = _for_a_trigger(fixes, facts.evidence)
    for lint in facts.lints:
        if lint.severity == "error" and lint.message not in fixes:
            fixes.insert(0 if lint.kind == "root-dockerfile-race" else len(fixes), lint.message)
    if verdict == "fail" and facts.status == "INTERNAL_ERROR":
        fixes.insert(0, INTERNAL_ERROR_FIX)
    return [_fill(x, facts.phase, facts.service) for x in fixes]


def _not_a_step_failure(facts: _Facts) -> bool:
    evidence = facts.evidence
    return evidence is not None and (evidence.failure_type in _NOT_A_STEP_FAILURE_TYPES
                                     or evidence.status in _NOT_A_STEP_STATUSES)


def trigger_fix(evidence: BuilderEvidence) -> str:
    """What a trigger build's missing file calls for: the commit the trigger cloned, not an upload filter."""
    return (f"This build came from {evidence.trigger_said}: check that the files the log names are committed "
            f"there (`git ls-tree -r --name-only {evidence.trigger_commit or 'COMMIT_SHA'}`) and not excluded by "
            ".dockerignore, and that the trigger's build config builds the right directory and Dockerfile (`-f`).")


def _for_a_trigger(fixes: list[str], evidence: BuilderEvidence | None) -> list[str]:
    """A trigger build's fixes: those about gcloud's upload replaced, where the first stood, by the trigger's."""
    if evidence is None or not evidence.trigger_id:
        return fixes
    about = [i for i, x in enumerate(fixes) if _ABOUT_THE_UPLOAD.search(x)]
    if not about:
        return fixes
    kept = [x for x in fixes if not _ABOUT_THE_UPLOAD.search(x)]
    kept.insert(about[0], trigger_fix(evidence))
    return kept


def redeploy_parameters(phase: Phase | None, source_dir: str | None, preflight: Any = None) -> dict[str, Any]:
    """Parameters of the redeploy runbook (params.RedeployParams): the phase, its checkout ("" for the target's
    own) and the explicit Docker build with the phase's own Dockerfile; dry_run first, as the runbook does."""
    return {
        "phase": phase.name if phase else None,
        "source_dir": source_dir or getattr(preflight, "source_dir", None) or "",
        "strategy": "cloudbuild-config",
        "dry_run": True,
    }


def _fill(step: str, phase: Phase | None, service: str | None) -> str:
    """Put the phase's own names into a catalogue fix step."""
    if phase is not None:
        step = step.replace("cloudbuild-<phase>.yaml", f"cloudbuild-{phase.name}.yaml")
        step = step.replace("<phase Dockerfile>", shlex.quote(phase.dockerfile))   # pasted into commands
        step = step.replace("--region REGION", f"--region {phase.region}")
    if service:
        step = step.replace("gcloud run deploy SERVICE", f"gcloud run deploy {service}")
    return step


def _phase_for(service: str | None, phase: Any, phases: Any) -> Phase | None:
    if phase is not None:
        return phases.get(phase.name if hasattr(phase, "name") else phase)
    if service:
        try:
            return phases.by_service(service)
        except ParameterError:
            return None
    return None


def explain(findings: list[Finding], evidence: BuilderEvidence | None = None, preflight: Any = None, *,
            phase: Any = None, phases: Any = None, source_dir: str | None = None,
            catalogue: Catalogue | None = None, no_log: str | None = None) -> Diagnosis:
    """Turn findings (+ builder evidence, + an optional source preflight) into one verdict with fixes.

    The redeploy parameters name the phase (from `phase`, else from the build's service tag), the
    source directory, the phase's Dockerfile from the registry, and strategy "cloudbuild-config".
    `no_log` says why no log could be read (the findings then come from nothing): the Build resource's
    failureInfo then leads the cause, and nothing is said about a log.
    """
    if no_log is not None and not (isinstance(no_log, str) and no_log.strip()):
        raise ParameterError("no_log", no_log, "give one sentence saying why no log could be read, or None")
    if not isinstance(findings, list) or not all(isinstance(f, Finding) for f in findings):
        raise ParameterError("findings", findings, "give the list of Finding values classify_log returned")
    if evidence is not None and not isinstance(evidence, BuilderEvidence):
        raise ParameterError("evidence", evidence, "give the BuilderEvidence from builder_evidence(build) or None")
    cat = catalogue if catalogue is not None else load_catalogue()
    if phases is None:
        phases = load_phases()
    if no_log is not None:   # with no log, "unknown" points at no line: leave it out
        findings = [f for f in findings if f.signature != "unknown"]
    facts = _Facts(rank_findings(findings, evidence, cat), evidence,
                   _phase_for(evidence.service if evidence else None, phase, phases), preflight, no_log)
    verdict, cause, summary = decide_verdict(facts)
    if evidence is not None and evidence.trigger_id and _ABOUT_THE_UPLOAD.search(cause):
        cause = (f"{cause.rstrip()} This build came from {evidence.trigger_said}: its source is what the trigger "
                 "fetched from its repository, not a gcloud upload.")
    redeploy = redeploy_parameters(facts.phase, source_dir, preflight)
    top = facts.top
    figures = {
        "builder": facts.builder,
        "top_signature": top.signature if top else None,
        "build_status": facts.status,
        "service": facts.service,
        "phase": redeploy["phase"],
        "log_source": None,  # the caller knows where the log came from
    }
    details = {
        "evidence": evidence.to_dict() if evidence else None,
        "preflight": preflight.to_dict() if hasattr(preflight, "to_dict") else None,
    }
    return Diagnosis(name="diagnose_build", verdict=verdict, summary=headline(summary), figures=figures,
                     details=details, cause=" ".join(cause.split()), fixes=rank_fixes(facts, verdict, cat),
                     redeploy=redeploy, findings=facts.ranked)


# ---- a phase's latest failed build, read against its last builds

def none_failed(search: BuildSearch, phase: str) -> Diagnosis:
    """A phase whose last builds all went well: nothing to diagnose is a pass, not a kit error."""
    said = f"No failed build of {search.service} in {search.region} ({search.looked_at()})."
    return Diagnosis(name="diagnose_build", verdict="pass", summary=headline(said),
                     figures={"service": search.service, "phase": phase, "builds_looked_at": len(search.builds)},
                     details={"builds_looked_at": search.table().to_dict(orient="records")})


def superseded(dx: Diagnosis, failed: dict, later: dict) -> Diagnosis:
    """A failure a later successful build of the same service replaced: a warning that says so, with the failed
    build's diagnosis kept below it for the record."""
    if dx.verdict != "fail":
        return dx
    service = builder_evidence(failed).service or dx.figures.get("service")
    said = (f"{service} build {failed.get('id')} {failed.get('status')} on {when(failed)}, but build "
            f"{later.get('id')} of it succeeded later, on {when(later)}")
    return replace(dx, verdict="warn",
                   summary=headline(f"Superseded: {said}."),
                   cause=(f"Superseded: {said}, so this failure no longer decides what is deployed (runbook 00 shows "
                          f"what serves now); the failed build's diagnosis, for the record: {dx.cause}"),
                   figures={**dx.figures, "superseded_by": later.get("id")},
                   details={**dx.details, "superseded_by": {k: later.get(k) for k in
                                                            ("id", "status", "createTime", "finishTime")}})
