"""The set-up files agree with each other: a conda user and a pip user get the same kit."""
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {r for r in pip_section if not r.startswith("-e")}
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.removeprefix("python") == project["requires-python"]


def test_every_dependency_has_a_compatible_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert ">=" in req and "<" in req.split(">=", 1)[1], f"{req} needs a lower and an upper bound"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in ci


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_and_demo_write_the_kits_bytecode_first_but_not_the_source_templates(tmp_path):
    """Where PYTHONDONTWRITEBYTECODE is set (CI and container images), every kernel, service and CLI process would
    compile the library again; `make test` and `make demo` compile it once, before their first process. The
    sandbox's source template is the phases' code, copied into the sandbox's repository as it is: not compiled."""
    stamp = tmp_path / ".installed-stamp"
    stamp.touch()
    for goal, runs in (("test", "-m pytest"), ("demo", "bin/runbook demo")):
        done = subprocess.run(["make", "-n", "-C", str(ROOT), f"STAMP={stamp}", goal], capture_output=True, text=True,
                              check=True)
        lines = done.stdout.splitlines()
        compiles = [n for n, line in enumerate(lines) if "-m compileall" in line]
        assert compiles and "-x 'source_template' runbook_lib" in lines[compiles[0]], done.stdout
        assert compiles[0] < next(n for n, line in enumerate(lines) if runs in line), done.stdout


@pytest.mark.parametrize("package", ["pandas", "duckdb", "sqlglot", "nbformat", "google.cloud.bigquery"])
def test_the_installed_packages_carry_their_bytecode(package):
    """pip compiles what it installs; uv only when told (make install: --compile-bytecode). Without it, where
    PYTHONDONTWRITEBYTECODE is set, every process compiled the packages it imports again."""
    import importlib
    import importlib.util

    source = importlib.import_module(package).__file__
    assert Path(importlib.util.cache_from_source(source)).is_file(), f"{source} was installed without its bytecode"



@pytest.mark.parametrize("module", ["sqlglot.parser", "sqlglot.tokenizer_core", "sqlglot.expressions.core",
                                    "sqlglot.generator", "sqlglot.optimizer.annotate_types"])
def test_sqlglot_runs_compiled(module):
    """pyproject asks for sqlglot[c], sqlglot compiled with mypyc (sqlglotc): the sandbox parses, types and
    generates every statement with it, twice as fast as the pure-Python modules (README, the sandbox's warehouse).
    A resolver that fell back to the pure modules would pass every other test and lose that silently."""
    import importlib

    assert Path(importlib.import_module(module).__file__).suffix == ".so", f"{module} is the pure-Python module"

def test_console_script_points_at_cli_main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["runbook"] == "runbook_lib.cli:main"
    from runbook_lib import cli

    assert callable(cli.main)


def _layout_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Layout")
    return readme[start:readme.index("\n## ", start + 1)] if "\n## " in readme[start + 1:] else readme[start:]


def test_the_readme_layout_names_every_module_and_folder_of_the_library():
    """A newcomer reads the layout section to find where things live: each module and folder of
    runbook_lib must be named there (by file name, as the section names them)."""
    layout = _layout_section()
    library = ROOT / "runbook_lib"
    unnamed = [str(path.relative_to(ROOT)) for path in sorted(library.rglob("*.py"))
               if not path.name.startswith("__") and "source_template" not in path.parts
               and not re.search(rf"(?<![\w/.]){re.escape(path.name)}\b", layout)]
    unnamed += [f"{path.relative_to(ROOT)}/" for path in sorted(library.rglob("*")) if path.is_dir()
                and not path.name.startswith(("__", ".")) and "source_template" not in path.parts[:-1]
                and f"{path.name}/" not in layout]
    assert not unnamed, f"README.md's layout section does not name: {', '.join(unnamed)}"
    for top in ("notebooks/", "runbook_lib/", "params/", "tests/", "docker/", "bench/", "environment.yml"):
        assert top in layout and (ROOT / top.rstrip("/")).exists(), top
