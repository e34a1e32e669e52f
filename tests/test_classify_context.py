"""classify_log beyond single lines: the builder read off the log as a prior, summary lines giving way to
the cause, the failed Cloud Build step, the lead line and the fallbacks. Each test fails when its
mechanism is taken out (a tiny catalogue isolates the mechanism; the shipped one shows it in use)."""
from __future__ import annotations

import pytest

from buildlog_helpers import signature_and_line, top_of
from runbook_lib.diagnose import classify_log, load_catalogue, parse_catalogue
from runbook_lib.diagnose import lead, lines, log_structure
from runbook_lib.diagnose.lines import indented_text, own_text
from runbook_lib.errors import ConfigError

UNKNOWN = {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]}


def _catalogue(**top):
    """A catalogue with two builders (`tool-a` with a fallback, `tool-b`), a signature that counts `BOOM`
    anywhere and `QUIRK` only in tool-a's output, and whatever else the test adds."""
    doc = {"builders": [{"name": "tool-a", "markers": ["TOOL-A runs"], "fallback": "tool-a-failed"},
                        {"name": "tool-b", "markers": ["TOOL-B runs"]}],
           "signatures": [
               {"id": "boom", "title": "t", "weight": 50, "patterns": ["BOOM happened"], "cause": "c.", "fix": ["f"],
                "builder_output": {"builders": ["tool-a"], "patterns": ["QUIRK happened"]}},
               {"id": "tool-a-failed", "title": "t", "weight": 10, "patterns": ["TOOL-A gave up"], "cause": "c.",
                "fix": ["f"]},
               UNKNOWN]}
    doc.update(top)
    return parse_catalogue(doc)


# ---- the builder, read off the log, as a prior ------------------------------------------------------------

def test_builder_output_patterns_count_only_in_their_builders_output():
    cat = _catalogue()
    assert classify_log("TOOL-A runs\nQUIRK happened\n", cat)[0].signature == "boom"
    assert classify_log("TOOL-B runs\nQUIRK happened\n", cat)[0].signature == "unknown"
    assert classify_log("QUIRK happened\n", cat)[0].signature == "unknown"   # no builder shown
    assert classify_log("TOOL-B runs\nBOOM happened\n", cat)[0].signature == "boom"  # plain patterns: anywhere


def test_a_signature_counts_in_no_output_of_the_builders_it_is_not_in_the_output_of():
    doc = {"builders": [{"name": "tool-a", "markers": ["TOOL-A runs"]}, {"name": "tool-b", "markers": ["TOOL-B runs"]}],
           "signatures": [{"id": "boom", "title": "t", "weight": 50, "patterns": ["BOOM happened"], "cause": "c.",
                           "fix": ["f"], "not_in_output_of": ["tool-b"]}, UNKNOWN]}
    cat = parse_catalogue(doc)
    assert classify_log("TOOL-A runs\nBOOM happened\n", cat)[0].signature == "boom"
    assert classify_log("BOOM happened\n", cat)[0].signature == "boom"   # no builder shown
    top = classify_log("TOOL-B runs\nBOOM happened\n", cat)[0]
    assert (top.signature, top.line) == ("unknown", 2)   # still the line to read
    assert classify_log("BOOM happened\nTOOL-B runs\n", cat)[0].signature == "unknown"   # its marker below


@pytest.mark.parametrize("value, message", [(["tool-z"], r"names unknown builder\(s\) \['tool-z'\]"),
                                            ("tool-a", r"must be a list of builder names")])
def test_a_bad_not_in_output_of_is_a_config_error_naming_the_signature(value, message):
    with pytest.raises(ConfigError, match=r"signature 'boom'.not_in_output_of") as raised:
        parse_catalogue(_boom_for_tool_a(not_in_output_of=value))
    assert raised.match(message)


def _boom_for_tool_a(**key):
    """A catalogue document with builder `tool-a` and a signature `boom` with one key more."""
    return {"builders": [{"name": "tool-a", "markers": ["TOOL-A runs"]}],
            "signatures": [{"id": "boom", "title": "t", "weight": 5, "patterns": ["BOOM happened"], "cause": "c.",
                            "fix": ["f"], **key}, UNKNOWN]}


TOOL_A = {"name": "tool-a", "markers": ["TOOL-A runs"], "fallback": "tool-a-failed"}
TOOL_B = {"name": "tool-b", "markers": ["TOOL-B runs"]}
FRAMING = {"name": "framing", "markers": [r"Step #\d+"]}   # listed last: the framing every builder's lines carry


def test_a_line_is_the_output_of_the_builder_that_ran_last_above_it():
    # a whole log runs several tools in turn; tool-a's package-manager words count only in its output
    cat = _catalogue(builders=[TOOL_A, TOOL_B, FRAMING])
    assert classify_log("TOOL-B runs\nTOOL-A runs\nQUIRK happened\n", cat)[0].signature == "boom"
    assert "boom" not in [f.signature for f in classify_log("TOOL-A runs\nTOOL-B runs\nQUIRK happened\n", cat)]
    assert classify_log("TOOL-B runs, TOOL-A runs\nQUIRK happened\n", cat)[0].signature == "boom"  # one line: first listed
    # with none above, the nearest below (an excerpt cut above its builder's first words, whose verdict follows)
    assert classify_log("QUIRK happened\nTOOL-A runs\n", cat)[0].signature == "boom"
    # a failure nothing explains is the failed build's: the first listed with a marker in it, whichever ran last
    assert classify_log("TOOL-A runs\nall built\nTOOL-B runs\nfatal: widget bent\n", cat)[0].signature == \
        "tool-a-failed"
    # the framing counts only when no other builder's marker is near
    assert classify_log("TOOL-A runs\nStep #1 started\nQUIRK happened\n", cat)[0].signature == "boom"


def test_a_framed_line_is_the_output_of_a_builder_in_its_own_cloud_build_step():
    cat = _catalogue(builders=[TOOL_A, TOOL_B, FRAMING])
    log = "Step #0: TOOL-A runs\nStep #0: all built\nStep #1: QUIRK happened\n"
    assert "boom" not in [f.signature for f in classify_log(log, cat)]
    assert classify_log(log.replace("Step #1", "Step #0"), cat)[0].signature == "boom"


def test_no_builders_output_goes_on_below_a_line_that_says_its_build_finished():
    cat = _catalogue(builders=[TOOL_A, TOOL_B, FRAMING], finished=["BUILD FINISHED"])
    assert classify_log("TOOL-A runs\nBUILD FINISHED\nfatal: widget bent\n", cat)[0].signature == "unknown"
    assert classify_log("TOOL-A runs\nBUILD FINISHED\nQUIRK happened\n", cat)[0].signature == "unknown"
    # (a marker below it still tells)
    assert classify_log("TOOL-B runs\nBUILD FINISHED\nQUIRK happened\nTOOL-A runs\n", cat)[0].signature == "boom"
    # ... nor does the section it was in: below it, none is known, as above the first marker
    fetch = _catalogue(sections=[{"name": "fetch", "markers": ["FETCH-START"], "fallback": "tool-a-failed"}],
                       finished=["BUILD FINISHED"])
    assert classify_log("FETCH-START\nfatal: widget bent\n", fetch)[0].signature == "tool-a-failed"
    assert classify_log("FETCH-START\nBUILD FINISHED\nfatal: widget bent\n", fetch)[0].signature == "unknown"


def test_builder_output_for_any_builder_counts_in_every_builders_output_but_not_in_a_log_with_none():
    cat = _catalogue(builders=[{"name": "tool-a", "markers": ["TOOL-A runs"]},
                               {"name": "tool-b", "markers": ["TOOL-B runs"]}],
                     signatures=[{"id": "boom", "title": "t", "weight": 50, "patterns": ["BOOM happened"],
                                  "cause": "c.", "fix": ["f"],
                                  "builder_output": {"builders": ["any"], "patterns": ["QUIRK happened"]}},
                                 UNKNOWN])
    assert classify_log("TOOL-A runs\nQUIRK happened\n", cat)[0].signature == "boom"
    assert classify_log("TOOL-B runs\nQUIRK happened\n", cat)[0].signature == "boom"
    assert classify_log("QUIRK happened\n", cat)[0].signature == "unknown"   # no build in sight


def test_a_builders_fallback_names_its_failures_that_nothing_explains():
    cat = _catalogue()
    log = "TOOL-A runs\nstep 1 ok\nerror: the widget is bent\nERROR\n"
    top = classify_log(log, cat)[0]
    assert (top.signature, top.line, top.evidence) == ("tool-a-failed", 3, ["error: the widget is bent"])
    # the same failure from a builder without a fallback stays unknown
    assert classify_log(log.replace("TOOL-A", "TOOL-B"), cat)[0].signature == "unknown"
    # a log of that builder that names no error is no failure to explain
    assert classify_log("TOOL-A runs\nall good\n", cat)[0].signature == "unknown"


def test_the_builder_of_a_huge_log_is_found_around_its_first_finding(monkeypatch):
    monkeypatch.setattr(log_structure, "BUILDER_WINDOW", 1_000)
    filler = "noise line\n" * 400
    log = filler + "TOOL-A runs\nQUIRK happened\n" + filler
    assert len(log) > 3 * log_structure.BUILDER_WINDOW
    assert classify_log(log, _catalogue())[0].signature == "boom"


