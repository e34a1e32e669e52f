"""The deploy plan: a value that says exactly what a redeploy would do, as YAML and as gcloud commands.

Nothing here changes anything. The plan builds the phase from its OWN Dockerfile with an explicit Cloud
Build config (`docker build -f docker/<phase>.Dockerfile`), never `gcloud run deploy --source` (which picks
the builder from whatever ./Dockerfile holds at upload time), from the commit's tree exactly (`git archive`:
nothing the working tree adds, such as a leftover ./Dockerfile, gets in), and deploys that image by digest with
no traffic, under the tag `candidate` (Cloud Run's way: deploy with no traffic, test by tag, then migrate,
https://cloud.google.com/run/docs/rollouts-rollbacks-traffic-migration): the revision's checks run on the tag's
own URL while production keeps its traffic, and only then is the traffic moved to it.
That tree reaches Cloud Build through its own upload filter (.gcloudignore), so the plan refuses a commit whose
upload leaves the Dockerfile out and warns of COPY/ADD sources it leaves out, before anything runs (plan_checks.py).
"""
from __future__ import annotations

import html
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ParameterError
from ..gitinfo import branch_of, resolve_commit
from ..images import parse_image, short_digest
from ..services import TAG_AND_SERVICE_MAX, Revision, ServiceInfo, check_image, tag_fits
from ..shell_words import GCP_ONLY, PROJECT_PLACEHOLDER, PrintedProject
from .provenance import OCI_REVISION_LABEL, Provenance, image_record, same_commit
from .observe import traffic_of
from .plan_checks import repository_checked, upload_checked

STRATEGIES = ("cloudbuild-config", "image")
DOCKER_BUILDER = "gcr.io/cloud-builders/docker"
BUILD_TIMEOUT = "1200s"
COMMIT_LABEL = "commit-sha"
# Whether the traffic followed the latest revision before this deploy, on the candidate itself: its --no-traffic
# deploy pins the service, so after an interrupted (or failed) run only this label tells that pin from the operator's
# own. Written true or false every time, as a later revision inherits the template's labels.
FOLLOWED_LATEST_LABEL = "runbook-followed-latest"
# Runbooks 00 and 03 take the commit-sha label for the code a revision runs, so only a record of the image writes it.
UNPROVEN = ("nothing records which code the image holds, so the new revision will carry no commit-sha label and "
            "no COMMIT_SHA variable (those the service carries are removed)")
_LABEL_VALUE = re.compile(r"[^a-z0-9_-]+")
# The tag the new revision is deployed under, with no traffic, and checked on (its URL: https://candidate---<the
# service's host>). One fixed name: a tag names one revision, so a redeploy's candidate replaces the last one's.
CANDIDATE_TAG = "candidate"
# a longer service name takes a shorter tag (services.TAG_AND_SERVICE_MAX)
SHORTER_TAGS = ("cand", "c")


def candidate_tag(phase: Any) -> str:
    """The tag the phase's new revision is checked under: `candidate`, or a shorter one Cloud Run takes beside a long
    service name; a ParameterError, before anything runs, for a name too long for any tag."""
    for tag in (CANDIDATE_TAG, *SHORTER_TAGS):
        if tag_fits(tag, phase.service):
            return tag
    raise ParameterError("phase", phase.name, f"a phase whose service name has at most {TAG_AND_SERVICE_MAX - 1} "
                         f"characters: {phase.service} has {len(phase.service)}, and Cloud Run takes no traffic tag "
                         f"beside it (tag and service name together at most {TAG_AND_SERVICE_MAX}), so its new "
                         "revision could not be checked before it serves")


def label_value(text: str) -> str:
    """A Cloud Run label value: lowercase letters, digits, _ and -, at most 63 (feature/X -> feature-x)."""
    return _LABEL_VALUE.sub("-", text.lower()).strip("-")[:63] or "unknown"


