"""Runbook 01's steps against a target: find the build, read its log, preflight the checkout, compare
with the sibling phase, conclude. notebooks/01_diagnose_build.ipynb calls them through one run object:

    dg = diagnose.prepare(tg, p)           # the build found, and the phase it belongs to (reads only)
    dg.summary_table(); dg.build_table()   # 1. the build (none failed: the builds looked at)
    dg.evidence_table()                    # 2. which builder ran, and why
    dg.log_table(); dg.working_command()   # 3. the logs
    dg.findings_table()                    # 4. what failed
    dg.preflight_table()                   # 5. the source preflight
    dg.side_by_side                        # 6. beside the sibling phase
    report.record(dg.result())             # 7. the verdict (a failure a later success replaced: a warning)

each shown with dg.show(...), which leaves out a step's None (nothing to show without a failed build).

Each step works on any Target (sandbox or Google Cloud) and returns plain values or small tables
for the notebook to display; the run computes each fact once, when a step first needs it, so a
skipped cell costs nothing and the verdict never depends on which cells ran.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..buildlogs import LogFetch, fetch_build_log
from ..errors import NotFoundError, ParameterError
from ..formats import headline, keyed_table, one_line, size
from ..preflight import Preflight, dockerfile_diff, parse_dockerfile
from ..preflight import preflight as source_preflight
from ..shell_words import PrintedProject
from ..target import Target
from .build import (LOOKED_AT, BuilderEvidence, BuildSearch, build_summary, build_table, builder_evidence,
                    compare_builds, newest_first, service_build_tags)
from .classify import Finding, classify_log
from .verdict import Diagnosis, explain, none_failed, superseded

if TYPE_CHECKING:   # params/diagnose.py imports this package
    from ..params import DiagnoseParams


def search_builds(target: Any, phase: str, region: str | None = None) -> BuildSearch:
    """The last builds of the phase's service in `region` (default: the phase's): its source deploys' (tagged
    service_NAME), the kit's redeploys' (runbook 02, tagged redeploy_NAME) and its continuous deployment trigger's
    (tagged NAME), LOOKED_AT of each, newest first.

    Builds.list matches every tag it is given, so that is one list call per tag; an untagged list would spend its
    page on the other services' builds of the region."""
    p = target.phases.get(phase)
    where = region or p.region
    found = {b["id"]: b for tag in service_build_tags(p.service)
             for b in target.builds.list(where, tags=tag, limit=LOOKED_AT)}
    return BuildSearch(p.service, where, newest_first(found.values()))


def find_build(target: Any, build_id: str | None = None, phase: str | None = None,
               region: str | None = None) -> dict | None:
    """The build to diagnose: `build_id` if given, else the latest failed build of the phase's service (None when
    its last LOOKED_AT builds hold none: search_builds says which they were).

    A build id is looked up in `region` (default: the phase's region), then in the phase's region and
    in global: source deploys build in the service's region, `gcloud builds submit` without
    --region builds in global, and an operator rarely knows which one ran. An id found in none of
    them is a ParameterError naming build_id.
    """
    if build_id:
        home = target.phases.get(phase).region if phase else target.region
        searched = []
        for where in dict.fromkeys([region or home, home, "global"]):
            try:
                return target.builds.get(build_id, region=where)
            except NotFoundError:
                searched.append(where)
        # The operator's value is what is wrong: a ParameterError naming build_id (the run exits 2).
        raise ParameterError("build_id", build_id,
                             f"give the id of a build of project {target.project}; none has this id in region "
                             f"{' or '.join(searched)} (list them with: gcloud builds list --region=REGION "
                             f"--project={target.project})")
    if not phase:
        raise ParameterError("build_id", build_id, "give a build id, or a phase to take its latest failed build")
    return search_builds(target, phase, region).failed


def build_phase(target: Any, build: dict, requested: str) -> str:
    """The phase a build belongs to: its service_<NAME> tag decides; `requested` when it has none."""
    service = builder_evidence(build).service
    if service:
        try:
            return target.phases.by_service(service).name
        except ParameterError:
            pass  # a service outside the registry: keep the operator's phase
    return target.phases.get(requested).name


