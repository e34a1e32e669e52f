"""Bad values as an operator (or a typo) gives them to the kit's runbooks, plans, parameter files and
Google Cloud settings: each is refused in one sentence naming it and what is allowed, before anything
runs, and nothing that changes the cloud slips past the plan's `allow_changes` guard."""
from __future__ import annotations

import json
import shlex
import typing
from pathlib import Path

import nbformat
import pytest

from runbook_lib import cli, params, runner
from runbook_lib.errors import ConfigError, ParameterError
from runbook_lib.runner.outcome import said

MODELS = (params.OverviewParams, params.DiagnoseParams, params.RedeployParams, params.ReplayParams,
          params.CompareParams, params.AuditParams)
NOTEBOOKS = runner.NOTEBOOKS_DIR
REDEPLOY = NOTEBOOKS / "02_redeploy_phase.ipynb"
DIAGNOSE = NOTEBOOKS / "01_diagnose_build.ipynb"


def _scalar_types(annotation) -> set:
    return set(typing.get_args(annotation)) or {annotation}


def _fields(*kinds: type) -> list:
    """(model, field name) for every field of the kit's runbooks whose type is one of `kinds` (a flag,
    typed bool, is not a number)."""
    return [pytest.param(model, name, id=f"{model.__name__}.{name}")
            for model in MODELS for name, field in model.model_fields.items()
            if _scalar_types(field.annotation) & set(kinds)
            and (bool in kinds or bool not in _scalar_types(field.annotation))]


def _refused(model, sandbox_home, **values) -> ParameterError:
    with pytest.raises(ParameterError) as caught:
        params.validate_params(model, {"sandbox_home": str(sandbox_home), **values})
    return caught.value


# ---------------------------------------------------------------------------------------------
# Types: True is not 1, 0 is not False, infinity is not a number of GiB

@pytest.mark.parametrize("model, name", _fields(int, float))
def test_a_boolean_is_not_a_number_for_any_runbook(sandbox_home, model, name):
    error = _refused(model, sandbox_home, **{name: True})
    assert error.parameter == name and str(error).startswith(f"{name}=")


@pytest.mark.parametrize("model, name", _fields(int, float))
def test_a_number_given_as_text_is_refused_for_any_runbook(sandbox_home, model, name):
    """A quoted YAML value (`lookback_hours: "1"`) or a typo in a notebook: text, which pydantic would quietly
    read as the number (1 is in range for every number of the kit's runbooks)."""
    error = _refused(model, sandbox_home, **{name: "1"})
    assert error.parameter == name and str(error).startswith(f"{name}='1' is not valid: ")
    assert "\n" not in str(error) and str(error).endswith("written as a number, not as text.")


@pytest.mark.parametrize("model, name", _fields(int, float))
def test_a_number_given_with_p_reaches_every_runbook_as_a_number(sandbox_home, model, name):
    """`runbook run NOTEBOOK -p lookback_hours 24`: the command line types the text by the declared type, so the
    model sees the number (and a plan's values are checked by the same model before the night)."""
    notebook = next(nb for nb in NOTEBOOKS.glob("*.ipynb")
                    if runner.validation_model(nbformat.read(nb, as_version=4)) is model)
    values = runner.resolve_parameters(notebook, [["sandbox_home", str(sandbox_home)], [name, "1"]])
    assert values[name] == 1 and not isinstance(values[name], (str, bool))
    assert getattr(params.validate_params(model, values), name) == 1


@pytest.mark.parametrize("model, name", _fields(bool))
@pytest.mark.parametrize("value", [0, 1, "false", "n", "yes", 0.0])
def test_only_true_or_false_is_a_flag_for_any_runbook(sandbox_home, model, name, value):
    error = _refused(model, sandbox_home, **{name: value})
    assert error.parameter == name and "true or false" in error.allowed


def test_a_flag_computed_with_numpy_is_a_flag(sandbox_home):
    import numpy as np

    p = params.validate_params(params.ReplayParams, {"sandbox_home": str(sandbox_home), "dry_run": np.bool_(True)})
    assert p.dry_run is True
    assert _refused(params.ReplayParams, sandbox_home, concurrency=np.bool_(True)).parameter == "concurrency"


@pytest.mark.parametrize("model, name", _fields(float))
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_every_number_of_a_runbook_is_finite(sandbox_home, model, name, value):
    assert _refused(model, sandbox_home, **{name: value}).parameter == name