def test_shipped_builders_package_managers_errors_are_a_buildpacks_failure_only_in_a_buildpacks_build():
    npm = "npm ERR! Missing: fill-range@4.0.0 from lock file"
    buildpacks = f'Step #1: [builder] Running "npm ci"\nStep #1: [builder] {npm}\n'
    functions = f"i  functions: updating Node.js 16 function api(us-central1)...\nBuild failed: ...\n{npm}\n"
    dockerfile = f"Step 5/9 : RUN npm ci\n ---> Running in 4cf4d2ed059b\n{npm}\n"
    legacy = f'Step #1 - "builder": INFO ftl.par building\nStep #1 - "builder": {npm}\n'
    assert classify_log(buildpacks)[0].signature == "buildpacks-build-failed"
    assert classify_log(functions)[0].signature == "buildpacks-build-failed"
    assert classify_log(functions)[0].line == 3
    assert classify_log(dockerfile)[0].signature == "unknown"
    assert classify_log(legacy)[0].signature == "unknown"


@pytest.mark.parametrize("line", [
    "Your bundle is locked to sqlite3 (2.5.0) from rubygems repository https://rubygems.org/",
    "Your requirements could not be resolved to an installable set of packages.",
    "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile",
    "FAILURE: Build failed with an exception.",
    "/workspace/app.csproj : error NU1101: Unable to find package Foo.Bar. No packages exist with this id",
    "Failed to compile.",
])
def test_shipped_builder_output_covers_each_languages_package_manager(line):
    assert classify_log(f"===> BUILDING\n[builder] {line}\n")[0].signature == "buildpacks-build-failed"
    assert classify_log(f"Step 3/8 : RUN build\n ---> Running in 0a1b2c3d\n{line}\n")[0].signature == "unknown"


def test_shipped_buildpacks_fallback_points_inside_the_failed_builder_step():
    log = "\n".join([
        'Step #0 - "lint": error: 3 style warnings (not fatal)',
        'Finished Step #0 - "lint"',
        'Starting Step #1 - "Buildpack"',
        'Step #1 - "Buildpack": ===> BUILDING',
        'Step #1 - "Buildpack": [builder] Error: the frobnicator broke',
        'Finished Step #1 - "Buildpack"',
        "ERROR",
        'ERROR: build step 1 "gcr.io/k8s-skaffold/pack" failed: step exited with non-zero status: 1'])
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 5)
    # (the step id `Buildpack` is gcloud's for its pack step, a buildpacks marker of its own)
    docker = log.replace("===> BUILDING", "Step 1/3 : RUN make").replace("[builder] ", "").replace('"Buildpack"', '"docker"')
    assert classify_log(docker.replace("k8s-skaffold/pack", "cloud-builders/docker"))[0].signature == "unknown"
    pack_step = docker.replace("k8s-skaffold/pack", "cloud-builders/docker").replace('"docker"', '"Buildpack"')
    assert classify_log(pack_step)[0].signature == "buildpacks-build-failed"


def test_shipped_download_helper_marks_a_buildpacks_build_and_its_http_status_names_the_failure():
    # the buildpacks' own download helper, a cut excerpt: no phase, no [builder] prefix, no error word
    log = "Installing pnpm v11.0.0\nGET https://github.com/pnpm/pnpm/releases/download/v11.0.0/pnpm-linux-x64\n\n" \
          "fetching ... returned HTTP status: 404\n"
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 4)
    # a success is no failure: nothing names one, so the line read is the log's last words, as no known failure
    assert (classify_log("all good\nserver said HTTP status: 200\n")[0].signature,
            classify_log("all good\nserver said HTTP status: 200\n")[0].line) == ("unknown", 2)


def test_shipped_pip_backtracking_is_a_pip_failure_only_in_a_managed_builds_quote():
    backtracking = "INFO: pip is looking at multiple versions of pyasn1 to determine which version is compatible."
    quoted = f"ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: ... while.\n{backtracking}\n"
    top = classify_log(quoted)[0]
    assert (top.signature, top.line) == ("pip-install-failed", 2)
    assert classify_log(f"Step 4/9 : RUN pip install -r requirements.txt\n{backtracking}\n")[0].signature == "unknown"


# ---- summary lines give way to the cause ----------------------------------------------------------------

def test_a_summary_line_gives_way_to_the_first_failure_above_it_in_the_same_output():
    cat = _catalogue(summaries=["BOOM happened, see above"], output_starts=["== next part =="])
    log = "something failed long ago\n== next part ==\nwarming up\nfatal: the gasket blew\nBOOM happened, see above\n"
    top = classify_log(log, cat)[0]
    assert (top.line, top.evidence[0], top.lines) == (4, "fatal: the gasket blew", [4, 5])
    # without the summary entry the match itself is the evidence
    assert classify_log(log, _catalogue(output_starts=["== next part =="]))[0].line == 5
    # the search stops at an output start: the older failure above it is not this one's cause
    assert classify_log(log.replace("fatal: the gasket blew", "all fine"), cat)[0].line == 5


def test_a_signatures_pattern_written_as_a_summary_names_it_and_gives_way_to_the_cause_above():
    # written once, `- summary: '...'` is one of the signature's patterns and one of the catalogue's summaries
    def catalogue(pattern):
        return parse_catalogue({"output_starts": ["== next part =="], "signatures": [
            {"id": "boom", "title": "t", "weight": 50, "patterns": ["never seen", pattern], "cause": "c.",
             "fix": ["f"]}, UNKNOWN]})

    log = "== next part ==\nwarming up\nfatal: the gasket blew\nBOOM happened, see above\n"
    top = classify_log(log, catalogue({"summary": "BOOM happened, see above"}))[0]
    assert (top.signature, top.line, top.lines) == ("boom", 3, [3, 4])
    top = classify_log(log, catalogue("BOOM happened, see above"))[0]   # a plain pattern is read where it matched
    assert (top.signature, top.line) == ("boom", 4)
    assert catalogue({"summary": "BOOM happened, see above"}).is_summary("BOOM happened, see above")
    for bad in ({"summary": ""}, {"summary": ["x"]}, {"summary": "BOOM", "why": "x"}, {"verdict": "BOOM"}):
        with pytest.raises(ConfigError, match=r"signature 'boom'.patterns must be a list of regular expressions"):
            catalogue(bad)


def test_a_below_pattern_counts_only_below_its_line_with_no_output_start_between():
    cat = parse_catalogue({"output_starts": ["-----> "], "signatures": [
        {"id": "stale", "title": "t", "weight": 60, "patterns": ["never seen"], "cause": "c.", "fix": ["f"],
         "below": {"lines": ["-----> Fetching widget \\d"], "within": 3, "patterns": ["archive is broken"]}},
        UNKNOWN]})
    below = "-----> Fetching widget 1.2\n  from https://example.org/widget-1.2.tgz\narchive is broken\n"
    assert classify_log(below, cat)[0].signature == "stale"
    assert classify_log("archive is broken\n", cat)[0].signature == "unknown"   # below nothing
    too_far = below.replace("  from", "  one\n  two\n  three\n  from")
    assert classify_log(too_far, cat)[0].signature == "unknown"   # more than `within` lines below
    # below another step's start, however near: that step's download broke
    assert classify_log(below.replace("  from", "-----> Fetching gadget"), cat)[0].signature == "unknown"


@pytest.mark.parametrize("below, message", [
    ({"lines": ["-----> Fetching"], "patterns": ["archive is broken"]}, r"below must be a mapping with 'lines'"),
    ({"lines": [], "within": 3, "patterns": ["archive is broken"]}, r"below.lines must be a non-empty list"),
    ({"lines": ["-----> Fetching"], "within": 3, "patterns": "archive"}, r"below.patterns must be a non-empty list"),
    ({"lines": ["-----> Fetching"], "within": 99, "patterns": ["archive is broken"]}, r"below.within must be a whole"),
    ({"lines": ["-----> Fetching"], "within": True, "patterns": ["archive is broken"]},
     r"below.within must be a whole"),
])
def test_a_bad_below_is_a_config_error_naming_the_signature(below, message):
    doc = {"signatures": [{"id": "stale", "title": "t", "weight": 5, "patterns": ["x happened"], "cause": "c.",
                           "fix": ["f"], "below": below}, UNKNOWN]}
    with pytest.raises(ConfigError, match=r"signature 'stale'." + message):
        parse_catalogue(doc)


def test_a_not_below_line_rules_out_every_match_on_or_under_it_until_a_stop():
    cat = parse_catalogue({"output_starts": ["== next part =="], "signatures": [
        {"id": "lost", "title": "t", "weight": 60, "patterns": ["widget not found"], "cause": "c.", "fix": ["f"],
         "not_below": {"lines": ["FETCH --from-shelf"], "stops": ["FETCH "], "within": 3}}, UNKNOWN]})
    assert classify_log("FETCH box\nwidget not found\n", cat)[0].signature == "lost"
    under = classify_log("FETCH --from-shelf box\nwidget not found\n", cat)[0]
    assert (under.signature, under.line) == ("unknown", 2)   # (still the line to read)
    # another instruction between: the nearest one above failed
    assert classify_log("FETCH --from-shelf box\nFETCH crate\nwidget not found\n", cat)[0].signature == "lost"
    # too far below, or below an output start: not that instruction's failure
    assert classify_log("FETCH --from-shelf box\n1\n2\n3\nwidget not found\n", cat)[0].signature == "lost"
    assert classify_log("FETCH --from-shelf box\n== next part ==\nwidget not found\n", cat)[0].signature == "lost"


