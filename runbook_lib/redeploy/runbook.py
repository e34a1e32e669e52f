"""Runbook 02 step by step, as notebooks/02_redeploy_phase.ipynb calls it:

    run = redeploy.prepare(tg, p)      # the plan and what runs now (reads only)
    run.before.table(); run.plan       # 1. before, 2. plan
    run.guard()                        # 5. the guards, checked before anything changes
    run.execute()                      # 3. build + deploy with no traffic under the tag `candidate` (nothing with
                                       #    dry_run, or when a guard refused, then or again after the build)
    run.verify()                       # 4. checks on the tag's URL; only if they pass, the traffic moved to it and
                                       #    checked again, and the rollback
    report.record(run.result())

Each step after a stop (dry run, refusal, failed build) says why it did nothing, so the notebook needs no
branches; the result's verdict is decided from what really happened.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ..errors import ParameterError, RunbookError
from ..formats import headline, keyed_table, sentence
from ..params.base import superseded
from ..protocols import BUILD_TIMEOUT_S, ROLLOUT_TIMEOUT_S, Progress
from ..results import Result
from ..services import Rollout, RolloutInProgress
from . import guards
from .execute import Built, build_image, deploy_image
from .observe import Before, before, said, serving
from .plan import DeployPlan, make_plan
from .verify import Check, checks_table, counted, not_needed, rollback, verify


SUMMARY_CHARS = 400


@dataclass
class RedeployResult(Result):
    plan: DeployPlan | None = None
    checks: list[Check] = field(default_factory=list)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(c.name)}</td><td>{c.status}</td><td>{html.escape(c.detail)}</td></tr>"
                       for c in self.checks)
        return super()._repr_html_() + (f"<table>{rows}</table>" if rows else "")


class Redeploy:
    def __init__(self, target: Any, plan: DeployPlan, before: Before, dry_run: bool = True,
                 auto_rollback: bool = True, progress: Progress | None = print):
        self.target, self.plan, self.before = target, plan, before
        self.dry_run, self.auto_rollback, self.progress = dry_run, auto_rollback, progress
        self.build_timeout_s, self.rollout_timeout_s = BUILD_TIMEOUT_S, ROLLOUT_TIMEOUT_S
        self.refusals: list[str] | None = None
        self.built: Built | None = None
        self.rollout: Rollout | None = None
        self.checks: list[Check] = []
        self.rolled_back: Rollout | None = None
        self.rollback_confirmed = False
        self.migrated = False                 # did this run move traffic to the new revision (after its tag checks)
        self.followed_latest = False          # a LATEST traffic target before the run: a rollback ends that
        self.deploy_later = ""                # refused after the build: the command that deploys its image later
        self.refused_deploy = ""              # why the deploy was refused after the guard() step had cleared it
        self.stopped = ""                     # why the later steps do nothing ("" while going on)
        self.failure = ""                     # what went wrong, for the verdict
        self.executed = False                 # execute() has started its build or deploy (once per plan)
        self.verified = False                 # verify() has run its checks (once per deploy)
        self.params: Any = None               # what prepare() was given: a cell after it acts on those values only

    # ---- the steps

    def guard(self) -> pd.DataFrame:
        """Refuse to start while another build or rollout of the service runs, or a deploy script's ./Dockerfile
        lies in the checkout."""
        self.refusals = guards.refusals(self.target, self.plan)
        if self.refusals and not self.stopped:
            self.stopped = f"Refused to start: {self.refusals[0]}"
        rows = [("refused", r) for r in self.refusals] or [("clear", "No build or rollout of "
                                                             f"{self.plan.service} is in progress and the checkout "
                                                             "holds no deploy script's ./Dockerfile.")]
        return keyed_table(rows, ["guard", "detail"])

    def execute(self) -> pd.DataFrame:
        """Build (the cloudbuild-config strategy) and deploy; with dry_run nothing at all."""
        if (changed := self._superseded()) is not None:
            return _said(changed)
        if self.refusals is None:
            self.guard()
        if self.dry_run and not self.stopped:
            self.stopped = "Dry run: nothing was built, deployed or changed."
        if self.stopped:
            return _said(self.stopped)
        if self.executed:   # a cell run again (or after an interrupt): never a second build of the same plan
            if self.rollout is not None:
                return _said(f"This run already deployed {self.rollout.revision} with no traffic (tag "
                             f"{self.plan.tag}): verify it with the next step, or prepare the redeploy again from the "
                             "top to start over.")
            return self._stop("This run's deploy was started once and did not finish (interrupted?): it may have "
                              f"built an image or deployed a candidate tagged {self.plan.tag}; prepare the redeploy "
                              "again from the top, whose guard sees what is still running.")
        self.executed = True
        image = self.plan.image
        if self.plan.config is not None:
            try:
                self.built = build_image(self.target, self.plan, self.progress, self.build_timeout_s)
            except ParameterError:
                raise
            except RunbookError as exc:   # a timeout, or the build refused (permissions, quota ...)
                return self._stop(f"{sentence(exc)} Nothing was deployed; {self.plan.previous_revision} still serves.")
            if not self.built.ok:
                return self._stop(f"Build {self.built.build.get('id')} ended {self.built.build.get('status')}, "
                                  f"nothing was deployed ({self.plan.previous_revision} still serves): "
                                  f"{self.built.why()}")
            image = self.built.image
        own_build = self.built.build.get("id", "") if self.built else ""
        try:
            # checked again and deployed only on the service as checked: another run may be about to deploy too
            self.rollout, late = guards.claimed(
                self.target, self.plan, lambda: guards.before_deploy(self.target, self.plan, own_build),
                lambda etag: deploy_image(self.target, self.plan, image, self.progress, self.rollout_timeout_s, etag))
        except RolloutInProgress as exc:   # started after the guard looked
            return self._refuse_deploy(sentence(exc), image)
        except ParameterError:
            raise
        except RunbookError as exc:        # refused before any revision existed (an image that is not there ...)
            return self._stop(f"{sentence(exc)} {self.plan.previous_revision} still serves.")
        if late or self.rollout is None:
            return self._refuse_deploy(late[0], image)
        rows = [("image", image), ("revision", self.rollout.revision or "(none)"),
                ("ready", "yes" if self.rollout.ready else "NO"), ("message", self.rollout.message),
                ("tag", f"{self.plan.tag}: {self.rollout.tag_url or '(no URL: the revision is not ready)'}"),
                ("traffic", f"none to {self.rollout.revision or 'it'} yet: "
                            f"{said(self.rollout.traffic or self.plan.previous_traffic)} serves")]
        if self.built is not None:
            rows.insert(0, ("build", f"{self.built.build.get('id')} {self.built.build.get('status')}"))
        rows += [("also", note) for note in self.rollout.notes]
        return keyed_table(rows, ["step", "outcome"])

    def verify(self) -> pd.DataFrame:
        """The checks on the tag's URL, then (only when they pass) the traffic moved and checked; a failure after the
        traffic moved rolls it back to the revision that served before (auto_rollback), one before needs no rollback."""
        if self.rollout is None:
            return _said(self.stopped or "Nothing was deployed, so there is nothing to verify.")
        if (changed := self._superseded()) is not None:
            return _said(changed)
        if self.verified:   # the cell run again: checked against the deploy's start, this run's own move of the
            # traffic would read as someone else's, and a pass as "production never reached it"
            passed, total = counted([c for c in self.checks if c.name != "rollback"])
            done = ("the traffic was moved to it" if self.migrated and not self.rolled_back else
                    "the traffic was rolled back" if self.rolled_back else "no traffic was moved to it")
            return _said(f"This run already verified {self.rollout.revision} ({passed}/{total} checks passed; "
                         f"{done}): its checks stand, and nothing was checked or moved again; prepare the redeploy "
                         "again from the top to start over.")
        self.verified = True
        try:
            self.checks, _, left, self.migrated = verify(self.target, self.plan, self.rollout, self.before.now)
        finally:   # the redeploy is done with the tag's URL (the sandbox stops the process it started for it)
            try:
                self.target.services.scale_tag_to_zero(self.plan.phase, self.plan.tag)
            except RunbookError:
                pass
        failed = [c for c in self.checks if c.status == "fail"]
        if failed:
            self.failure = f"{failed[0].name}: {failed[0].detail}"
            if not self.migrated:
                self.checks.append(not_needed(self.target, self.plan, self.rollout.revision, self.followed_latest))
            elif self.auto_rollback:
                self.rolled_back, self.rollback_confirmed, check = rollback(
                    self.target, self.plan, self.rollout.revision, left, self.followed_latest)
                self.checks.append(check)
        return checks_table(self.checks)

    def _superseded(self) -> str | None:
        return None if self.params is None else superseded(self.params, "the redeploy")

    def _stop(self, why: str) -> pd.DataFrame:
        self.stopped = self.failure = why
        return _said(why)

    def _refuse_deploy(self, why: str, image: str) -> pd.DataFrame:
        """A guard that changed while the build ran: nothing is deployed, and the image built is kept for later."""
        self.refusals, self.refused_deploy = [*(self.refusals or []), why], why
        self.stopped = f"Refused to deploy: {why} Nothing was deployed."
        rows = [("refused", why)]
        if self.built is not None:
            # the deploy, the check on the tag's URL and the migration: the deploy alone gives the image no traffic
            self.deploy_later = " ; ".join(replace(self.plan, image=image, config=None).commands())
            self.stopped += (f" Build {self.built.build.get('id')}'s image is kept: {self.deploy_later}"
                             f"{self.plan.gcp_only}")
            rows += [("kept", f"build {self.built.build.get('id')} pushed {image}"),
                     ("deploy it later with", self.deploy_later)]
        return keyed_table(rows, ["step", "outcome"])

    # ---- the verdict

    def result(self) -> RedeployResult:
        plan = self.plan
        passed, total = counted([c for c in self.checks if c.name != "rollback"])
        figures = {"old revision": plan.previous_revision,
                   "new revision": self.rollout.revision if self.rollout and self.rollout.revision else "-",
                   "commit": plan.commit_short, "checks passed": f"{passed}/{total}",
                   "rolled back": "yes" if self.rollback_confirmed else "no"}
        verdict, summary = self._verdict()
        details = {"plan": plan.to_dict(), "before": self.before.to_dict(), "refusals": list(self.refusals or []),
                   "build": self.built.to_dict() if self.built else None,
                   "rollout": self.rollout.to_dict() if self.rollout else None,
                   "checks": [c.to_dict() for c in self.checks],
                   "rollback": self.rolled_back.to_dict() if self.rolled_back else None, "dry_run": self.dry_run,
                   "followed_latest": self.followed_latest, "migrated": self.migrated,
                   **({"deploy_later": self.deploy_later} if self.deploy_later else {})}
        # Longer than most summaries: a failure names the revision, where the traffic is and why, and the index
        # cuts it for its row anyway (the run's own page shows it whole).
        return RedeployResult(name="redeploy_phase", verdict=verdict, summary=headline(summary, SUMMARY_CHARS),
                              figures=figures,
                              details=details, plan=plan, checks=list(self.checks))

    def _verdict(self) -> tuple[str, str]:
        plan = self.plan
        what = f"{plan.phase} from {plan.commit_short}"
        if self.dry_run:
            if self.refusals:
                return "warn", f"Dry run, nothing changed; a real run would be refused now: {self.refusals[0]}"
            how = f"build with {plan.dockerfile} and deploy" if plan.config is not None else f"deploy {plan.image}"
            unlabelled = "" if plan.provenance else ("nothing records which code the image holds, so the new revision "
                                                     "would carry no commit-sha label; ")
            done = f"the plan would {how} {what} in place of {plan.previous_revision}"
            if plan.warnings:   # the plan carries on, warned (a repository not checked, an unproven tag ...)
                return "warn", f"Dry run, nothing changed: {unlabelled}{done}; but {plan.warned}."
            return "pass", f"Dry run, nothing changed: {unlabelled}{done}."
        if self.stopped.startswith("Refused to start"):
            return "blocked", f"{self.stopped} Nothing was changed."
        if self.stopped.startswith("Refused to deploy"):
            if len(self.stopped) <= SUMMARY_CHARS or not self.deploy_later:
                return "blocked", self.stopped
            # a command cut short must not be copied: point at it whole instead
            return "blocked", (f"Refused to deploy: {self.refused_deploy} Nothing was deployed; the built image is "
                               "kept, by digest (deploy_later).")
        if self.failure and self.rollout is None:
            return "fail", self.failure
        if self.failure and not self.migrated:
            new = self.rollout.revision or "the new revision"
            pinned = (", pinned now: it followed the latest revision before, see the rollback check for --to-latest"
                      if self.followed_latest else "")
            if any(c.name == "serves 100% of traffic" and c.status == "fail" for c in self.checks):
                return "fail", (f"{new} passed its checks on its tag's URL but got no traffic, so production never "
                                f"reached it: {self.failure}")
            return "fail", (f"{new} failed its checks on its tag's URL, so production never reached it "
                            f"({said(plan.previous_traffic)} still serves{pinned}): {self.failure}")
        if self.failure:
            new = self.rollout.revision or "the new revision"
            if not self.auto_rollback:
                return "fail", (f"{new} failed verification and still serves (auto_rollback off); roll back with "
                                f"{plan.rollback_command()}{plan.gcp_only} ({self.failure})")
            back = next(c for c in self.checks if c.name == "rollback")
            if self.rolled_back is None:   # nothing was moved: someone else's traffic, or its target is gone
                return "fail", f"{new} failed verification: {back.detail} ({self.failure})"
            if not self.rollback_confirmed:
                return "fail", (f"{new} failed verification and the ROLLBACK to {said(plan.previous_traffic)} did not "
                                f"take ({self.rolled_back.message}): {self.failure}")
            pinned = (" (pinned now: it followed the latest revision before, see the rollback check for --to-latest)"
                      if self.followed_latest else "")
            return "fail", (f"{new} failed verification, traffic is back on {said(plan.previous_traffic)}{pinned}: "
                            f"{self.failure}")
        if not self.checks:   # verify() not run, or cut short: the new revision waits unchecked, with no traffic
            new = self.rollout.revision or "the new revision"
            return "fail", (f"{new} was deployed with no traffic but not verified (verify() did not finish), so "
                            f"production has not reached it: run verify() to check it on the tag {plan.tag}'s URL "
                            f"and move the traffic ({plan.migrate_command()}{plan.gcp_only})")
        warnings = [c for c in self.checks if c.status == "warn"]
        passed, total = counted(self.checks)
        done = (f"{plan.service} now serves {self.rollout.revision}, built from {plan.commit_short}, checked on the "
                f"tag {plan.tag}'s URL before it got the traffic ({passed}/{total} checks)")
        if warnings:
            return "warn", f"{done}; {warnings[0].detail}"
        return "pass", (f"{done}: /health names its own service and says it is healthy, and the commit-sha label is "
                        f"{plan.commit_short}.")


def _said(text: str) -> pd.DataFrame:
    return keyed_table([("note", text)], ["step", "outcome"])


def prepare(target: Any, p: Any, progress: Progress | None = print) -> Redeploy:
    """The plan and what runs now, from a RedeployParams (reads only). The service is read once, for both: a
    second read could see another deploy and give the plan a rollback target other than what runs now."""
    info, revisions = target.services.describe(p.phase), target.services.list_revisions(p.phase)
    plan = make_plan(target, p.phase, source_dir=p.source_dir or None, commit=p.commit, strategy=p.strategy,
                     image=p.image, repository=p.repository, build_region=p.region, info=info, revisions=revisions)
    run = Redeploy(target, plan, before(target, plan, serving(target, p.phase, info, revisions)),
                   dry_run=p.dry_run, auto_rollback=p.auto_rollback, progress=progress)
    run.params = p
    run.followed_latest = plan.followed_latest
    return run