def _gcp_plan(tmp_path: Path, sandbox_home, dry_run_as_written: str) -> Path:
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"title: fix\ntarget: gcp\nsteps:\n  - id: redeploy\n    notebook: {REDEPLOY}\n"
                    f"    parameters: {{source_dir: {Path(sandbox_home) / 'source'}, dry_run: {dry_run_as_written}}}\n")
    return plan


@pytest.mark.parametrize("dry_run", ["0", "'false'", "n", "'no'"])
def test_a_real_change_cannot_pass_the_allow_changes_guard_as_a_lookalike_of_false(sandbox_home, tmp_path, capsys,
                                                                                   dry_run):
    """0, 'false' or n would be read as false by the notebook: the night must not start without allow_changes."""
    plan = _gcp_plan(tmp_path, sandbox_home, dry_run)
    with pytest.raises(ConfigError, match=r"dry_run="):
        runner.load_plan(plan)
    out = tmp_path / "reports"
    assert cli.main(["overnight", str(plan), "-o", str(out)]) == 2 and not out.exists()


def test_a_step_of_another_notebook_changes_things_unless_its_dry_run_is_true():
    declared = {"dry_run": params.DeclaredParameter("dry_run", "bool", True, None)}
    assert not runner.plan.changes_things(declared, {})
    assert not runner.plan.changes_things(declared, {"dry_run": True})
    for value in (False, 0, "false", "no", None):
        assert runner.plan.changes_things(declared, {"dry_run": value}), value


def test_a_repository_is_refused_when_the_image_is_deployed_as_given(sandbox_home):
    """strategy=image pushes nothing, so a repository given with it would be silently ignored."""
    error = _refused(params.RedeployParams, sandbox_home, strategy="image", repository="my-repo",
                     image="us-west2-docker.pkg.dev/p/r/s:v1")
    assert error.parameter == "repository" and "strategy" in error.allowed


def _text_fields() -> list:
    """(model, name) for every field of the kit's runbooks that takes text."""
    return [pytest.param(model, name, id=f"{model.__name__}.{name}")
            for model in MODELS for name, field in model.model_fields.items()
            if str in _scalar_types(field.annotation) or str in {a for t in _scalar_types(field.annotation)
                                                                   for a in typing.get_args(t)}]


@pytest.mark.parametrize("model, name", _text_fields())
def test_every_text_parameter_says_what_it_takes_not_just_text(sandbox_home, model, name):
    try:
        params.validate_params(model, {"sandbox_home": str(sandbox_home), name: 12.5} if name != "sandbox_home"
                               else {name: 12.5})
    except ParameterError as error:
        assert error.parameter == name and not str(error).endswith(": text."), str(error)
        assert "\n" not in str(error)
    else:
        pytest.fail(f"{model.__name__}.{name}=12.5 was accepted")


@pytest.mark.parametrize("model, written, sentence", [
    (params.RedeployParams, "commit: 0123456",
     "commit=42798 is not valid: a commit sha, branch or tag as text, or empty for the checkout's HEAD; it came as "
     "the number 42798, not as text (papermill's -p reads digits as a number, and YAML 1.1 reads 0123456, with its "
     "leading zero, as this number, in octal): quote it in a YAML file, or give it with papermill's -r commit VALUE "
     "(runbook run -p keeps it as text)."),
    (params.DiagnoseParams, "phase: ~", "phase=None is not valid: a phase of params/phases.yaml such as phase4, or "
                                        "its number (4)."),
    (params.CompareParams, "dataset_prefix: no",
     "dataset_prefix=False is not valid: a test prefix: lower-case letters and digits, starting with a letter, at "
     "most 16 characters, such as 'test'; it came as the flag false, not as text (YAML reads yes, no, on and off as "
     "flags, papermill's -p True and False): quote it in a YAML file, or give it with papermill's -r dataset_prefix "
     "VALUE (runbook run -p keeps it as text)."),
    (params.DiagnoseParams, "compare_with: 3.5", "compare_with=3.5 is not valid: a phase of params/phases.yaml to "
                                                 "compare with, such as phase3, or empty; it came as the number 3.5, "
                                                 "not as text (papermill's -p and YAML read an unquoted number as "
                                                 "one): quote it in a YAML file, or give it with papermill's -r "
                                                 "compare_with VALUE (runbook run -p keeps it as text)."),
])
def test_papermill_yaml_that_turned_text_into_a_number_or_a_flag_says_so(sandbox_home, model, written, sentence):
    import yaml
    from papermill.iorw import NoDatesSafeLoader   # what `papermill -f` reads a file with (YAML 1.1)

    values = yaml.load(written, Loader=NoDatesSafeLoader)
    with pytest.raises(ParameterError) as caught:
        params.validate_params(model, {"sandbox_home": str(sandbox_home), **values})
    assert str(caught.value).startswith(sentence), str(caught.value)