@pytest.mark.parametrize("log, expected", [
    # the classic builder under a COPY from another stage, and under its own COPY from the context after one
    ("Step 18/23 : COPY --from=builder /app/public ./public\nCOPY failed: stat app/public: file does not exist\n",
     "unknown"),
    ("Step 34/39 : COPY --from=builder --chown=node:node /app/.next/standalone ./\n"
     "COPY failed: stat app/.next/standalone: file does not exist\n", "unknown"),
    ("Step 14/16 : COPY --from=builder /opt/app/public ./public\n ---> 1a2b3c4d5e6f\nStep 15/16 : COPY run.sh /\n"
     "COPY failed: file not found in build context or excluded by .dockerignore: stat run.sh: file does not exist\n",
     "docker-copy-source-missing"),
    # BuildKit: the step's own error under its header, and the verdict under the Dockerfile excerpt's `>>>` line
    ('#14 [stage-1 3/5] COPY --from=builder /app/dist ./dist\n#14 ERROR: failed to calculate checksum of ref '
     'abc::def: "/app/dist": not found\n', "unknown"),
    ('Dockerfile:36\n--------------------\n  35 |     # the built files\n'
     '  36 | >>> COPY --from=builder /app/dist ./dist\n  37 |     COPY nginx.conf /etc/nginx/\n'
     '--------------------\nERROR: failed to solve: failed to compute cache key: '
     'failed to calculate checksum of ref abc::def: "/app/dist": not found\n', "unknown"),
    ('Dockerfile:37\n--------------------\n  36 |     COPY --from=builder /app/dist ./dist\n  37 | >>> COPY nginx.conf '
     '/etc/nginx/\n--------------------\nERROR: failed to solve: failed to compute cache key: failed to calculate '
     'checksum of ref abc::def: "/nginx.conf": not found\n', "docker-copy-source-missing"),
])
def test_a_copy_from_another_stage_that_finds_nothing_names_no_build_context_path(log, expected):
    # LABELLING.md since round 216: the earlier stage did not produce the path; nothing is missing from the upload
    assert classify_log(log)[0].signature == expected


@pytest.mark.parametrize("not_below, message", [
    ({"lines": ["FETCH --from"], "within": 3}, r"not_below must be a mapping with 'lines', 'stops' and 'within'"),
    ({"lines": ["FETCH --from"], "stops": [], "within": 3}, r"not_below.stops must be a non-empty list"),
    ({"lines": "FETCH --from", "stops": ["FETCH "], "within": 3}, r"not_below.lines must be a non-empty list"),
    ({"lines": ["FETCH --from"], "stops": ["FETCH "], "within": -1}, r"not_below.within must be a whole"),
])
def test_a_bad_not_below_is_a_config_error_naming_the_signature(not_below, message):
    doc = {"signatures": [{"id": "lost", "title": "t", "weight": 5, "patterns": ["x happened"], "cause": "c.",
                           "fix": ["f"], "not_below": not_below}, UNKNOWN]}
    with pytest.raises(ConfigError, match=r"signature 'lost'." + message):
        parse_catalogue(doc)


def test_a_cause_repeated_at_each_part_of_the_output_is_read_where_it_first_appeared():
    cat = _catalogue(summaries=["BOOM happened, see above"], output_starts=["== next part =="])
    repeated = "fatal: the gasket blew"
    log = f"== first part ==\n{repeated}\n== next part ==\n{repeated}\n{repeated}\nBOOM happened, see above\n"
    assert classify_log(log, cat)[0].line == 2   # (not 4: the same error again, under the next part's header)
    # another error above the header is another failure, and the search still stops there
    other = log.replace(f"first part ==\n{repeated}", "first part ==\nfatal: the pump stalled")
    assert classify_log(other, cat)[0].line == 4


def test_a_summary_ending_with_a_colon_gives_way_to_the_message_below_it():
    cat = _catalogue(summaries=["BOOM happened:$"])
    log = "== header ==\nBOOM happened:\nwhile doing X:\ncould not open widget.cfg\n-----\nmore output\n"
    assert classify_log(log, cat)[0].line == 4


def test_shipped_summaries_error_id_suffix_and_sorry_lines():
    functions = ("ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: *** Error "
                 "compiling './requirements.py'...\n  File \"./requirements.py\", line 1\nSyntaxError: invalid "
                 "syntax; Error ID: 49c34848\n")
    assert classify_log(functions)[0].line == 1
    # the Error ID on the line that opens the message: that line is the cause
    one_line = "Deploying function...failed.\nERROR: (gcloud.functions.deploy) OperationError: code=3, " \
               "message=Build failed: Could not find Gemfile.lock file in your app.; Error ID: 7916f05c\n"
    assert classify_log(one_line)[0].line == 2


# ---- the failed Cloud Build step ---------------------------------------------------------------------------

def test_a_finding_only_in_steps_that_succeeded_ranks_after_one_in_the_failed_step():
    cat = parse_catalogue({"signatures": [
        {"id": "heavy", "title": "t", "weight": 90, "patterns": ["HEAVY thing"], "cause": "c.", "fix": ["f"]},
        {"id": "light", "title": "t", "weight": 10, "patterns": ["LIGHT thing"], "cause": "c.", "fix": ["f"]},
        UNKNOWN]})
    log = "\n".join(["Step #0: HEAVY thing (retried, then fine)", "Finished Step #0", "Step #1: LIGHT thing",
                     "Finished Step #1", "ERROR", 'ERROR: build step 1 "gcr.io/x" failed: exit status 1'])
    assert [f.signature for f in classify_log(log, cat)] == ["light", "heavy"]
    # with no failed step named, weight decides
    assert [f.signature for f in classify_log(log.rsplit("\n", 2)[0], cat)] == ["heavy", "light"]


# ---- the lead line -----------------------------------------------------------------------------------------

def test_the_lead_line_is_in_the_failed_step():
    log = "\n".join(["Step #0: error: a harmless lint error", "Finished Step #0",
                     "Step #1: Error: the real problem", "Finished Step #1", "ERROR",
                     'ERROR: build step 1 "gcr.io/x" failed: exit status 1'])
    assert classify_log(log)[0].line == 3
    assert classify_log(log.replace("build step 1", "build step 9"))[0].line == 1   # no such step: first error


def test_the_lead_line_is_the_failed_steps_last_words_when_none_names_an_error():
    log = "\n".join(['Step #0: Pulling image', 'Step #0: No .deps.json file found for the app', "Step #0: ",
                     "Finished Step #0", "ERROR"])   # the bare ERROR after a step says which step failed
    assert classify_log(log)[0].line == 2


def test_the_lead_line_falls_back_to_other_words_for_failure():
    assert classify_log("Running: go get\ngo: errors parsing go.mod:\n")[0].line == 2
    # a warning is no failure: the line read is the last words above it
    assert classify_log("all good\nWARNING: retry failed once\n")[0].line == 1
    # a tool's binary missing, in the words of Playwright's launcher, above its advice box
    log = ["Running 17 tests using 1 worker", "browserType.launch: Executable doesn't exist at /ms-playwright/chrome",
           "╔═════╗", "║ Please run the following command to download new browsers: ║", "║ <3 Playwright Team ║", "╚═════╝"]
    assert top_of(log).line == 2


def test_the_lead_line_of_a_huge_log_is_searched_at_its_end(monkeypatch):
    monkeypatch.setattr(lead, "LEAD_WINDOW", 200)
    log = "error: early noise\n" + "ok line\n" * 100 + "fatal: the end\n"
    assert classify_log(log)[0].line == 102


# (healthy text above a failure, as whole logs hold it: tests/test_classify_whole_logs.py runs the real ones)

@pytest.mark.parametrize("healthy", ["Downloading error-prone-annotations-2.18.0.jar",
                                     "+ curl --silent --show-error -o tool.tgz https://example.com/tool.tgz"])
def test_error_inside_a_hyphenated_name_or_flag_names_no_error(healthy):
    assert classify_log(f"{healthy}\nfatal: widget store unreachable\n")[0].line == 2


def test_a_cloud_build_step_that_succeeded_holds_no_lead_line():
    # a console copy carries no step prefix: the steps are told apart by Cloud Build's Starting/Finished lines
    log = "\n".join(['Starting Step #0 - "warm-cache"', "Error: cache image not found, building from scratch",
                     'Finished Step #0 - "warm-cache"', 'Starting Step #1 - "test"',
                     "FAIL: test_widget (tests.test_widget)", 'Finished Step #1 - "test"'])
    assert classify_log(log)[0].line == 5
    # ... and the last step, after which none started, may have failed
    assert classify_log(log.rsplit("\n", 3)[0])[0].line == 2