@dataclass
class DeployPlan:
    """What the redeploy would do. `config` is None for strategy=image (the image is deployed as given)."""

    phase: str
    service: str
    project: str
    region: str                   # the service's region
    build_region: str             # where Cloud Build runs
    strategy: str
    commit: str                   # the full commit id built (or that the given image was built from)
    branch: str
    source_dir: str | None
    dockerfile: str
    image: str                    # what is deployed: the commit-tagged image (its digest once built), or as given
    #                               (a tag by the digest it points at now, when that could be read: pinned_from)
    previous_revision: str        # what serves now: the rollback target
    config: dict | None = None
    # the traffic as it is now, revision -> percent (the rollback restores it)
    previous_traffic: dict[str, int] = field(default_factory=dict)
    # what says which commit the image holds, independently of the `commit` parameter ("": nothing does);
    # for the cloudbuild-config strategy, the build this run makes from the commit's tree
    provenance: str = ""
    # what the plan carries on with, warned, one clause each: the repository the build pushes to could not be
    # checked, an image given by tag that nothing proves, COPY/ADD sources the build's upload leaves out
    warnings: list[str] = field(default_factory=list)
    # the image as given, when it named a tag and the plan deploys the digest that tag points at now ("": not so)
    pinned_from: str = ""
    # did the traffic follow the latest revision (Cloud Run's default) when the plan was made? Then the migration is
    # `--to-latest`, which restores that; else the new revision is pinned at 100%
    followed_latest: bool = True
    # the revision the candidate tag named when the plan was made ("": none); another redeploy moves it
    tagged_before: str = ""
    tag: str = CANDIDATE_TAG
    # the sandbox's plan (target local): its project is a real project's id, so the gcloud commands it prints
    # name PROJECT instead and say they are what it would be on gcp (what the sandbox itself runs keeps the id)
    sandbox: bool = False
    # the name /health must report (phases.yaml's service_identity), which the kit's checks judge by; "": the service
    service_identity: str = ""

    @property
    def printing(self) -> PrintedProject:
        return PrintedProject(self.project, PROJECT_PLACEHOLDER if self.sandbox else self.project)

    @property
    def printed_project(self) -> str:
        """The project as the printed gcloud commands name it: PROJECT on the sandbox, else the project."""
        return self.printing.printed

    @property
    def gcp_only(self) -> str:
        """What follows a gcloud command said inside a sentence on the sandbox ("" on gcp)."""
        return self.printing.aside

    def _printed(self, text: str) -> str:
        """An image or resource name as a printed command names it (its project PROJECT on the sandbox)."""
        return self.printing(text)

    @property
    def warned(self) -> str:
        """The warnings in one line, as the dry run's verdict says them ("": none)."""
        return "; ".join(self.warnings)

    @property
    def gcp_header(self) -> list[str]:
        """The comment line heading a block of printed gcloud commands on the sandbox ([] on gcp)."""
        return [self.printing.header] if self.sandbox else []

    @property
    def commit_short(self) -> str:
        return self.commit[:7]

    @property
    def config_file(self) -> str:
        return f"cloudbuild-{self.phase}.yaml"

    def config_yaml(self) -> str:
        return yaml.safe_dump(self.config, sort_keys=False, width=200) if self.config else ""

    def deploy_request(self) -> dict[str, Any]:
        """What the deploy asks Cloud Run for, field by field."""
        return {
            "service": self.service, "project": self.project, "region": self.region,
            "image": self.image if self.config is None else f"{self.image} (deployed by the digest the build reports)",
            "labels (updated, others kept)": dict(self.labels),
            **({"labels removed": list(self.remove_labels)} if self.remove_labels else {}),
            **({"environment variables (updated, others kept)": dict(self.env)} if self.env else {}),
            **({"environment variables removed": list(self.remove_env)} if self.remove_env else {}),
            "unauthenticated access": "none: allUsers loses run.invoker if it had it; nothing is made public",
            "traffic": f"none until its checks pass on the tag {self.tag}'s URL (the traffic stays, pinned by "
                       f"revision name, where it goes now); then 100% (--to-tags={self.tag}=100)"
                       + (", and --to-latest as before the deploy while it is the newest revision"
                          if self.followed_latest else ""),
        }

    def commands(self) -> list[str]:
        """The exact equivalent gcloud commands, in order: build from the commit's tree, deploy the image by the
        digest the build pushed with no traffic under the tag, check /health on the tag's URL (known only once
        the deploy made it: https://TAG---<the service's host>), and only then migrate the traffic to it."""
        steps = []
        image = self._printed(self.image)
        if self.config is not None:
            steps += [f'SRC_TREE="$(mktemp -d)" && git -C {shlex.quote(self.source_dir or ".")} archive '
                      f'{self.commit} | tar -x -C "$SRC_TREE"',
                      f'gcloud builds submit "$SRC_TREE" --config={self.config_file} --region={self.build_region} '
                      f"--project={self.printed_project}",
                      f'IMAGE="$(gcloud artifacts docker images describe {self._printed(self.image)} '
                      f"--project={self.printed_project} "
                      "--format='value(image_summary.fully_qualified_digest)')\""]
            image = '"$IMAGE"'
        labels = ",".join(f"{k}={v}" for k, v in self.labels.items())
        # a key that is not there is silently ignored, so an older commit-sha the service carries goes either way
        removed = f" --remove-labels={','.join(self.remove_labels)}" if self.remove_labels else ""
        # gcloud takes --remove-env-vars with --update-env-vars (and applies it first)
        env = (f" --update-env-vars={','.join(f'{k}={v}' for k, v in self.env.items())}" if self.env else "") + \
            (f" --remove-env-vars={','.join(self.remove_env)}" if self.remove_env else "")
        steps.append(f"gcloud run deploy {self.service} --image={image} --region={self.region} "
                     f"--project={self.printed_project} --no-traffic --tag={self.tag} --no-allow-unauthenticated "
                     f"--update-labels={labels}{removed}{env}")
        steps += [f"TAG_URL=\"$(gcloud run services describe {self.service} --region={self.region} "
                  f"--project={self.printed_project} --format='value(status.url)' | "
                  f"sed 's#^https://#https://{self.tag}---#')\"",
                  f"{self.health_check_command()} && {self.migrate_command()}"]
        if self.followed_latest:
            steps.append(self.follow_latest_command())
        return steps

    def health_check_command(self) -> str:
        """/health on the tag's URL, failing (so that `&&` moves no traffic) unless it names the phase's service
        identity (phases.yaml's service_identity, which may differ from the Cloud Run service's name), says it is
        healthy and, when it reports a commit (commit_sha, commit or git_commit), reports the plan's (a prefix either
        way): what the kit's own checks require."""
        identity = self.service_identity or self.service
        # the identity is free text from phases.yaml: JSON spells it as a Python string literal, and shlex.quote
        # keeps the program one shell word (plain '...' whenever it holds no single quote)
        judge = (f'import json, sys; h = json.load(sys.stdin); c = str(next((h[k] for k in ("commit_sha", "commit", '
                 f'"git_commit") if h.get(k)), "")); ok = h.get("service") == {json.dumps(identity)} and '
                 f'h.get("status") == "healthy" and (not c or "{self.commit}".startswith(c) or '
                 f'c.startswith("{self.commit_short}")); sys.exit(0 if ok else '
                 f'{json.dumps(f"not {identity} at {self.commit_short}, or not healthy: ")} + json.dumps(h))')
        return (f'curl -fsS -H "Authorization: Bearer $(gcloud auth print-identity-token)" "$TAG_URL/health" | '
                f"python3 -c {shlex.quote(judge)}")

    def migrate_command(self) -> str:
        """The traffic to the new revision once its checks passed on the tag's URL: pinned to the revision the tag
        names, never --to-latest, which would send it to whatever revision is newest, checked or not."""
        return (f"gcloud run services update-traffic {self.service} --to-tags={self.tag}=100 --region={self.region} "
                f"--project={self.printed_project}")

    def to_latest_command(self) -> str:
        """The service following the latest revision again (what a --no-traffic deploy undid)."""
        return (f"gcloud run services update-traffic {self.service} --to-latest --region={self.region} "
                f"--project={self.printed_project}")

    def follow_latest_command(self) -> str:
        """For a service that followed the latest revision before (--no-traffic pinned it): following it again, once
        the checked revision serves, and only while it is the newest (else the newer one gets the traffic), so a
        comment to act on, as the kit does, rather than a line to run blind."""
        return (f"# then, while the candidate is the newest ready revision (status.latestReadyRevisionName), follow "
                f"the latest again as before the deploy: {self.to_latest_command()}")

    def rollback_command(self) -> str:
        """Traffic back as it was before the deploy: the same split (tags are left as they are)."""
        split = ",".join(f"{r}={p}" for r, p in self.previous_traffic.items())
        return (f"gcloud run services update-traffic {self.service} --to-revisions={split} "
                f"--region={self.region} --project={self.printed_project}")

    def to_text(self) -> str:
        parts = [f"# Redeploy {self.phase} ({self.service}) from {self.commit_short} "
                 f"({self.strategy}; now serving {self.previous_revision})",
                 f"# commit {self.commit_short}: {self.provenance or 'as given; ' + UNPROVEN}"]
        if self.pinned_from:
            parts.append(f"# image {self.pinned_from} points at {short_digest(parse_image(self.image).digest)} now: "
                         "deployed by that digest (the tag can move)")
        parts += [f"# WARNING: {warning}" for warning in self.warnings]
        if self.config is not None:
            # the file the printed `gcloud builds submit` reads, so its image names PROJECT too on the sandbox
            parts += [f"# {self.config_file}", *self.gcp_header, self._printed(self.config_yaml().rstrip())]
        parts += ["# deploy request", yaml.safe_dump(self.deploy_request(), sort_keys=False, width=200).rstrip(),
                  f"# the same with gcloud (the new revision gets no traffic until /health on the tag {self.tag}'s "
                  "URL names the phase's service, says it is healthy and reports the commit)", *self.gcp_header,
                  *self.commands(),
                  "# roll back with (only once traffic moved)", *self.gcp_header, self.rollback_command()]
        return "\n".join(parts) + "\n"

    # What the deploy writes follows from the provenance alone: the commit-sha label and COMMIT_SHA only when
    # something other than the `commit` parameter says which commit the image holds; otherwise both are taken
    # off (`--remove-labels`, `--remove-env-vars`), or /health would report the parameter back as if the code
    # said it, and runbooks 00 and 03 trust that label.
    @property
    def labels(self) -> dict[str, str]:
        proven = {COMMIT_LABEL: self.commit_short} if self.provenance else {}
        return {**proven, "git-branch": label_value(self.branch),
                FOLLOWED_LATEST_LABEL: "true" if self.followed_latest else "false"}

    @property
    def remove_labels(self) -> list[str]:
        return [] if self.provenance else [COMMIT_LABEL]

    @property
    def env(self) -> dict[str, str]:
        return {"COMMIT_SHA": self.commit_short} if self.provenance else {}

    @property
    def remove_env(self) -> list[str]:
        return [] if self.provenance else ["COMMIT_SHA"]

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "service": self.service, "project": self.project, "region": self.region,
                "build_region": self.build_region, "strategy": self.strategy, "commit": self.commit,
                "branch": self.branch, "source_dir": self.source_dir, "dockerfile": self.dockerfile,
                "image": self.image, "previous_revision": self.previous_revision, "config": self.config,
                "labels": dict(self.labels), "remove_labels": list(self.remove_labels), "env": dict(self.env),
                "remove_env": list(self.remove_env),
                "commands": self.commands(),
                "migrate_command": self.migrate_command(), "tag": self.tag, "followed_latest": self.followed_latest,
                "tagged_before": self.tagged_before,
                "rollback_command": self.rollback_command(), "previous_traffic": dict(self.previous_traffic),
                "provenance": self.provenance, "warnings": list(self.warnings),
                **({"pinned_from": self.pinned_from} if self.pinned_from else {}),
                **({"sandbox": True, "commands_note": GCP_ONLY} if self.sandbox else {})}

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.to_text())}</pre>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())