@pytest.mark.parametrize("model, written, name, phase", [
    (params.RedeployParams, "phase: 4", "phase", "phase4"), (params.DiagnoseParams, "compare_with: 3",
                                                             "compare_with", "phase3"),
])
def test_a_phase_yaml_read_as_a_number_is_that_phase(sandbox_home, model, written, name, phase):
    # README: `phase: 4` is "4", and "4" names phase4
    import yaml
    from papermill.iorw import NoDatesSafeLoader

    values = yaml.load(written, Loader=NoDatesSafeLoader)
    assert getattr(params.validate_params(model, {"sandbox_home": str(sandbox_home), **values}), name) == phase


IMAGE_BASE = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/"


@pytest.mark.parametrize("image", [
    IMAGE_BASE + "nba-phase4-precompute-processors:tâg",          # \\w in a str pattern is any Unicode letter
    IMAGE_BASE + "nba-phase4-precompute-processors:ｖ１",          # full-width letters and digits
    "us-west2-docker.pkg.dev:٨٠/p/r/nba-phase4-precompute-processors:v1",   # a port of Arabic-Indic digits
    IMAGE_BASE + "nba...phase4:v1",                                # separators: ., one or two _, or hyphens
    IMAGE_BASE + "nba___phase4:v1", IMAGE_BASE + "-nba-phase4:v1", IMAGE_BASE + "nba-phase4.:v1",
    IMAGE_BASE + "Nba-Phase4:v1",                                  # a path is lowercase
    IMAGE_BASE + "nba-phase4:.v1", IMAGE_BASE + "nba-phase4:" + "v" * 129,   # a tag: [\\w][\\w.-]{0,127}
])
def test_an_image_reference_docker_would_refuse_is_refused(sandbox_home, image):
    error = _refused(params.RedeployParams, sandbox_home, strategy="image", image=image, commit="0123abc")
    assert error.parameter == "image" and "give a container image reference" in str(error)


@pytest.mark.parametrize("image", [
    IMAGE_BASE + "nba-phase4-precompute-processors:v1", IMAGE_BASE + "nba__phase4.x---y:V1.2_rc-3",
    "localhost:5000/team/app:latest", "gcr.io/p/app@sha256:" + "a" * 64, IMAGE_BASE + "a:" + "v" * 128,
])
def test_an_image_reference_docker_takes_is_taken(image):
    from runbook_lib.images import IMAGE_REFERENCE   # what params/redeploy.py's image check matches

    assert IMAGE_REFERENCE.fullmatch(image)


@pytest.mark.parametrize("key, written", [
    ("cell_timeout_seconds", "true"),           # would be a one-second limit
    ("allow_changes", "'yes'"),
    ("allow_changes", "1"),
])
def test_a_plan_key_takes_its_own_type_only(tmp_path, key, written):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"{key}: {written}\nsteps:\n  - id: a\n    notebook: {DIAGNOSE}\n")
    with pytest.raises(ConfigError, match=rf"^{plan}: {key}: "):
        runner.load_plan(plan)


# ---------------------------------------------------------------------------------------------
# The sentence: short enough to keep what is allowed, commands that can be pasted

def test_a_long_value_is_cut_so_the_sentence_still_says_what_is_allowed():
    allowed = "choose one of phase3, phase4"
    error = ParameterError("phase", "x" * 5000, allowed)
    assert len(str(error)) < 200 and str(error).endswith(f"is not valid: {allowed}.")
    assert said(error).endswith(f"{allowed}.")          # as the CLI and the morning review show it
    assert error.value == "x" * 5000                    # the value itself is kept whole


def test_a_long_value_with_a_password_in_it_is_masked_before_it_is_cut():
    url = "https://operator:hunter2hunter2@example.com/" + "x" * 100
    assert "hunter2" not in str(ParameterError("source_dir", url, "an existing folder"))


def test_the_printed_sandbox_command_can_be_pasted_into_a_shell(tmp_path):
    home = tmp_path / "my sandbox; rm -rf ~"
    error = _refused(params.OverviewParams, home)
    command = str(error).split("`")[1]
    assert shlex.split(command) == ["runbook", "sandbox", "init", "--home", str(home)]


def test_the_printed_report_command_can_be_pasted_into_a_shell(tmp_path, capsys):
    from runbook_lib import nights

    reports = tmp_path / "night reports"
    nights._warn("could not write the index", OSError("disk full"), reports)
    command = capsys.readouterr().err.split("`")[1]
    assert shlex.split(command) == ["runbook", "report", str(reports)]