def test_a_tools_failure_words_in_a_step_that_succeeded_are_not_the_line_to_read():
    # (npm's words name no cause outside a buildpacks build: the line to read when nothing explains the log)
    log = "\n".join(["Starting Step #0", "npm ERR! code ETIMEDOUT (retrying)", "Finished Step #0", "Starting Step #1",
                     "Your lock file does not contain a compatible set of packages.", "Finished Step #1"])
    assert classify_log(log)[0].line == 5


def test_an_exception_named_with_its_message_is_a_failure_to_read():
    assert classify_log("Uploading the bundle\nUploadQuotaException: 429 too many uploads today\n")[0].line == 2
    assert classify_log("ExceptionHandler registered\nall good\n")[0].line == 2   # the last words, not line 1


def test_the_failed_steps_last_words_are_right_above_its_verdict():
    # its lines further up, with other output between, are not why it failed
    log = "\n".join(["Step #0: compiled 12 modules", "fatal: widget store unreachable",
                     'ERROR: build step 0 "gcr.io/x" failed: exit status 3'])
    assert classify_log(log)[0].line == 2
    # nor does a step mentioned above other output tell which step the bare ERROR verdict is about
    assert classify_log(log.replace('ERROR: build step 0 "gcr.io/x" failed: exit status 3', "ERROR"))[0].line == 2


# ---- section fallback -------------------------------------------------------------------------------------

def test_an_unexplained_failure_while_fetching_the_source_is_a_fetch_failure():
    fetch = "\n".join(["FETCHSOURCE", "BUILD", 'Starting Step #0 - "fetch"',
                       'Step #0 - "fetch": Error: gs://bucket/source.zip: timed out', 'Finished Step #0 - "fetch"',
                       "ERROR"])
    top = classify_log(fetch)[0]
    assert (top.signature, top.line) == ("source-fetch-failed", 4)
    assert classify_log(fetch.replace('"fetch"', '"copy"'))[0].signature == "unknown"


# ---- the new catalogue keys are validated -----------------------------------------------------------------

@pytest.mark.parametrize("top, message", [
    ({"builders": [{"name": "tool-a", "markers": ["TOOL-A runs"], "fallback": "nope"}]},
     r"builder 'tool-a'.fallback names unknown signature 'nope'"),
    ({"builders": [{"name": "Tool A", "markers": ["x runs"]}]}, r"lowercase hyphenated name"),
    ({"builders": [{"name": "tool-a", "markers": []}]}, r"builder 'tool-a'.markers must be a non-empty list"),
    ({"builders": [{"name": "tool-a", "markers": ["(a|b)"]}]}, r"builder 'tool-a' marker pattern .* plain literal"),
    ({"builders": [{"name": "tool-a", "markers": ["TOOL-A runs"], "colour": 1}]}, r"unknown key"),
    ({"summaries": "x"}, r"'summaries' must be a list"),
    ({"output_starts": ["(x"]}, r"output start pattern .* not a valid regular expression"),
    ({"sections": [{"name": "fetch", "markers": ["FETCHSOURCE"], "fallback": "nope"}]},
     r"section 'fetch'.fallback names unknown signature 'nope'"),
])
def test_bad_context_entries_are_config_errors(top, message):
    with pytest.raises(ConfigError, match=message):
        _catalogue(**top)


@pytest.mark.parametrize("builder_output, message", [
    ({"builders": ["tool-z"], "patterns": ["QUIRK happened"]}, r"names unknown builder\(s\) \['tool-z'\]"),
    ({"builders": ["tool-a"]}, r"must be a mapping with 'builders' and 'patterns'"),
    ({"builders": [], "patterns": ["QUIRK happened"]}, r"builders must be a non-empty list"),
    ({"builders": ["tool-a"], "patterns": []}, r"patterns must be a non-empty list"),
])
def test_bad_builder_output_is_a_config_error_naming_the_signature(builder_output, message):
    with pytest.raises(ConfigError, match=r"signature 'boom'.builder_output") as raised:
        parse_catalogue(_boom_for_tool_a(builder_output=builder_output))
    assert raised.match(message)


def test_the_shipped_catalogue_names_its_builders_and_their_fallbacks():
    cat = load_catalogue()
    # older builders win, and Vercel's build, which prints a build script's start as Google's Node.js buildpack does
    # (and the build images of Netlify and Cloudflare Pages, whose words for a version they cannot install are a
    # buildpack's)
    assert [b.name for b in cat.builders][:5] == ["legacy-runtime", "vercel", "netlify", "cloudflare-pages",
                                                  "buildpacks"]
    assert {b.name: b.fallback for b in cat.builders}["vercel"] is None
    assert {b.name: b.fallback for b in cat.builders}["buildpacks"] == "buildpacks-build-failed"
    assert {s.name: s.fallback for s in cat.sections}["fetch"] == "source-fetch-failed"


def test_deploy_progress_verdicts_are_passed_over_for_the_line_that_says_why():
    log = "Updating service [default]...failed.\nDeployment failed\nthe widget could not start\n"
    assert classify_log(log)[0].line == 3
    firebase = "⚠  functions[api(us-central1)]: Deployment error.\nthe widget could not start\n"
    assert classify_log(firebase)[0].line == 2


def test_a_builders_verdict_whose_cause_is_a_usage_error_is_no_failure_of_that_builder():
    verdict = "ERROR: failed to build: executing lifecycle: failed with status code: 12"
    refused = "[detector] ERROR: failed to set API for Buildpack 'x@1.0': buildpack API version '0.2' is incompatible " \
              "with the lifecycle"
    top = classify_log(f"{refused}\n{verdict}\n")[0]
    assert (top.signature, top.line) == ("unknown", 1)   # the lifecycle refused a buildpack: none of its code ran
    top = classify_log(f"[builder] make: gcc: command not found\n{verdict}\n")[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 1)   # a buildpack ran, and failed


def test_cloud_foundry_unable_to_pack_the_compiled_droplet_is_no_failure_of_the_buildpacks():
    log = ["-----> Python Buildpack version 1.6.28", "   -----> Running go build finalize",
           "   Failed to compress droplet filesystem: exit status 2", "   Exit status 1"]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 3)


def test_an_emulator_crashing_under_a_builder_for_another_architecture_is_no_failure_of_that_builder():
    # a builder image for another CPU architecture run under QEMU: the emulator's crash, not a buildpack's failure
    log = ["[creator]     ===> DETECTING", "[creator]     ======== Output: paketo-buildpacks/graalvm@6.0.0 ========",
           "[creator]     qemu: uncaught target signal 11 (Segmentation fault) - core dumped"]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 3)


@pytest.mark.parametrize("line", ["unknown flag: --output", "unknown shorthand flag: 'o' in -o",
                                  "tag does not exist: gcr.io/p/app:latest"])
def test_a_usage_error_or_a_missing_tag_with_no_error_word_is_the_line_to_read(line):
    log = ["docker buildx build --output type=registry --tag gcr.io/p/app:v1 .", line, "See 'docker --help'."]
    assert top_of(log).line == 2


@pytest.mark.parametrize("verdict", ["##[error]Process completed with exit code 1.",
                                     "Error: Process completed with exit code 2.",
                                     "##[error]Docker run failed with exit code 2",
                                     "ERROR: Job failed: exit code 1", "ERROR: Build failed: exit code 1"])
def test_github_actions_verdict_on_a_step_is_passed_over_for_the_line_that_says_why(verdict):
    log = ['invalid argument "gcr.io/p/app//:v1" for "-t, --tag" flag: invalid reference format',
           "See 'docker build --help'.", verdict]
    assert top_of(log).line == 1
    # ... and alone, it is still the line to read
    assert classify_log(verdict + "\n")[0].line == 1


def test_the_message_below_a_summary_ends_with_its_cloud_build_step():
    # the buildpacks error id ends with a colon; its message is the step's lines below it, not Cloud Build's
    # bare `ERROR` verdict after the step finished
    log = ['Step #1 - "build": [builder] failed to build: (error ID: 2c6a9049):',
           'Step #1 - "build": [builder] ERROR: npm ci can only install with an existing package-lock.json',
           'Finished Step #1 - "build"', "ERROR"]
    top = top_of(log)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 2)


CONSOLE_COPY = """2024-11-29 14:01:13.657 AEDT
Step #0: gcc -pthread -fPIC -c src/reader.c -o build/temp/src/reader.o
2024-11-29 14:01:13.657 AEDT
Step #0: error: command 'gcc' failed: No such file or directory
2024-11-29 14:01:13.657 AEDT
Step #0: [end of output]
2024-11-29 14:01:13.657 AEDT
Step #0:
2024-11-29 14:01:13.658 AEDT
Step #0:  ERROR: Failed building wheel for hiredis
"""