def fetch_log(target: Any, build: dict, log_file: str | None = None) -> LogFetch:
    """The build log through the chain: logs bucket, then Cloud Logging, then a local file."""
    return fetch_build_log(build, target.logs.build_log_sources(), local_file=log_file or None)


def default_source_dir(target: Any) -> str | None:
    """The pipeline checkout to preflight when none is given: the sandbox's own source repository."""
    return target.source_dir


def sibling_phase(target: Any, phase: str, compare_with: str | None = None) -> str:
    """The phase to compare with: `compare_with`, else the phase next to it in the registry."""
    if compare_with:
        other = target.phases.get(compare_with).name
        if other == target.phases.get(phase).name:
            raise ParameterError("compare_with", compare_with, "name a phase other than the one being diagnosed")
        return other
    names = target.phases.names()
    i = names.index(target.phases.get(phase).name)
    return names[i - 1] if i > 0 else names[(i + 1) % len(names)]


@dataclass
class SideBySide:
    phase: str
    sibling: str
    builds: pd.DataFrame | None              # compare_builds, or None when the sibling has no successful build
    dockerfile_diff: pd.DataFrame | None     # instruction-level diff, or None without a checkout
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "sibling": self.sibling, "note": self.note,
                "builds": None if self.builds is None else self.builds.astype(str).to_dict(),
                "dockerfile_changes": None if self.dockerfile_diff is None
                else int((self.dockerfile_diff["op"] != "equal").sum())}


def side_by_side(target: Any, build: dict, phase: str, sibling: str, source_dir: str | None = None) -> SideBySide:
    """This build beside the sibling phase's last successful build, and the two Dockerfiles diffed."""
    mine, theirs = target.phases.get(phase), target.phases.get(sibling)
    reference = target.builds.latest_successful(theirs.service, region=theirs.region)
    frame = None
    note = f"{theirs.service} has no successful build in {theirs.region} to compare with."
    if reference is not None:
        frame = compare_builds(build, reference, labels=(f"{mine.name} (this build)", f"{theirs.name} (last success)"))
        note = f"Compared with {theirs.service} build {reference['id']}."
        built = builder_evidence(reference)
        if built.source_deploy:
            # A source deploy builds whatever ./Dockerfile held at upload time, maybe another phase's.
            note += (f" It was a source deploy: it built whatever ./Dockerfile held at upload time, so check that "
                     f"{theirs.service}'s /health names {theirs.service_identity} (runbook 00).")
        elif built.trigger_id:
            note += f" It was a trigger build: {built.trigger_said} built what the repository held there."
    diff = None
    if source_dir:
        a, b = Path(source_dir) / mine.dockerfile, Path(source_dir) / theirs.dockerfile
        if a.is_file() and b.is_file():
            diff = dockerfile_diff(a, b)
        else:
            note += f" No Dockerfile diff: {a if not a.is_file() else b} is not in the checkout."
    return SideBySide(mine.name, theirs.name, frame, diff, note)


def summary_table(build: dict) -> pd.DataFrame:
    """The build's summary as one compact two-column table."""
    summary = build_summary(build)
    summary.pop("log_locations")
    rows = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in summary.items() if v not in (None, [], "")]
    return keyed_table(rows, ["field", "value"])


def evidence_table(evidence: BuilderEvidence, preflight: Preflight | None = None) -> pd.DataFrame:
    """Which builder ran, quoted from the Build resource, and (with a checkout) why gcloud chose it."""
    rows = [("builder", evidence.builder)]
    if evidence.dockerfile:
        rows.append(("dockerfile", evidence.dockerfile))
    if evidence.builder_image:
        rows.append(("builder image", evidence.builder_image))
    rows.append(("source deploy", "yes (gcloud run deploy --source)" if evidence.source_deploy else "no"))
    if evidence.trigger_said:
        rows.append(("trigger", evidence.trigger_said))
    rows += [("evidence", line) for line in evidence.evidence]
    if preflight is not None:
        rows.append(("gcloud would choose now", f"{preflight.builder.builder}: {preflight.builder.reason}"))
        rows += [("warning", w) for w in preflight.builder.warnings]
    return keyed_table(rows, ["what", "value"])


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """Ranked findings: id, line, the first matching log line, the cause and the first fix (none: no rows)."""
    columns = ["rank", "signature", "line", "evidence", "cause", "fix"]
    return keyed_table([{
        "rank": i, "signature": f.signature, "line": f.line,
        "evidence": one_line(f.evidence[0], 110) if f.evidence else "", "cause": f.cause,
        "fix": f.fix[0] if f.fix else "",
    } for i, f in enumerate(findings, start=1)], columns)