@pytest.mark.parametrize("value", ["   ", "\t"])
def test_a_blank_sandbox_home_is_refused(value):
    error = _refused(params.OverviewParams, value)
    assert error.parameter == "sandbox_home" and "None" in error.allowed


# ---------------------------------------------------------------------------------------------
# Dates and times

@pytest.mark.parametrize("value", ["20251215", "2025-W51-1", "2099-01-01", "2025-12-15T00:00"])
def test_compare_reads_dates_as_the_replay_does(sandbox_home, value):
    for model in (params.CompareParams, params.ReplayParams):
        error = _refused(model, sandbox_home, start_date=value)
        assert error.parameter == "start_date", model


@pytest.mark.parametrize("until, allowed", [
    ("2999-01-01T00:00:00Z", "in the future"),
    ("0001-01-01T00:00:00Z", "1970"),
])
def test_the_audit_window_ends_between_1970_and_now(sandbox_home, until, allowed):
    error = _refused(params.AuditParams, sandbox_home, until=until)
    assert error.parameter == "until" and allowed in error.allowed


# ---------------------------------------------------------------------------------------------
# YAML: a key written twice is a mistake, not "the last one wins"

def test_a_parameter_written_twice_in_a_file_is_refused(tmp_path):
    file = tmp_path / "p.yaml"
    file.write_text("phase: phase3\nbuild_id: ''\nphase: phase9\n")
    with pytest.raises(ParameterError) as caught:
        runner.resolve_parameters(DIAGNOSE, files=[file])
    assert caught.value.parameter == "-f" and "'phase'" in str(caught.value) and "lines 1 and 3" in str(caught.value)


@pytest.mark.parametrize("text", [
    "title: a\ntitle: b\nsteps:\n  - id: a\n    notebook: {nb}\n",
    "steps:\n  - id: a\n    id: b\n    notebook: {nb}\n",
    "steps:\n  - id: a\n    notebook: {nb}\n    parameters:\n      phase: phase3\n      phase: phase4\n",
])
def test_a_key_written_twice_in_a_plan_is_refused(tmp_path, text):
    plan = tmp_path / "plan.yaml"
    plan.write_text(text.format(nb=DIAGNOSE))
    with pytest.raises(ConfigError, match=r"appears twice"):
        runner.load_plan(plan)


# ---------------------------------------------------------------------------------------------
# The RUNBOOK_GCP_* settings: refused before the kernel starts, naming the variable

@pytest.fixture
def anonymous_fakes(monkeypatch):
    endpoints = {name: "http://127.0.0.1:9" for name in ("cloudbuild", "logging", "storage", "run", "pubsub",
                                                         "bigquery")}
    monkeypatch.setenv("RUNBOOK_GCP_ENDPOINTS", json.dumps(endpoints))
    monkeypatch.setenv("RUNBOOK_GCP_ANONYMOUS", "1")
    return endpoints