def test_a_console_copy_with_each_timestamp_on_its_own_line_reads_as_one_output():
    # Cloud Logging's console puts each entry's timestamp on a line of its own: such a line has no text of its
    # own, so pip's verdict on the wheel is read at the compiler's error above it in the same step, also below
    # a healthy log's lines and with each line's own timestamp in front
    for text in (CONSOLE_COPY, "Step #0: Successfully built app\n" * 3 + CONSOLE_COPY,
                 "".join(f"2024-11-29T03:01:13.657Z {line}\n" for line in CONSOLE_COPY.splitlines())):
        top = classify_log(text)[0]
        line = len(text.splitlines()) - len(CONSOLE_COPY.splitlines()) + 4
        assert (top.signature, top.line) == ("pip-install-failed", line)
        assert top.evidence[0].endswith("Step #0: error: command 'gcc' failed: No such file or directory")
    assert own_text("2024-11-29 14:01:13.657 AEDT") == ""
    # a word after the time is the line's own text, not the zone
    assert own_text("2024-11-29 14:01:13.657 WARN disk almost full") == "WARN disk almost full"


def test_jenkins_time_of_day_is_not_a_lines_own_text_even_on_some_lines_only():
    # the timestamper's `HH:MM:SS  `: taken off the whole log when every line has it, off each line that keeps it
    # otherwise (a log below another, a paste's wrapped continuation), and not a time inside a line's text
    assert own_text("13:08:42  * Error running x") == "Error running x" and own_text("13:08:42  ") == ""
    assert own_text("at 13:08:42  x") == "at 13:08:42  x"
    packer = ['13:08:42  Error: Failed preparing provisioner-block "ansible" ""', "13:08:42  ",
              "13:08:42    on template.pkr.hcl line 46:", "13:08:42  1 error(s) occurred:", "13:08:42  ",
              '13:08:42  * Error running "ansible-playbook --version": exit status 5']
    below = "Step #0: Successfully built app\n" * 3 + "\n".join(packer) + "\n"
    assert classify_log(below)[0].line == 9   # the error the report gathered, its timestamp kept


def test_gits_remote_prefix_is_not_a_lines_own_text():
    assert own_text("remote:        npm ERR! code ELIFECYCLE") == "npm ERR! code ELIFECYCLE"
    assert indented_text("remote:        npm ERR! code ELIFECYCLE") == "       npm ERR! code ELIFECYCLE"
    assert own_text("remote:") == "" and own_text("remotes: origin") == "remotes: origin"


def test_pips_wheel_verdict_with_nothing_above_is_the_line_to_read():
    top = classify_log('Step #0: Building wheel for hiredis (setup.py): started\n'
                       'Step #0:  ERROR: Failed building wheel for hiredis\n')[0]
    assert (top.signature, top.line) == ("pip-install-failed", 2)


def test_an_unexplained_traceback_is_read_at_the_exception_that_ends_it():
    log = ("Step #0: Traceback (most recent call last):\n"
           'Step #0:   File "/workspace/migrate.py", line 12, in <module>\n'
           "Step #0:     run()\n"
           "Step #0: psycopg.OperationalFailure: connection refused\n"
           "ERROR: build step 0 \"python\" failed: step exited with non-zero status: 1\n")
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("unknown", 4)
    # an exception whose name says nothing of an error, alone on its line, ends a traceback too
    bare = classify_log("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nKeyboardStop\n")[0]
    assert (bare.signature, bare.line) == ("unknown", 3)


def test_a_traceback_a_paste_cut_before_its_exception_is_read_at_its_innermost_frame():
    # the log ends among the frames: the last frame's source line is where it failed (round 171's gsutil import)
    cut = ("Traceback (most recent call last):\n"
           '  File "/usr/lib/google-cloud-sdk/platform/gsutil/gsutil", line 22, in <module>\n'
           "    gsutil.RunMain()\n"
           '  File "/usr/lib/python2.7/dist-packages/google_compute_engine/boto/compute_auth.py", line 19, in <module>\n'
           "    from google_compute_engine import logger\n")
    top = classify_log(cut)[0]
    assert (top.signature, top.line) == ("unknown", 5)
    # ... but not one whose frames are followed by other output: the traceback did not end the log there
    followed = cut + "\nretrying the upload\nuploaded 3 files\nDeploy step exited 1\n"
    assert classify_log(followed)[0].line != 5


def test_a_traceback_a_tools_verdict_quotes_at_its_end_is_read_at_its_exception():
    # (GoReleaser's verdict on snapcraft, its stderr quoted from the header on; round 174's tuning log)
    log = ["⨯ release failed after 15m33s              error=snapcraft packages: failed to push dist/x.snap package: "
           "exit status 1: Traceback (most recent call last):",
           '  File "/snap/snapcraft/7923/bin/snapcraft", line 8, in <module>', "    sys.exit(run())",
           '  File "/snap/snapcraft/7923/usr/lib/python3.8/pathlib.py", line 1325, in unlink',
           "    self._accessor.unlink(self)",
           "FileNotFoundError: [Errno 2] No such file or directory: '/home/runner/.cache/snapcraft/log/x.log'"]
    top = classify_log("\n".join(log) + "\n")[0]
    assert (top.signature, top.line) == ("unknown", 6)


def test_a_traceback_indented_by_pip_or_flattened_by_a_paste_is_read_at_its_exception():
    # pip indents a package's whole output: the exception is shallower than the frames, not unindented
    pip = ('Step #1:     File "/tmp/pip-install-3p1noqkw/dlib/setup.py", line 129, in run\n'
           "Step #1:       cmake_version = self.get_cmake_version()\n"
           "Step #1:   RuntimeError:\n"
           "Step #1:    CMake must be installed to build the following extensions: _dlib_pybind11\n"
           "Step #1:   ERROR: Failed building wheel for dlib\n")
    top = classify_log(pip)[0]
    assert (top.signature, top.line) == ("pip-install-failed", 3)
    # a paste that lost every indentation: each frame's source line is the one right below it
    flat = ('Step #1 - "builder": File "/tmp/pip-wheel-5327wz7q/fbprophet/setup.py", line 44, in run\n'
            'Step #1 - "builder": build_stan_model(target_dir)\n'
            'Step #1 - "builder": File "/tmp/pip-wheel-5327wz7q/fbprophet/setup.py", line 27, in build_stan_model\n'
            'Step #1 - "builder": from pystan import StanModel\n'
            'Step #1 - "builder": ModuleNotFoundError: No module named \'pystan\'\n'
            'Step #1 - "builder": Running setup.py clean for fbprophet\n')
    top = classify_log(flat)[0]
    assert (top.signature, top.line) == ("pip-install-failed", 5)
    # outside pip's build folder the same flattened traceback is no pip failure, still read at its exception
    app = flat.replace("/tmp/pip-wheel-5327wz7q/fbprophet/setup.py", "/workspace/main.py")
    top = classify_log(app)[0]
    assert (top.signature, top.line) == ("unknown", 5)
    # a source line indented less than its frame is no exception unless its name says so
    odd = ('Traceback (most recent call last):\n      File "a.py", line 2, in run\n    x = json.loads(s)\n'
           '  File "b.py", line 9, in loads\n    raise JSONDecodeError("Extra data", s, 1)\n'
           "json.decoder.JSONDecodeError: Extra data\n")
    assert classify_log(odd)[0].line == 6


def test_a_frames_source_line_naming_an_error_is_read_at_the_traceback_s_exception():
    # the lead line is a frame's source line (its `error` is a variable's name): the exception that ends the trace says
    log = ["app[web.1]:   File \"/app/.heroku/python/lib/python3.6/runpy.py\", line 142, in _get_module_details",
           "app[web.1]:     return _get_module_details(pkg_main_name, error)",
           "app[web.1]:   File \"/app/tg_bot/__init__.py\", line 62, in <module>",
           "app[web.1]:     from tg_bot.config import Development as Config",
           "app[web.1]: ModuleNotFoundError: No module named 'tg_bot.config'"]
    assert top_of(log).line == 5
    # a line under no frame is read where it is
    assert top_of(["  return f(error)", "ok"]).line == 1


def test_a_traceback_behind_a_dotted_prefix_with_python_311_carets_is_read_at_its_exception():
    p = "      .    "
    log = ["-------> Buildpack version 4.6.26", f"{p}Traceback (most recent call last):",
           f'{p}File "/tmp/buildpacks/b/scripts/compile.py", line 56, in <module>', f"{p}.done()", f"{p}^^^^^^",
           f'{p}File "/tmp/app/.extensions/phpmyadmin/extension.py", line 37', f"{p}print 'Installing PHPMyAdmin'",
           f"{p}^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^", f"{p}SyntaxError: Missing parentheses in call to 'print'.",
           f"{p}Failed to compile droplet: Failed to run finalize script: exit status 1"]
    assert (top_of(log).line) == 9


@pytest.mark.parametrize("log, named, unnamed", [
    ("[builder] -----> Compiling Ruby/NoLockfile\n"
     "[builder] /cnb/buildpacks/heroku_ruby/lib/language_pack/base.rb:65:in `default_addons': must subclass "
     "(RuntimeError)\n"
     "[builder]       from /cnb/buildpacks/heroku_ruby/lib/language_pack/base.rb:124:in `build_release'\n",
     "(RuntimeError)", ["(RuntimeHelper)"]),
    # ... and its system call errors (`Errno::EISDIR`), whose message names no error in words
    ("-----> Ruby app detected\n"
     "/tmp/buildpacks/heroku-buildpack-ruby.git/lib/language_pack/shell_helpers.rb:38:in `read': "
     "Is a directory - /tmp/env/..data (Errno::EISDIR)\n"
     "remote: from /usr/lib/ruby/1.9.1/pathname.rb:435:in `each_child'\n",
     "(Errno::EISDIR)", ["(RuntimeHelper)", "(Errno::eisdir)"]),
])
def test_rubys_uncaught_exception_names_a_failure(log, named, unnamed):
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 2)
    # a class in brackets that names no error, or one inside a sentence, is not one
    for other in (*unnamed, f"{named} was expected here"):
        assert classify_log(log.replace(named, other))[0].line == 3, other