def run_preflight(target: Any, phase: str, source_dir: str | None) -> Preflight | None:
    """The source preflight of the phase's checkout, or None when there is no checkout to look at."""
    if not source_dir:
        return None
    p = target.phases.get(phase)
    dockerfile = p.dockerfile if (Path(source_dir) / p.dockerfile).is_file() else None
    return source_preflight(source_dir, dockerfile=dockerfile)


def preflight_table(pf: Preflight | None) -> pd.DataFrame | None:
    """What `gcloud run deploy --source` would do with this checkout, one check a row."""
    if pf is None:
        return None
    rows = [("upload", f"{len(pf.upload.files)} files, {size(pf.upload.total_bytes)} "
                       f"(rules: {pf.upload.rule_source})"),
            ("largest folders", ", ".join(f"{d['folder']} {size(d['bytes'])}" for d in pf.upload.largest_folders)),
            ("builder gcloud picks", f"{pf.builder.builder}: {pf.builder.reason}")]
    rows += [("builder warning", w) for w in pf.builder.warnings]
    for dockerfile, problems in pf.copy_problems.items():
        rows.append((f"COPY/ADD in {dockerfile}", "all sources in the build context" if not problems
                     else f"{len(problems)} missing"))
        rows += [("missing", p.message) for p in problems]
    rows.append(("buildpacks entrypoint", f"{'found' if pf.entrypoint.found else 'NOT found'}: {pf.entrypoint.how}"))
    rows += [(f"deploy script ({lint.severity})", lint.message) for lint in pf.lints]
    return keyed_table(rows, ["check", "result"])


# (the instruction to the line's end, its spaces dropped after: a lazy `(.+?)\s*$` rescans a run of spaces at each step)
_LEGACY_STEP = re.compile(r"Step \d+/\d+ : (.+)$")               # docker build (legacy builder)
_BUILDKIT_STEP = re.compile(r"#\d+ \[(?:[\w.-]+ )?\d+/\d+\] (.+)$")  # docker build with BuildKit
MATCH_THRESHOLD = 0.8


def logged_instructions(log_text: str) -> list[str]:
    """The Dockerfile instructions a docker build printed, in order, normalised like preflight's."""
    found = []
    for line in log_text.splitlines():
        m = _LEGACY_STEP.search(line) or _BUILDKIT_STEP.search(line)
        if m:
            keyword, _, args = m.group(1).partition(" ")
            found.append(f"{keyword.upper()} {' '.join(args.split())}".strip())
    return found


def built_from(target: Any, log_text: str | None, source_dir: str | None) -> dict[str, Any] | None:
    """Which phase's Dockerfile a docker build really ran, recognised from the instructions in its log.

    A source deploy builds whatever ./Dockerfile held at upload time; on the incident night that was
    the other phase's. None when the log shows no docker steps or no phase's Dockerfile matches.
    """
    logged = logged_instructions(log_text or "")
    if not logged or not source_dir:
        return None
    best = None
    for name in target.phases.names():
        path = Path(source_dir) / target.phases.get(name).dockerfile
        if not path.is_file():
            continue
        own = [i.normalized for i in parse_dockerfile(path.read_text(errors="replace"))]
        score = difflib.SequenceMatcher(a=logged, b=own, autojunk=False).ratio()
        if best is None or score > best["score"]:
            best = {"phase": name, "dockerfile": target.phases.get(name).dockerfile, "score": round(score, 3)}
    return best if best and best["score"] >= MATCH_THRESHOLD else None