@pytest.mark.parametrize("variable, value", [
    ("RUNBOOK_GCP_REQUEST_TIMEOUT_S", "abc"),
    ("RUNBOOK_GCP_CALL_DEADLINE_S", "0"),
    ("RUNBOOK_GCP_ENDPOINTS", '{"cloudbuld": "http://127.0.0.1:9"}'),
    ("RUNBOOK_GCP_ENDPOINTS", '{"run": "127.0.0.1:9"}'),
])
def test_a_bad_gcp_setting_is_refused_before_the_run_naming_the_variable(anonymous_fakes, monkeypatch, tmp_path,
                                                                         capsys, variable, value):
    monkeypatch.setenv(variable, value)
    out = tmp_path / "reports"
    assert cli.main(["run", str(DIAGNOSE), "-p", "target", "gcp", "-p", "project", "my-project", "-o", str(out)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {variable}"), errors
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# The library's entry points

@pytest.mark.parametrize("target", ["local", "gcp"])
@pytest.mark.parametrize("option, value", [("project", "Bad Project"), ("region", "west")])
def test_connect_checks_project_and_region_on_both_targets(sandbox_home, target, option, value):
    from runbook_lib import connect

    home = {"home": str(sandbox_home)} if target == "local" else {"project": "my-project"}
    with pytest.raises(ParameterError) as caught:
        connect(target, **{**home, option: value})
    assert caught.value.parameter == option


@pytest.mark.parametrize("option, value", [("maximum_bytes_billed", 0), ("anonymous", "no")])
def test_a_gcp_option_is_never_quietly_replaced(option, value):
    """0 bytes was read as "the 100 GiB default" and "no" as anonymous (a non-empty text is true)."""
    from runbook_lib import connect

    with pytest.raises(ParameterError) as caught:
        connect("gcp", project="my-project", **{option: value})
    assert caught.value.parameter == option


# ---------------------------------------------------------------------------------------------
# The command line: an empty option (an unset shell variable) is not "the default"

@pytest.mark.parametrize("args, option", [
    (["sandbox", "reset", "--home", ""], "--home"),          # would rebuild the default sandbox
    (["sandbox", "init", "--home", "  ", "--no-services"], "--home"),
    (["overnight", "PLAN", "--publish", ""], "--publish"),   # would run the night and publish nothing
    (["run", str(DIAGNOSE), "-o", ""], "outdir"),
    (["report", ""], "REPORTS_DIR"),                         # would write pages into the current folder
])
def test_an_empty_option_is_refused_not_taken_for_the_default(tmp_path, monkeypatch, capsys, args, option):
    default_home = tmp_path / "default-home"
    monkeypatch.setenv("RUNBOOK_HOME", str(default_home))
    monkeypatch.chdir(tmp_path)
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"steps:\n  - id: a\n    notebook: {DIAGNOSE}\n")
    assert cli.main([str(plan) if a == "PLAN" else a for a in args]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith((f"error: {option}=''", f"error: {option}='  '")), errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml"]   # no sandbox, no reports, no pages


@pytest.mark.parametrize("outdir", ["", "FILE"])
def test_a_bad_demo_report_folder_is_refused_before_the_sandbox_is_reset(tmp_path, monkeypatch, capsys, outdir):
    home = tmp_path / "home"
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    assert cli.main(["demo", "--scale", "0.15", "-o", str(file) if outdir == "FILE" else outdir]) == 2
    assert "error: outdir=" in capsys.readouterr().err
    assert not home.exists()


@pytest.mark.parametrize("model, values, said", [
    # BigQuery counts bytes in an INT64: a cap past it overflowed step 4 (after step 3 made the test datasets)
    (params.ReplayParams, {"checksum_max_gb": 1e300}, "checksum_max_gb=1e+300 is not valid: a number of GiB (2^30 "
                                                      "bytes, as BigQuery bills) above 0 and at most 8000000000."),
    # an offset that takes the time out of years 1-9999 in UTC overflowed inside the validator
    (params.AuditParams, {"until": "9999-12-31T23:59:59-23:59"}, "until='9999-12-31T23:59:59-23:59' is not valid: "),
    (params.AuditParams, {"until": "0001-01-01T00:00:00+14:00"}, "until='0001-01-01T00:00:00+14:00' is not valid: "),
], ids=["checksum_max_gb-past-int64", "until-past-9999", "until-before-1"])
def test_a_value_past_what_the_kit_can_count_is_a_parameter_error(sandbox_home, model, values, said):
    error = _refused(model, sandbox_home, **values)
    assert str(error).startswith(said) and "\n" not in str(error)


def test_a_parameter_given_twice_on_the_command_line_is_refused_unless_it_says_the_same():
    """The last would silently win: `-p dry_run true ... -p dry_run false` appended to a pasted command deploys."""
    with pytest.raises(ParameterError) as twice:
        runner.resolve_parameters(REDEPLOY, [["dry_run", "true"], ["phase", "phase4"], ["dry_run", "false"]])
    assert str(twice.value) == ("dry_run='false' is not valid: it is given twice with -p, as 'true' and then as "
                                "this; give it once.")
    with pytest.raises(ParameterError, match=r"^target='local' is not valid: --target says local and -p target "
                                             r"says gcp; give the target once\.$"):
        runner.resolve_parameters(REDEPLOY, [["target", "gcp"]], target="local")
    assert runner.resolve_parameters(REDEPLOY, [["phase", "phase4"], ["phase", "phase4"]], target="local") == \
        {"phase": "phase4", "target": "local"}


@pytest.mark.parametrize("model, values, parameter", [
    *[(model, {"project": "nba-props-platform"}, "project") for model in MODELS],
    (params.OverviewParams, {"source_dir": "."}, "source_dir"),
    (params.ReplayParams, {"source_dir": "."}, "source_dir"),
], ids=[*(f"{m.__name__}-project" for m in MODELS), "OverviewParams-source_dir", "ReplayParams-source_dir"])
def test_a_gcp_parameter_on_the_sandbox_is_refused_not_dropped(sandbox_home, model, values, parameter):
    """`-p project nba-props-platform` without `-p target gcp` planned, and with dry_run=False made, the redeploy in
    the sandbox, its summary naming the production services."""
    error = _refused(model, sandbox_home, **values)
    assert error.parameter == parameter and str(error).endswith(
        "it is read on target gcp only, and the target is local (the sandbox): add -p target gcp, or leave it out.")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_sandbox_folder_on_gcp_is_refused(tmp_path, model):
    with pytest.raises(ParameterError, match=r"^sandbox_home='.*' is not valid: it is read on target local only, "
                                             r"and the target is gcp: leave it out, or give -p target local\.$"):
        params.validate_params(model, {"target": "gcp", "project": "nba-props-platform", "sandbox_home": str(tmp_path)})



@pytest.mark.parametrize("model, name, written, taken", [
    (params.ReplayParams, "phases", "phase4,phase3", ["phase3", "phase4"]),
    (params.ReplayParams, "phases", "phase3, 4", ["phase3", "phase4"]),
    (params.AuditParams, "services", "phase3,nba-phase4-precompute-processors", ["phase3", "phase4"]),
    (params.ReplayParams, "processors", "player_game_summary,player_daily_cache",
     ["player_game_summary", "player_daily_cache"]),
])
def test_a_list_written_with_commas_on_the_command_line_is_that_list(model, name, written, taken):
    """(A phase, service or table name holds no comma.) `-p phases phase3,phase4` was refused as 'choose one of'."""
    value = runner.parameters.coerce_cli_value(written, "list[str]")
    assert params.validate_params(model, {"target": "gcp", name: value}).model_dump()[name] == taken


def test_a_list_items_refusal_says_the_parameter_takes_a_list():
    with pytest.raises(ParameterError) as caught:
        params.validate_params(params.ReplayParams, {"target": "gcp", "phases": "phase3,phase5"})
    assert str(caught.value) == ("phases='phase5' is not valid: choose one of phase3, phase4 (it takes a list: [a, b], "
                                 "or a,b on the command line).")
    with pytest.raises(ParameterError, match=r"^phases='phase3,' is not valid: "):   # an empty item is no list
        params.validate_params(params.ReplayParams, {"target": "gcp", "phases": "phase3,"})


@pytest.mark.parametrize("model, name, value", [
    (params.OverviewParams, "project", "my-project-"), (params.RedeployParams, "repository", "repo-")])
def test_a_name_refused_for_its_last_hyphen_is_told_so(model, name, value):
    """The rule said 'lowercase letters, digits and hyphens, starting with a letter', which these values meet."""
    with pytest.raises(ParameterError) as caught:
        params.validate_params(model, {"target": "gcp", name: value})
    assert caught.value.parameter == name and "not ending with a hyphen" in caught.value.allowed


# ---------------------------------------------------------------------------------------------
# papermill's own command line (papermill probe findings 7, 8 and 9): `-p` types a value with int(), float() and
# True/False/None and leaves anything else text; `-y`/`-f` read YAML 1.1; `-r` keeps the text as written.

def _papermill_p(raw: str):
    """A value as `papermill -p NAME VALUE` hands it to the notebook."""
    from papermill.cli import _resolve_type

    return _resolve_type(raw)


def _union(annotation) -> set:
    return set(typing.get_args(annotation)) if typing.get_origin(annotation) in (typing.Union, type(int | None)) \
        else {annotation}


def _takes_a_list(field) -> bool:
    return any(kind is list or typing.get_origin(kind) is list for kind in _union(field.annotation))


LIST_FIELDS = {(model, name) for model in MODELS for name, field in model.model_fields.items() if _takes_a_list(field)}


@pytest.mark.parametrize("raw, octal", [("1234567", "04553207"), ("0123456", "0361100"), ("12e4567", None),
                                        ("5", None), ("-42", "-052")])
def test_a_text_parameter_papermill_typed_as_a_number_is_told_how_to_keep_it_text(sandbox_home, raw, octal):
    """`papermill ... -p commit 1234567` (an all-digit short sha) arrives as an int: no YAML read it and it had no
    leading zero, so the sentence says what it came as and the two ways to keep it text, and names YAML 1.1's
    octal reading only as what YAML would do, for a number a leading-zero value can be read as."""
    value = _papermill_p(raw)
    assert isinstance(value, (int, float)) and not isinstance(value, bool)
    said = str(_refused(params.RedeployParams, sandbox_home, commit=value))
    assert said.startswith(f"commit={value!r} is not valid: a commit sha, branch or tag as text, or empty for the "
                           f"checkout's HEAD; it came as the number {value}, not as text ("), said
    assert said.endswith("): quote it in a YAML file, or give it with papermill's -r commit VALUE (runbook run -p "
                         "keeps it as text)."), said
    assert "YAML read the value" not in said and "\n" not in said
    if octal:
        assert f"papermill's -p reads digits as a number, and YAML 1.1 reads {octal}, with its leading zero, as this " \
               "number, in octal)" in said
    else:
        assert "octal" not in said and "leading zero" not in said


def test_runbook_run_keeps_a_text_parameter_given_in_digits_as_text():
    """What the sentence of a number for a text parameter says of `runbook run -p` is so."""
    values = runner.resolve_parameters(REDEPLOY, [["commit", "1234567"], ["target", "gcp"]])
    assert values["commit"] == "1234567"


@pytest.mark.parametrize("model, name", _fields(bool))
@pytest.mark.parametrize("raw, flag", [("false", "False"), ("False", "False"), ("no", "False"), ("off", "False"),
                                       ("true", "True"), ("YES", "True")])
def test_a_flag_given_as_text_is_told_how_to_give_the_flag(sandbox_home, model, name, raw, flag):
    """`papermill ... -p dry_run false` (README's `runbook run` spelling) and `-r dry_run False` arrive as text:
    the sentence said only "true or false", naming the refused value as allowed."""
    if raw == "false":
        assert _papermill_p(raw) == "false"   # papermill types only True and False
    error = _refused(model, sandbox_home, **{name: raw})
    assert str(error) == (f"{name}={raw!r} is not valid: true or false as a flag, not the text {raw!r}: give "
                          f"papermill -p {name} {flag} (capital {flag[0]}) or -y '{name}: {flag.lower()}', or runbook "
                          f"run -p {name} {flag.lower()}.")
    assert error.parameter == name and "true or false" in error.allowed


@pytest.mark.parametrize("model, name", _fields(bool))
def test_each_way_the_flag_sentence_gives_is_a_flag(model, name):
    import yaml
    from papermill.iorw import NoDatesSafeLoader

    notebook = next(nb for nb in NOTEBOOKS.glob("*.ipynb")
                    if runner.validation_model(nbformat.read(nb, as_version=4)) is model)
    assert _papermill_p("False") is False and _papermill_p("True") is True
    assert yaml.load(f"{name}: false", Loader=NoDatesSafeLoader) == {name: False}
    assert runner.resolve_parameters(notebook, [[name, "false"], ["target", "gcp"]])[name] is False
    assert runner.resolve_parameters(notebook, [[name, "true"], ["target", "gcp"]])[name] is True


LIST_WRITTEN_ON_A_COMMAND_LINE = [
    (params.CompareParams, "tables", "player_game_summary", ["player_game_summary"]),
    (params.CompareParams, "tables", "player_game_summary,team_offense_game_summary",
     ["player_game_summary", "team_offense_game_summary"]),
    (params.CompareParams, "tables", "nba_analytics.player_game_summary", ["nba_analytics.player_game_summary"]),
    (params.CompareParams, "exclude", "processed_at", ["processed_at"]),
    (params.CompareParams, "exclude", "processed_at, run_id", ["processed_at", "run_id"]),
    (params.AuditParams, "expected_invokers", "a@p.iam.gserviceaccount.com", ["a@p.iam.gserviceaccount.com"]),
    (params.AuditParams, "expected_invokers", "a@p.iam.gserviceaccount.com,b@p.iam.gserviceaccount.com",
     ["a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"]),
    (params.ReplayParams, "allowed_prod_writes", "nba_reference.processor_run_history",
     ["nba_reference.processor_run_history"]),
    (params.ReplayParams, "allowed_prod_writes", "nba_reference.processor_run_history,nba_raw.gamebook",
     ["nba_reference.processor_run_history", "nba_raw.gamebook"]),
    (params.ReplayParams, "phases", "phase4", ["phase4"]),
    (params.ReplayParams, "processors", "player_game_summary,player_daily_cache",   # (one of each phase's)
     ["player_game_summary", "player_daily_cache"]),
    (params.AuditParams, "services", "phase3", ["phase3"]),
]


def test_every_list_parameter_is_covered_by_the_command_line_cases():
    assert {(model, name) for model, name, _, _ in LIST_WRITTEN_ON_A_COMMAND_LINE} == LIST_FIELDS


@pytest.mark.parametrize("how", ["papermill -p", "runbook run -p"])
@pytest.mark.parametrize("model, name, written, taken", LIST_WRITTEN_ON_A_COMMAND_LINE,
                         ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_every_list_parameter_takes_one_name_or_a_comma_list_on_a_command_line(how, model, name, written, taken):
    """As runbook 03's phases do: 04's tables and exclude, 03's allowed_prod_writes and 05's expected_invokers
    refused both, with a sentence that did not say how a list is written."""
    if how == "papermill -p":
        value = _papermill_p(written)
    else:
        notebook = next(nb for nb in NOTEBOOKS.glob("*.ipynb")
                        if runner.validation_model(nbformat.read(nb, as_version=4)) is model)
        value = runner.resolve_parameters(notebook, [[name, written], ["target", "gcp"]])[name]
    assert value == written   # text, either way
    assert params.validate_params(model, {"target": "gcp", name: value}).model_dump()[name] == taken


LIST_WRITTEN = "(it takes a list: [a, b], or a,b on the command line)."


@pytest.mark.parametrize("model, name", sorted(LIST_FIELDS, key=lambda f: (f[0].__name__, f[1])),
                         ids=lambda v: v.__name__ if isinstance(v, type) else v)
@pytest.mark.parametrize("value", [5, True, "", "  "])
def test_every_list_parameter_given_no_list_says_how_a_list_is_written(model, name, value):
    """`papermill -p tables 5` (an int), a flag, or blank text: one sentence naming the parameter, what it takes,
    and how a list is written."""
    with pytest.raises(ParameterError) as caught:
        params.validate_params(model, {"target": "gcp", name: value})
    said = str(caught.value)
    assert caught.value.parameter == name and said.startswith(f"{name}={value!r} is not valid: "), said
    assert said.endswith(LIST_WRITTEN) and "\n" not in said, said


@pytest.mark.parametrize("model, name, written, item, allowed", [
    (params.CompareParams, "tables", "player_game_summary,nope", "nope", "choose output tables from phases.yaml: "),
    (params.ReplayParams, "allowed_prod_writes", "nba_reference.processor_run_history,test_nba_analytics.x",
     "test_nba_analytics.x", 'give production tables as "dataset.table" in '),
    (params.AuditParams, "expected_invokers", "a@p.iam.gserviceaccount.com,bob", "bob",
     "give service-account emails such as "),
])
def test_a_list_items_refusal_keeps_its_rule_and_says_how_a_list_is_written(model, name, written, item, allowed):
    with pytest.raises(ParameterError) as caught:
        params.validate_params(model, {"target": "gcp", name: _papermill_p(written)})
    said = str(caught.value)
    assert said.startswith(f"{name}={item!r} is not valid: {allowed}") and said.endswith(LIST_WRITTEN), said


def test_a_list_given_as_a_list_is_taken_as_before():
    """(Lists from YAML, a notebook or a plan: the items as given, duplicates of tables and invokers kept.)"""
    p = params.validate_params(params.CompareParams, {"target": "gcp", "tables": ["player_game_summary"] * 2,
                                                      "exclude": []})
    assert p.tables == ["player_game_summary"] * 2 and p.exclude == []
    p = params.validate_params(params.AuditParams, {"target": "gcp", "expected_invokers": {
        "4": ["serviceAccount:A@p.iam.gserviceaccount.com"]}})
    assert p.expected_invokers == {"phase4": ["a@p.iam.gserviceaccount.com"]}
    assert params.validate_params(params.ReplayParams, {"target": "gcp", "allowed_prod_writes": None}).allowed_prod_writes is None


def test_a_region_the_services_are_not_in_is_refused_before_the_overview_reads_anything_on_gcp(
        anonymous_fakes, tmp_path, capsys):
    """/work/probes/overview_gcp finding 3: phases.yaml places each service, so runbook 00's `region` can only
    repeat it; another was printed on the page and read nowhere. Refused by the notebook's validation cell (exit 2),
    and by a plan before its night starts."""
    refusal = ("region='europe-west1' is not valid: phases.yaml sets each phase's region, and this runbook reads its "
               "services there (us-west2 for phase3 and phase4): give us-west2 or None.")
    overview = NOTEBOOKS / "00_pipeline_overview.ipynb"
    assert cli.main(["run", str(overview), "-p", "target", "gcp", "-p", "project", "my-project", "-p", "region",
                     "europe-west1", "-o", str(tmp_path / "reports")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {refusal}"]
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"title: t\ntarget: gcp\nparameters:\n  project: my-project\n  region: europe-west1\n"
                    f"steps:\n  - id: overview\n    notebook: {overview}\n")
    with pytest.raises(ConfigError) as caught:
        runner.load_plan(plan)
    assert str(caught.value) == f"{plan}: step 'overview': {refusal}"