def test_flynns_verdict_and_the_git_credential_managers_words_are_passed_over_for_the_builds_own():
    log = ["> git push flynn master", "Logon failed, use ctrl+c to cancel basic credential prompt.",
           "Counting objects: 460, done.", "-----> Building py-getting...", "-----> Python app detected",
           "-----> Installing requirements with pip",
           "       /builder/buildpacks/000006_heroku-buildpack-python/bin/steps/pip-install: line 7: "
           "/app/.heroku/python/bin/pip: No such file or directory",
           "remote: ERROR: Build failed: exec: job exited with status 1"]
    top = top_of(log)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 7)
    # a cause in other words than `error` (cp out of disk) is read before Flynn's verdict below it
    full = ["remote: cp: cannot create directory '/tmp/cache/node/node_modules/concat-map': No space left on device",
            "remote: ", "remote: -----> Build failed", "remote: ",
            "remote:        We're sorry this build is failing! You can troubleshoot common issues here:",
            "remote: ERROR: Build failed: exec: job exited with status 1"]
    top = top_of(full)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 1)


def test_the_sh_packages_failure_is_read_at_the_commands_stderr():
    log = ("Traceback (most recent call last):\n"
           '  File "/workspace/build.py", line 9, in <module>\n'
           "    sh.make('image')\n"
           "sh.ErrorReturnCode_2:\n\n"
           "  RAN: /usr/bin/make image\n\n"
           "  STDOUT:\nbuilding\n\n"
           "  STDERR:\n"
           "make: *** No rule to make target 'image'.  Stop.\n")
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("unknown", 12)
    assert top.evidence == ["make: *** No rule to make target 'image'.  Stop."]


@pytest.mark.parametrize("line, text", [
    ('Step #0:     run()', '    run()'),
    ('Step #0 - "migrate": Traceback (most recent call last):', 'Traceback (most recent call last):'),
    ('> 12 |   File "x.py", line 3', '  File "x.py", line 3'),
    ('    run()', '    run()'),   # no prefix: the line as it is
])
def test_indented_text_keeps_the_indentation_under_the_prefix(line, text):
    assert indented_text(line) == text


def test_cloud_runs_exit_and_probe_verdicts_are_read_at_the_containers_own_error_above():
    log = ("INFO 2026-01-25T17:36:24Z Starting new instance. Reason: DEPLOYMENT_ROLLOUT\n"
           "ERROR 2026-01-25T17:36:25Z ModuleNotFoundError: No module named 'flask'\n"
           "WARNING 2026-01-25T17:36:25Z Container called exit(1).\n"
           'ERROR 2026-01-25T17:36:26Z Default STARTUP TCP probe failed 1 time consecutively for container '
           '"app" on port 8080. The instance was not started.\n')
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("container-start-failed", 2)
    # with nothing above, the verdict is the line to read
    alone = classify_log("\n".join(log.splitlines()[2:]))[0]
    assert (alone.signature, alone.line) == ("container-start-failed", 1)


def test_a_traceback_in_a_log_viewers_lines_above_cloud_runs_verdict_is_read_at_its_exception():
    rev = "DEFAULT [svc-00032-vbm] "
    log = (f"{rev}Traceback (most recent call last):\n"
           f'{rev}  File "/app/main.py", line 14, in <module>\n'
           f"{rev}    from processors import base\n"
           f"{rev}ModuleNotFoundError: No module named 'processors'\n"
           "WARNING [svc-00032-vbm] Container called exit(1).\n")
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("container-start-failed", 4)


def test_a_dockerfile_path_wrapped_by_a_console_still_names_the_missing_dockerfile():
    log = ("FATA[0002] build failed: building [gcr.io/p/app]: uploading source tarball: creating tar gz: lstat /home/dev\n"
           "/src/app/src/app/Dockerfile: no such file or directory\n")
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("dockerfile-not-in-upload", 2)


def test_a_push_to_a_project_that_does_not_exist_is_refused_and_a_pull_is_not_a_push():
    push = ("The push refers to repository [gcr.io/250312/worker]\n5435b3bbbbe5: Retrying in 2 seconds\n"
            "unknown: Project 'project:250312' not found or deleted.\n")
    assert (classify_log(push)[0].signature, classify_log(push)[0].line) == ("push-permission-denied", 3)
    pull = ("Step #0: Error response from daemon: Head \"https://gcr.io/v2/250312/base/manifests/latest\": "
            "unknown: Project 'project:250312' not found or deleted.\n")
    assert classify_log(pull)[0].signature != "push-permission-denied"


def test_a_severe_level_line_is_the_lead_when_no_signature_explains_the_log():
    log = ("Step #0: [INFO] 16.1s elapsed, 48/49 actions completed.\n"
           "Step #0: [SEVERE] functions_framework_builder on lib/functions.dart:\n"
           "Step #0: Not compatible with a supported function shape:\n"
           "Step #0: [INFO] Running build completed, took 16.4s\n")
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("unknown", 2)
    # in capitals only: the word in prose names no failure
    assert classify_log("Step #0: a severe storm of warnings, all harmless\nStep #0: built\n")[0].line == 2


@pytest.mark.parametrize("refusal", ["Error: accepts 1 arg(s), received 0",
                                     "Error: unknown flag: --buildpack-registry", "unknown flag: --buildpack-registry",
                                     'Error: required flag(s) "builder" not set'])
def test_a_builders_tool_refusing_how_it_was_called_is_no_failure_of_that_builder(refusal):
    log = ("Starting Step #1\nStep #1: Already have image (with digest): gcr.io/k8s-skaffold/pack\n"
           f"Step #1: {refusal}\nFinished Step #1\nERROR\n"
           'ERROR: build step 1 "gcr.io/k8s-skaffold/pack" failed: step exited with non-zero status: 1\n')
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("unknown", 3)
    # the same pack step failing in a build is the buildpacks' failure
    built = log.replace(refusal, "ERROR: failed to build: exit status 1")
    assert classify_log(built)[0].signature == "buildpacks-build-failed"


@pytest.mark.parametrize("key, owner", [("usage_errors", "usage error"), ("handed_over", "handed-over build line")])
def test_a_listed_line_needs_a_plain_literal(key, owner):
    doc = {key: ["(a|b)"], "signatures": [
        {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]}]}
    with pytest.raises(ConfigError, match=f"{owner} pattern"):
        parse_catalogue(doc)


@pytest.mark.parametrize("log, line", [
    # nothing names an error or a failure: the log's last words, past warnings, verdicts and lines without words
    ("$ cloud-code run\nResolving the emulator\nwaiting for the emulator to start\n", 3),
    ("Step #1:  python2-2.7.14-r2:\nStep #1:   pkg-config\nWARNING: something\n  }\n-----\n", 2),
    # ... past a stack's frames, to the message they are the stack of (a CDK deploy quoting CloudFormation's reason)
    ('"Please don\'t provide Handler or Runtime when the intended function PackageType is Image. (Status Code: 400)"\n'
     "    at FullCloudFormationDeployment.monitorDeployment (/usr/lib/node_modules/aws-cdk/lib/index.js:380:10)\n"
     "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n", 1),
    # ... unless those last words say it finished: a build's DONE, gcloud's `...done.`, its SUCCESS summary
    ("Step #2: total 0\nFinished Step #2\nPUSH\nDONE\n", 0),
    ("Updating service [app]...done.\nSetting traffic split for service [app]...done.\n", 0),
    ("ID: 1a2b\nDURATION: 6M17S\nSTATUS: SUCCESS\n", 0),
    ("", 0),
])
def test_with_no_line_naming_a_failure_the_log_is_read_at_its_last_words(log, line):
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("unknown", line)


def test_unframed_lines_below_a_cloud_build_steps_are_none_of_its_builders_output():
    # a step's every line carries its prefix: lines without one are not that step's tool's (here BuildKit's) output
    framed = ['Step #0 - "build": #22 [3/4] RUN npm ci', 'Step #0 - "build": #22 DONE 0.6s',
              'Step #0 - "build": latest: digest: sha256:118ce2bc size: 2614']
    excerpt = ["       ➤ YN0000: ┌ Post-resolution validation",
               "       ➤ YN0028: │ The lockfile would have been modified by this install, which is forbidden.",
               "       ➤ YN0000: Failed with errors in 1s 170ms", "-----> Build failed",
               " !     Push rejected, failed to compile Node.js app."]
    alone = classify_log("\n".join(excerpt))[0]
    below = classify_log("\n".join(framed + excerpt))[0]
    assert (alone.signature, alone.line) == ("buildpacks-build-failed", 2)
    assert (below.signature, below.line - len(framed)) == (alone.signature, alone.line)