def why_no_log(fetched: LogFetch) -> str:
    """Why no log could be read, in a clause: the logging mode that kept none, else what each place answered."""
    if any(a.outcome == "logging-disabled" for a in fetched.attempts):
        return "the build ran with options.logging=NONE, so Cloud Build kept none"
    tried = [f"{a.source} {a.outcome}" for a in fetched.attempts if a.outcome != "skipped"]
    return "tried: " + ", ".join(tried) if tried else "no place to read it from was tried"


def log_findings(fetched: LogFetch) -> list[Finding]:
    """A fetched log's findings; none when no log could be read (classifying no text would find "unknown")."""
    return classify_log(fetched.text) if fetched.ok else []


def explain_log(target: Any, findings: list[Finding], evidence: BuilderEvidence, pf: Preflight | None,
                fetched: LogFetch, phase: str, source_dir: str | None) -> Diagnosis:
    """The verdict from a build's fetched log and where it came from; when no log could be read, the Build
    resource's failureInfo leads the cause, which says why no log could be read."""
    diagnosis = explain(findings, evidence, pf, phase=phase, phases=target.phases, source_dir=source_dir,
                        no_log=None if fetched.ok else why_no_log(fetched))
    diagnosis.figures["log_source"] = fetched.source or "none"
    diagnosis.details["log_fetch"] = fetched.to_dict(include_text=False)
    return diagnosis


def diagnose_build(target: Any, build: dict, phase: str, source_dir: str | None) -> Diagnosis:
    """A build's verdict in one call (runbook 02 on the build it just ran): its log fetched through the chain,
    then explained as runbook 01 explains it. Not conclude(): that build names its Dockerfile with -f, so
    guessing from the log which phase's Dockerfile ran could only be wrong."""
    fetched = fetch_log(target, build)
    return explain_log(target, log_findings(fetched), builder_evidence(build), None, fetched, phase, source_dir)


def conclude(target: Any, findings: list[Finding], evidence: BuilderEvidence, pf: Preflight | None,
             fetched: LogFetch, phase: str, source_dir: str | None) -> Diagnosis:
    """The verdict, with where the log came from, and which phase's Dockerfile the build really ran."""
    diagnosis = explain_log(target, findings, evidence, pf, fetched, phase, source_dir)
    ran = built_from(target, fetched.text, source_dir)
    diagnosis.details["built_from"] = ran
    if ran is None:
        return diagnosis
    diagnosis.figures["built_from"] = ran["dockerfile"]
    if ran["phase"] == target.phases.get(phase).name:
        return diagnosis
    service = target.phases.get(phase).service
    other = target.phases.get(ran["phase"])
    how = (f"{evidence.trigger_said} built the Dockerfile the repository held there" if evidence.trigger_id
           else "a source deploy builds whatever ./Dockerfile held at upload time")
    cause = (f"{service} was built from {other.name}'s Dockerfile ({ran['dockerfile']}, recognised from the build "
             f"log's steps), so its image runs {other.name}'s code and its /health names {other.service_identity}; "
             f"{how}.")
    fixes = [f"Redeploy {phase} from its own Dockerfile ({target.phases.get(phase).dockerfile}) with an explicit "
             "`gcloud builds submit --config` build and `gcloud run deploy --image` (parameters below)."]
    return replace(diagnosis, verdict="fail",
                   summary=headline(f"{service} build {evidence.build_id} ran {other.name}'s Dockerfile "
                                     f"({ran['dockerfile']}): the service runs {other.name}'s code."),
                   cause=f"{cause} {diagnosis.cause}" if diagnosis.verdict == "fail" else cause,
                   fixes=fixes + [f for f in diagnosis.fixes if f not in fixes])