def cloudbuild_config(service: str, dockerfile: str, image: str, commit: str) -> dict:
    """docker build with the phase's own Dockerfile (image labelled with its commit), push, and `images:`,
    so Cloud Build records the pushed digest in results.images."""
    return {
        "steps": [
            {"id": "build", "name": DOCKER_BUILDER,
             "args": ["build", "-f", dockerfile, "-t", image, f"--label={OCI_REVISION_LABEL}={commit}", "."]},
            {"id": "push", "name": DOCKER_BUILDER, "args": ["push", image]},
        ],
        "images": [image],
        "tags": [f"redeploy_{service}", f"commit_{commit[:7]}"],
        "timeout": BUILD_TIMEOUT,
    }


def render_plan(phase: Any, *, project: str, repository: str, commit: str, branch: str, source_dir: str | None,
                previous_revision: str, strategy: str = "cloudbuild-config", image: str = "",
                build_region: str | None = None, previous_traffic: dict[str, int] | None = None,
                provenance: str = "", followed_latest: bool = True, tagged_before: str = "",
                sandbox: bool = False) -> DeployPlan:
    """The plan from resolved values alone (no git, no cloud): what the golden tests pin. `sandbox`: the plan is
    the sandbox's (target local), whose printed gcloud commands name the project PROJECT."""
    if strategy not in STRATEGIES:
        raise ParameterError("strategy", strategy, f"choose one of {', '.join(STRATEGIES)}")
    if strategy == "image" and not image:
        raise ParameterError("image", image, "give the image to deploy when strategy is image")
    short = commit[:7]
    config = None
    if strategy == "cloudbuild-config":
        image = f"{phase.region}-docker.pkg.dev/{project}/{repository}/{phase.service}:{short}"
        config = cloudbuild_config(phase.service, phase.dockerfile, image, commit)
        provenance = f"this run's build makes the image from commit {short}'s tree"
    return DeployPlan(phase=phase.name, service=phase.service, project=project, region=phase.region,
                      build_region=build_region or phase.region, strategy=strategy, commit=commit, branch=branch,
                      source_dir=source_dir, dockerfile=phase.dockerfile, image=image,
                      previous_revision=previous_revision, config=config,
                      previous_traffic=dict(previous_traffic or {previous_revision: 100}), provenance=provenance,
                      followed_latest=followed_latest, tagged_before=tagged_before, tag=candidate_tag(phase),
                      sandbox=sandbox, service_identity=phase.service_identity)


