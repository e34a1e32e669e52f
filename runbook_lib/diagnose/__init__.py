"""Runbook 01 (diagnose a failed build), one module per job:

- catalogue.py  the build-failure signature catalogue (data: runbook_lib/data/signatures.yaml) and its scanners
- lines.py      one line of a log: decoration, own text, step, whether it names an error; finding lines by a rule
- log_structure.py  a log's shape beyond single lines: section, builder, failed step
- message_reading.py  the lines around a match: the cause above a summary, a report's telling line (LogShape's mixin)
- lead.py       the line to read first when no signature explains a log, and the log's last words
- classify.py   classify_log: ranked findings, each with the line to read first
- build.py      reading a Cloud Build resource: builder evidence, steps, log locations, summary; build
                statuses and the build id / tags / status / limit checks both targets' adapters use
- verdict.py    the Diagnosis: verdict, fixes and the redeploy runbook's parameters
- steps.py      the runbook's steps against a target, and prepare(): the run object the notebook calls

Everything the notebook and the tests use is importable from `runbook_lib.diagnose` itself.
"""
from .build import (BUILD_ID_PATTERN, BUILD_STATUSES, FAILED_STATUSES, MAX_LIMIT, RUNNING_STATUSES, BuilderEvidence,
                    BuildNotFound, build_summary, build_table, builder_evidence, check_build_id, check_limit,
                    check_status, check_tags, compare_builds, log_locations)
from .catalogue import BUILDERS, MIN_NEEDLE, SEVERITIES, Catalogue, Signature
from .catalogue_yaml import DEFAULT_CATALOGUE, load_catalogue, parse_catalogue
from .classify import MAX_EVIDENCE, MAX_EVIDENCE_CHARS, MAX_LINES, Finding, classify_log
from .steps import (MATCH_THRESHOLD, DiagnoseRun, SideBySide, build_phase, built_from, conclude, default_source_dir,
                    evidence_table, fetch_log, find_build, findings_table, logged_instructions, preflight_table,
                    prepare, run_preflight, side_by_side, sibling_phase, summary_table)
from .verdict import Diagnosis, explain, redeploy_parameters

__all__ = [
    # catalogue
    "BUILDERS", "DEFAULT_CATALOGUE", "MAX_EVIDENCE", "MAX_EVIDENCE_CHARS", "MAX_LINES", "MIN_NEEDLE", "SEVERITIES",
    "Catalogue", "Finding", "Signature", "classify_log", "load_catalogue", "parse_catalogue",
    # build
    "BUILD_ID_PATTERN", "BUILD_STATUSES", "FAILED_STATUSES", "MAX_LIMIT", "RUNNING_STATUSES", "BuilderEvidence",
    "BuildNotFound", "build_summary", "build_table", "builder_evidence", "check_build_id", "check_limit",
    "check_status", "check_tags", "compare_builds", "log_locations",
    # verdict
    "Diagnosis", "explain", "redeploy_parameters",
    # steps
    "MATCH_THRESHOLD", "DiagnoseRun", "SideBySide", "build_phase", "built_from", "conclude", "default_source_dir",
    "evidence_table", "fetch_log", "find_build", "findings_table", "logged_instructions", "preflight_table", "prepare",
    "run_preflight", "side_by_side", "sibling_phase", "summary_table",
]