@dataclass
class DiagnoseRun:
    """One diagnosis of one build, as the notebook's cells show it; each fact is read once, when first needed.

    Without a build (a phase whose last builds all went well) the build's steps show nothing, the preflight still
    reads the checkout, and the verdict is a pass naming the builds looked at."""

    target: Target
    build: dict | None          # None: the phase's last builds hold no failed one
    phase: str                  # the phase the build belongs to (its service tag decides)
    sibling: str                # the phase to compare with
    source_dir: str | None      # the checkout to preflight; None: no preflight, no Dockerfile diff
    log_file: str | None = None   # a saved build log, the last resort of the log chain
    search: BuildSearch | None = None   # the phase's last builds, when the build was taken from them

    # ---- the facts

    @cached_property
    def evidence(self) -> BuilderEvidence | None:
        return builder_evidence(self.build) if self.build is not None else None

    @cached_property
    def preflight(self) -> Preflight | None:
        return run_preflight(self.target, self.phase, self.source_dir)

    @cached_property
    def log(self) -> LogFetch | None:
        """The log and where it came from (the attempts, the working command); None without a build."""
        return fetch_log(self.target, self.build, self.log_file) if self.build is not None else None

    @cached_property
    def findings(self) -> list[Finding]:
        """The log's findings; none when no log could be read (the verdict then reads the Build resource)."""
        return log_findings(self.log) if self.log is not None else []

    @cached_property
    def side_by_side(self) -> SideBySide:
        if self.build is None:
            return SideBySide(self.phase, self.sibling, None, None,
                              f"No failed build of {self.target.phases.get(self.phase).service} to compare.")
        return side_by_side(self.target, self.build, self.phase, self.sibling, self.source_dir)

    # ---- the steps, as tables (None: nothing to show, and show() shows nothing for it)

    @staticmethod
    def show(*shown: Any) -> None:
        """Display each table or Markdown line that is there; None is left out, so a step with nothing to show
        shows nothing (not the word None)."""
        from IPython.display import Markdown, display

        for item in shown:
            if item is not None:
                display(Markdown(item) if isinstance(item, str) else item)

    def summary_table(self) -> pd.DataFrame:
        """The build's summary; without one, the builds looked at."""
        if self.build is None:
            return self.search.table() if self.search is not None else None
        table = summary_table(self.build)
        if "log_command" in table.index:
            table.loc["log_command", "value"] = PrintedProject.of(self.target)(table.loc["log_command", "value"])
        return table

    def build_table(self) -> pd.DataFrame | None:
        return build_table(self.build) if self.build is not None else None

    def evidence_table(self) -> pd.DataFrame | None:
        return evidence_table(self.evidence, self.preflight) if self.evidence is not None else None

    def log_table(self) -> pd.DataFrame | None:
        return self.log.table() if self.log is not None else None

    def working_command(self) -> str | None:
        """The gcloud command that reads this build's log (Markdown); None without a build."""
        if self.log is None:
            return None
        if self.log.command is None:   # a Build resource without an id names no log to read
            return "Working command: none (the build has no id to read its log by)."
        # the sandbox's builds carry a real project's id: a command copied from its run must not read that project
        printed = PrintedProject.of(self.target)
        return f"Working command: `{printed(self.log.command)}`{printed.aside}"

    def findings_table(self) -> pd.DataFrame | None:
        return findings_table(self.findings) if self.build is not None else None

    def preflight_table(self) -> pd.DataFrame | None:
        return preflight_table(self.preflight)

    # ---- the verdict

    def result(self) -> Diagnosis:
        if self.build is None:
            if self.search is None:
                raise ParameterError("build", None, "give a build, or the phase's BuildSearch that found none")
            return none_failed(self.search, self.phase)
        dx = conclude(self.target, self.findings, self.evidence, self.preflight, self.log, self.phase,
                      self.source_dir)
        later = self.search.superseded_by if self.search is not None else None
        return superseded(dx, self.build, later) if later is not None else dx


def prepare(target: Target, p: DiagnoseParams) -> DiagnoseRun:
    """The build to diagnose from a DiagnoseParams, and the phases it is read against (reads only).

    Everything the parameters can be wrong about is found here, before the slower steps: a build id
    that no region holds, a compare_with naming the build's own phase. A phase whose last builds hold no
    failed one is no error: the run then has no build, and its verdict is a pass."""
    search = None
    if p.build_id:
        build = find_build(target, build_id=p.build_id, phase=p.phase, region=p.region)
    else:
        # One list call gives the failed build and what came after it.
        search = search_builds(target, p.phase, p.region)
        build = search.failed
    phase = build_phase(target, build, p.phase) if build is not None else target.phases.get(p.phase).name
    return DiagnoseRun(target, build, phase, sibling_phase(target, phase, p.compare_with or None),
                       p.source_dir or default_source_dir(target), log_file=p.log_file or None, search=search)