@dataclass(frozen=True)
class _Given:
    """An image given as it is, as the plan takes it."""

    commit: str
    provenance: str      # "" when no record proves the commit
    image: str           # what is deployed: by the digest a tag points at now when that could be read
    warning: str = ""    # why a tag proves nothing here, one clause


def _image_commit(target: Any, phase: Any, image: str, commit: str, source: Any, build_region: str,
                  revisions: list[Revision]) -> _Given:
    """The commit of an image deployed as it is: the commit a record of its digest names (a build of the kit that
    pushed it, a revision that ran it), which a `commit` given must agree with; a commit nothing records is taken
    as given, unproven ("" provenance). Without either: refused, never the checkout's HEAD. A tag counts by the
    digest it points at now, which the plan then deploys."""
    record = image_record(target, phase, check_image(image), build_region, revisions)
    found, why = record.found, record.why_unproven
    if commit:
        given = resolve_commit(source, commit) if source else commit
        if found and not same_commit(given, found.commit):
            raise ParameterError("commit", commit, f"leave it empty or give {found.commit[:7]}, the commit {image} "
                                 f"holds ({found.evidence})")
        return _Given(given, found.evidence if found else "", record.image,
                      _other_phases_image(phase, found) if found else why)
    if found is None:
        said = (f"{why}, so nothing says which code it holds" if why else "no build of this kit pushed it and no "
                "revision of the service ran it, so nothing says which code it holds")
        raise ParameterError("commit", commit, f"give the commit {image} was built from (it is then deployed "
                             f"without a commit-sha label): {said}")
    try:
        full = resolve_commit(source, found.commit) if source else found.commit
    except ParameterError:
        full = found.commit   # a commit the checkout does not have (yet): as the record names it
    return _Given(full, found.evidence, record.image, _other_phases_image(phase, found))