def test_buildkits_time_column_without_its_step_number_is_not_a_lines_own_text():
    # (BuildKit's summary of a failed step repeats its output with the seconds only, to four significant digits)
    assert own_text("2.185       Error: pg_config executable not found.") == "Error: pg_config executable not found."
    assert own_text("14.00 error: command 'gcc' failed") == "error: command 'gcc' failed"
    assert own_text("149.9   ERROR: Failed building wheel for blis") == "ERROR: Failed building wheel for blis"
    assert own_text("3.5 GB of disk used") == "3.5 GB of disk used"


def test_pips_report_under_buildkits_bare_time_column_is_read_at_the_packages_error():
    log = ["1.750 Collecting psycopg2-binary==2.9.6 (from -r requirements.txt (line 8))",
           "2.182   Preparing metadata (setup.py): finished with status 'error'",
           "2.185   error: subprocess-exited-with-error", "2.185   ",
           "2.185   × python setup.py egg_info did not run successfully.", "2.185   │ exit code: 1",
           "2.185   ╰─> [23 lines of output]", "2.185       running egg_info",
           "2.185       writing /tmp/pip-pip-egg-info-bfqpig1e/psycopg2_binary.egg-info/PKG-INFO", "2.185       ",
           "2.185       Error: pg_config executable not found.", "2.185       ",
           "2.185       pg_config is required to build psycopg2 from source.  Please add the directory"]
    assert signature_and_line(log) == ("pip-install-failed", 11)


def test_a_posters_backtick_before_a_line_is_not_its_own_text():
    assert own_text("`error: [Errno 2] No such file or directory: 'gcc'") == \
        "error: [Errno 2] No such file or directory: 'gcc'"
    assert own_text("```") == ""


def test_npm_10s_lowercase_warn_is_a_warning():
    # (its deprecation notices say `This package is no longer supported.`, words that name a platform's refusal)
    assert lines.is_warning("#10 2.564 npm warn deprecated npmlog@5.0.1: This package is no longer supported.")
    assert lines.is_warning("npm WARN deprecated request@2.88.2") and not lines.is_warning("npm error code E404")


def test_npmlogs_warn_level_under_any_heading_is_a_warning():
    # (npmlog prints `<heading> <level> ...`: node-gyp's, node-pre-gyp's and prebuild-install's warnings say requests
    # timed out or failed while the tool goes on)
    assert lines.is_warning("[18:00:10.758] #10 179.0 prebuild-install warn install Request timed out")
    assert lines.is_warning("node-pre-gyp WARN Tried to download(403): https://example.org/x.tar.gz")
    assert lines.is_warning("gyp WARN install got an error, rolling back install")
    assert not lines.is_warning("gyp ERR! stack Error: not found: make") and lines.names_failure("gyp ERR! build error")


YARN_INSTALL_SCRIPT = ["error /app/node_modules/sharp: Command failed.", "Exit code: 1",
                       "Command: (node install/libvips && prebuild-install) || (node-gyp rebuild)", "Arguments: ",
                       "Directory: /app/node_modules/sharp", "Output:",
                       "sharp: Downloading https://example.org/v.tar.br",
                       "prebuild-install warn install Request timed out", "gyp info it worked if it ends with ok",
                       "gyp ERR! find Python", "gyp ERR! find Python Python is not set from command line",
                       "info Visit https://yarnpkg.com/en/docs/cli/install for documentation about this command."]


def test_yarns_report_on_an_install_script_is_read_at_the_scripts_own_first_error():
    assert signature_and_line(YARN_INSTALL_SCRIPT) == ("unknown", 10)
    # ... and at its first line when the script's output names no error
    quiet = YARN_INSTALL_SCRIPT[:7] + ["prebuild-install WARN install No prebuilt binaries found"]
    assert signature_and_line(quiet) == ("unknown", 1)
    # a package built at several places of a workspace names each
    several = ["error /w/node_modules/electron, /w/app/node_modules/electron: Command failed.",
               *YARN_INSTALL_SCRIPT[1:6], "Error: dest already exists.",
               "    at /w/app/node_modules/fs-extra/lib/move/move.js:41:31"]
    assert signature_and_line(several) == ("unknown", 7)


def test_cargos_report_on_a_build_script_is_read_at_the_scripts_own_first_words_on_stderr():
    log = ["   Compiling libp2p-core v0.35.0", "error: failed to run custom build command for `libp2p-core v0.35.0`",
           "", "Caused by:",
           "  process didn't exit successfully: `/w/target/build/x/build-script-build` (exit status: 101)",
           "  --- stdout", "  cargo:rerun-if-env-changed=PROTOC", "", "  --- stderr",
           "  thread 'main' panicked at /r/prost-build-0.12.3/src/lib.rs:1521:10:",
           "  Could not find `protoc` installation and this build crate cannot proceed without"]
    assert signature_and_line(log) == ("unknown", 10)
    # ... and at its first line when it shows no stderr
    assert signature_and_line(log[:7]) == ("unknown", 2)


@pytest.mark.parametrize("box", [
    ["┌──────────────────────────────────┐", "│ Plugin \"netlify-plugin-x\" failed │",
     "└──────────────────────────────────┘"],
    ["────────────────────────────────", "  Configuration error", "────────────────────────────────"],
])
def test_netlifys_error_boxes_of_either_drawing_are_read_at_their_message(box):
    log = ["12:27:30 PM: ❯ Loading plugins", *(f"12:27:30 PM: {line}" for line in box), "12:27:30 PM: ",
           "12:27:30 PM:   Error message",
           "12:27:30 PM:   The Node.js version is 19.1.0 but the plugin requires >=12.18.0 <17.0.0"]
    assert signature_and_line(log) == ("unknown", len(box) + 4)
    older = [line.replace("  Error message", "❯ Error message") for line in log]   # (the marker before a heading)
    assert signature_and_line(older) == ("unknown", len(box) + 4)


def test_a_reports_telling_line_that_is_nodes_place_above_a_quoted_source_line_is_read_at_its_exception():
    log = ["│ Plugin \"netlify-plugin-cypress\" internal error │", "", "  Error message",
           "  /opt/build/repo/node_modules/got/dist/source/create.js:101",
           "      got.paginate = async function* (url, options) {", "                                   ^", "",
           "  SyntaxError: Unexpected token *"]
    assert signature_and_line(log) == ("unknown", 8)
    # ... also behind Netlify's clock, whose blank lines have nothing after it once their trailing space is gone
    assert own_text("2:51:13 PM:") == "" and own_text("2:51:13 PM: ") == ""
    clocked = [f"2:51:13 PM: {line}".rstrip() for line in log]
    assert signature_and_line(clocked) == ("unknown", 8)


def test_ansibles_bracketed_warnings_are_warnings_and_other_tools_brackets_stay_prefixes():
    # (Ansible wraps a warning's words, which may say something failed, under `[WARNING]:`; Maven's `[WARNING] `
    # is a level prefix, whose line may be the cause: an enforcer rule that `failed with message:`)
    assert lines.is_warning("10:41:31  [WARNING]: Unhandled error in Python interpreter discovery for host")
    assert lines.is_warning("[DEPRECATION WARNING]: Distribution ubuntu 20.04 on host web failed to ...")
    assert not lines.names_failure("[WARNING]: Could not match supplied host pattern, failed to parse inventory")
    assert lines.names_failure("[WARNING] Rule 1: org.apache.maven.plugins.enforcer.RequireJavaVersion failed with")
    assert own_text("[builder] ERROR: failed to build") == "ERROR: failed to build"


_MAVEN_CLOSING = ["[ERROR] ", "[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.",
                  "[ERROR] Re-run Maven using the -X switch to enable full debug logging.", "[ERROR] ",
                  "[ERROR] For more information about the errors and possible solutions, please read the following "
                  "articles:", "[ERROR] [Help 1] http://cwiki.apache.org/confluence/display/MAVEN/MojoFailureException"]


def test_mavens_failed_goal_says_what_failed_and_its_closing_advice_does_not():
    log = ["[INFO] BUILD FAILURE", "[ERROR] Failed to execute goal org.liquibase:liquibase-maven-plugin:3.5.5:update "
           "(default-cli) on project app: The database URL has not been specified -> [Help 1]", *_MAVEN_CLOSING,
           "Waiting for release.... failed"]
    assert top_of(log).line == 2


@pytest.mark.parametrize("goal", ["Exit code: 2", "Execution default-cli of goal x:deploy failed: Non zero exit: 1",
                                  "Some Enforcer rules have failed. Look above for specific messages explaining why"])
def test_mavens_failed_goal_that_only_gives_an_exit_code_or_points_above_is_read_at_the_output_above(goal):
    log = ["[INFO] --- maven-gpg-plugin:1.6:sign (sign-artifacts) @ parent ---", "gpg: signing failed: Not a tty",
           "[INFO] BUILD FAILURE", f"[ERROR] Failed to execute goal org.apache.maven.plugins:x:1.6:sign on project "
           f"parent: {goal} -> [Help 1]", *_MAVEN_CLOSING]
    assert top_of(log).line == 2