def _other_phases_image(phase: Any, found: Provenance | None) -> str:
    """One clause when only another phase's service ran the image: the incident's own failure mode (a phase
    serving another phase's code), which a dry run must say before the checks on the tag's URL would refuse it."""
    if found is None or not found.other_phase:
        return ""
    return (f"only {found.other_phase}'s service ran this image ({found.evidence}), so it may hold "
            f"{found.other_phase}'s code, not {phase.name}'s")


def make_plan(target: Any, phase: str, source_dir: str | None = None, commit: str = "",
              strategy: str = "cloudbuild-config", image: str = "", repository: str = "",
              build_region: str | None = None, info: ServiceInfo | None = None,
              revisions: list[Revision] | None = None) -> DeployPlan:
    """The plan for `phase` against a target: the commit resolved in the checkout (default: its HEAD; for an
    image deployed as it is, the commit a record says it holds), the branch it is on, and the revision and
    traffic serving now (read, never changed; `info` and `revisions` are the service's describe() and
    list_revisions() when the caller read them already)."""
    p = target.phases.get(phase)
    source = source_dir or target.source_dir
    revisions = revisions if revisions is not None else target.services.list_revisions(p.name)
    provenance, given = "", None
    if strategy == "image" and image:
        given = _image_commit(target, p, image, commit, source, build_region or p.region, revisions)
        full, provenance = given.commit, given.provenance
        branch = branch_of(source, full) if source else "unknown"
    elif source:
        full = resolve_commit(source, commit or "HEAD")
        branch = branch_of(source, full)
    elif commit:
        full, branch = commit, "unknown"
    else:
        raise ParameterError("commit", commit,
                             "give the commit the image was built from, or a source_dir to read it from")
    info = info if info is not None else target.services.describe(p.name)
    follows = target.services.follows_latest(p.name)
    tag = candidate_tag(p)
    leftover = leftover_candidate(revisions, tag)
    # the pin a leftover candidate's own --no-traffic deploy made is not the operator's choice: undone as it would
    # have been had that run finished
    followed = follows or (leftover is not None and leftover.labels.get(FOLLOWED_LATEST_LABEL) == "true")
    plan = render_plan(p, project=target.project, repository=repository or target.phases.repository, commit=full,
                       branch=branch, source_dir=str(source) if source else None,
                       previous_revision=info.revision, strategy=strategy, image=given.image if given else image,
                       build_region=build_region, previous_traffic=traffic_of(revisions), provenance=provenance,
                       followed_latest=followed,
                       tagged_before=next((r.name for r in revisions if tag in r.tags), ""),
                       sandbox=PrintedProject.of(target).sandbox)
    if leftover is not None:
        plan.warnings.append(leftover_warning(plan, leftover, follows))
    if given is not None:
        plan.pinned_from = image if parse_image(given.image).digest and not parse_image(image).digest else ""
        plan.warnings += [given.warning] if given.warning else []
    if plan.config is not None:   # only a build pushes (an image deployed as it is is in a registry already)
        note = repository_checked(target, p, repository or target.phases.repository, given=bool(repository))
        plan.warnings += [note] if note else []
        plan.warnings += upload_checked(plan)
    return plan


def leftover_candidate(revisions: list[Revision], tag: str) -> Revision | None:
    """The revision `tag` names when it has no traffic and is newer than every serving revision (`revisions` newest
    first): a redeploy's candidate whose run never moved traffic to it, interrupted or failed, and whose --no-traffic
    deploy may still pin the service. None otherwise."""
    tagged = next((i for i, r in enumerate(revisions) if tag in r.tags), None)
    if tagged is None or revisions[tagged].traffic_percent:
        return None
    serving = [i for i, r in enumerate(revisions) if r.traffic_percent]
    return revisions[tagged] if all(tagged < i for i in serving) else None


def leftover_warning(plan: DeployPlan, leftover: Revision, follows: bool) -> str:
    """One clause (no semicolon: plan.warned joins clauses with them), short enough for the dry run's summary to keep
    what this run does: the leftover candidate, and what this run does about the pin its deploy left (`follows`:
    the service follows the latest revision now)."""
    said = leftover.labels.get(FOLLOWED_LATEST_LABEL)
    found = f"{leftover.name}, tagged {plan.tag} with no traffic (an interrupted or failed redeploy),"
    if follows:
        return f"{found} but {plan.service} follows the latest revision now, and this run keeps it so"
    if said == "true":
        return (f"{found} pinned {plan.service}, which followed the latest revision before it "
                f"({FOLLOWED_LATEST_LABEL}=true): this run follows the latest again once its own candidate serves")
    if said == "false":
        return (f"{found} left {plan.service} pinned as it was, and this run leaves it so "
                f"({FOLLOWED_LATEST_LABEL}=false)")
    return (f"{found} may have pinned {plan.service}: this run leaves it pinned (if it followed the latest revision "
            f"before, follow it again with {plan.to_latest_command()}{plan.gcp_only})")