def test_a_line_whose_only_words_are_its_prefixes_is_no_lead_line():
    # (Maven's `[ERROR] ` spacer under another tool's `[INFO] `, as a release plugin relays the inner build)
    log = ["[INFO] [INFO] --- maven-gpg-plugin:1.6:sign (sign-artifacts) @ parent ---",
           "[INFO] gpg: signing failed: Not a tty", "[INFO] [INFO] BUILD FAILURE", "[INFO] [ERROR] ",
           "[INFO] [ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch."]
    assert top_of(log).line == 2


def test_a_repeated_message_with_an_error_code_appended_is_read_where_it_was_first_stated():
    log = ["{", "  uploadState: 'FAILURE',", "  itemError: [", "    {", "      error_code: 'ITEM_NOT_UPDATABLE',",
           "      error_detail: 'The item cannot be updated now because it is in pending review.'", "    }", "  ]",
           "}", "Error: Error: The item cannot be updated now because it is in pending review. (ITEM_NOT_UPDATABLE)"]
    assert top_of(log).line == 6


def test_a_failure_the_tool_retries_gives_way_to_the_error_of_the_attempt_that_failed_for_good():
    # (round 172's skopeo mirror: the first copy crashed, the retry was refused for a reason of its own)
    log = ["./olm-sync.sh: line 180:  6025 Aborted                 (core dumped) skopeo copy docker://a docker://b",
           "[mirror-olm] INFO: Failed Image Copy, retrying after 5 seconds...", "[mirror-olm] Copying 4 of 4 images",
           '[mirror-olm] time="2022-07-19T11:24:37Z" level=fatal msg="Source image rejected: Invalid crypto engine"']
    assert top_of(log).line == 4
    # an attempt that fails as the first did is read where the message was first said
    same = ["environment: line 11: checkout::refbased: command not found",
            "[1/3] Execution Failed with exit status 127. Retrying.",
            "environment: line 11: checkout::refbased: command not found",
            "[2/3] Execution Failed with exit status 127. Retrying."]
    assert top_of(same).line == 1
    # a failure that announces its own retry states the cause each attempt repeats (round 172's Packer upload, a miss
    # at its measurement once the retry was read)
    announced = ["(vagrant-cloud): Uploading box, attempt 2",
                 "(vagrant-cloud): Error uploading box! Will retry in 10 seconds. Status: 503",
                 "(vagrant-cloud): Uploading box, attempt 3",
                 "(vagrant-cloud): Error uploading box! Will retry in 10 seconds. Status: 503",
                 "==> (vagrant-cloud): Cleaning up provider", "Build 'virtualbox-iso' errored: 1 error(s) occurred:"]
    assert top_of(announced).line == 2
    # advice to retry is no retry: the line that failed stays the lead
    advice = ["BigQuery job beam_bq_job_COPY failed. Error Result: <ErrorProto",
              " message: 'Error encountered during execution. Retrying may solve the problem.'",
              " reason: 'backendError'>", "Pipeline run failed: see the job's errors"]
    assert top_of(advice).line == 1


def test_a_source_line_under_an_indented_frame_is_read_at_the_exception_that_ends_the_traceback():
    # (a traceback pasted without its header, its frames indented, below a build whose lines are not: the log is
    # not dedented as a whole, so the frame is found past its indentation)
    log = ["Successfully built image app:v1", '  File "/opt/lib/python3.10/site-packages/prefect/dockerutils.py", '
           "line 174, in build_image", '    raise BuildError(event["error"])',
           "prefect.utilities.dockerutils.BuildError: manifest for prefecthq/prefect:2.10.13 not found"]
    assert top_of(log).line == 4


def test_pip_raising_in_its_own_code_is_a_pip_install_failure_read_at_its_exception():
    # (a requirements file saved as UTF-16, which pip cannot decode, under Heroku's Python buildpack)
    pip = "/app/.heroku/python/lib/python3.10/site-packages/pip/_internal"
    log = [f'remote:          File "{pip}/req/req_file.py", line 533, in get_file_content',
           "remote:            content = auto_decode(f.read())",
           f'remote:          File "{pip}/utils/encoding.py", line 26, in auto_decode',
           "remote:            return data[len(bom) :].decode(encoding)",
           "remote:        UnicodeDecodeError: 'utf-16-le' codec can't decode byte 0x2e in position 646: truncated",
           "remote:  !     Push rejected, failed to compile Python app."]
    top = top_of(log)
    assert (top.signature, top.line) == ("pip-install-failed", 5)


def test_a_service_rejecting_what_it_was_sent_and_a_step_that_did_not_succeed_name_a_failure():
    assert lines.names_failure("Credentials were rejected, please try again.")   # the Cloud Foundry CLI's login
    assert lines.names_failure("#55 0.094 The virtual environment was not created successfully because ensurepip is")
    assert not lines.names_failure("All 12 files were uploaded successfully")
    assert not lines.names_failure("The request was accepted")


def test_netlifys_twelve_hour_clock_is_not_a_lines_own_text():
    assert own_text("12:48:33 PM: Error: Command failed with exit code 1") == "Error: Command failed with exit code 1"
    assert own_text("9:05:12 AM: Build ready to start") == "Build ready to start"
    assert own_text("at 9:05:12 AM: it broke") == "at 9:05:12 AM: it broke"
    log = "12:48:30 PM: > build\n12:48:33 PM: Failed during stage 'building site'\n12:48:33 PM: done\n"
    assert lines.without_decoration(log) == "> build\nFailed during stage 'building site'\ndone\n"


def test_more_words_that_say_something_failed():
    assert lines.names_failure("Illegal instruction (core dumped)")
    assert lines.names_failure("Package 'bibutils-6.2' is not supported on 'x86_64-darwin', refusing to evaluate.")
    assert lines.names_failure("✖ Vercel build environment detected but no Convex deployment configuration found.")
    assert not lines.names_failure("✔ Deployed functions") and not lines.names_failure("a ✖ mark inside a line")


def test_config_syncs_error_codes_name_a_failure():
    assert lines.names_failure('[1] KNV1021: No CustomResourceDefinition is defined for the type "Prometheus" in the')
    assert not lines.names_failure("resource KNV1021 documentation") and not lines.names_failure("XKNV1021: x")


def test_a_stacks_frame_whose_path_names_an_error_is_no_lead_line():
    log = [" pre-commit: We've failed to pass the specified git pre-commit hooks as the `test`",
           " pre-commit: hook returned an exit code (1).",
           "     at makeError (/builds/app/node_modules/@semantic-release/git/node_modules/execa/lib/error.js:58:11)",
           "     at handlePromise (/builds/app/node_modules/@semantic-release/git/node_modules/execa/index.js:114:26)"]
    assert top_of(log).line == 1


def test_symfony_consoles_exception_heading_is_read_at_the_message_below_it():
    # (Composer, Laravel's artisan, Drupal's drush: the heading names no error, its boxed message says what failed)
    assert lines.names_failure("In PackageManifest.php line 177:")
    assert not lines.names_failure("In PackageManifest.php line 177: the manifest is written here")
    log = ["> @php artisan package:discover --ansi", "", "In PackageManifest.php line 177:", "",
           "  The /app/bootstrap/cache directory must be present and writable.  ", ""]
    assert top_of(log).line == 5


def test_a_github_actions_steps_echoed_definition_is_no_output():
    # (its script may grep for Error, its env may name ERROR_LEVEL; the step's own output below says what failed)
    step = ["Run sls deploy | grep -E 'Error' || echo 'deploy failed'",
            "  sls deploy | grep -E 'Error' || echo 'deploy failed'", "  shell: /usr/bin/bash -e {0}", "  env:",
            "    ERROR_LEVEL: warn", "    TENCENT_REGION: ap-guangzhou",
            "Error: The serverless.yml file has incorrect format. Details: bad indentation of a mapping entry"]
    assert top_of(step).line == 7
    # ... pasted without its `Run` line and dedented as a whole
    pasted = [line[2:] if line.startswith("  ") else line for line in step[1:]]
    assert top_of(pasted).line == 6
    # a `shell:` line with no `Run` line or the log's start within reach is no header
    output = ["Error: one"] + [f"  line {n}" for n in range(25)] + ["  shell: /usr/bin/bash -e {0}"]
    assert top_of(output).line == 1



def test_a_verdict_that_is_all_a_log_names_is_read_at_the_commands_last_words():
    # (docker's verdict on a RUN step whose tool said why in words that name no failure, tlmgr refusing a newer TeX
    # Live: with no line naming an error or failure, the log's last words are the verdict, and the command's own last
    # words above it say more)
    tlmgr = ["Step 4/9 : RUN tlmgr update --self", " ---> Running in 0a1b2c3d4e5f",
             "tlmgr: Local TeX Live (2023) is older than remote repository (2024).",
             "Cross release updates are only supported with", "  update-tlmgr-latest(.sh/.exe) --update",
             "See https://tug.org/texlive/upgrade.html for details.",
             "The command '/bin/sh -c tlmgr update --self' returned a non-zero code: 1"]
    assert signature_and_line(tlmgr) == ("unknown", 6)
    assert signature_and_line(tlmgr[-1:]) == ("unknown", 1)   # (nothing above it: the verdict itself)
