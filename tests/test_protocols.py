"""Both targets' adapters satisfy the Target contract (runbook_lib/protocols.py).

Two checks: mypy type-checks the typed assignments in tests/protocol_conformance.py (the static check
the contract is written for), and a quick signature comparison names the method that drifted."""
from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest

from runbook_lib import protocols
from runbook_lib.gcp.builds import GcpBuilds
from runbook_lib.gcp.logs import GcpRuntimeLogs
from runbook_lib.gcp.services import GcpServices
from runbook_lib.gcp.warehouse import GcpWarehouse
from runbook_lib.local.builds import LocalBuilds
from runbook_lib.local.logs import LocalLogs
from runbook_lib.local.services import LocalServices
from runbook_lib.local.warehouse import LocalWarehouse

ADAPTERS = {
    protocols.Warehouse: [LocalWarehouse, GcpWarehouse],
    protocols.Builds: [LocalBuilds, GcpBuilds],
    protocols.Services: [LocalServices, GcpServices],
    protocols.Logs: [LocalLogs, GcpRuntimeLogs],
}


def _members(protocol: type) -> dict[str, inspect.Signature]:
    names = {n for klass in protocol.__mro__ if klass.__module__ == protocols.__name__
             for n, v in vars(klass).items() if callable(v) and not n.startswith("_")}
    return {n: inspect.signature(getattr(protocol, n)) for n in names}


@pytest.mark.parametrize("protocol, adapter", [(p, a) for p, adapters in ADAPTERS.items() for a in adapters],
                         ids=lambda x: x.__name__)
def test_each_adapter_has_every_method_of_its_protocol_with_the_same_parameters(protocol, adapter):
    for name, wanted in _members(protocol).items():
        assert hasattr(adapter, name), f"{adapter.__name__} lacks {protocol.__name__}.{name}"
        got = inspect.signature(getattr(adapter, name))
        want_params = [(p.name, p.kind, p.default) for p in wanted.parameters.values()]
        got_params = [(p.name, p.kind, p.default) for p in got.parameters.values()]
        assert got_params[: len(want_params)] == want_params, f"{adapter.__name__}.{name}{got} != {name}{wanted}"
        assert all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                   for p in list(got.parameters.values())[len(want_params):]), \
            f"{adapter.__name__}.{name} adds required parameters: {got}"


def test_the_signature_check_notices_a_drifted_method():
    class Drifted:
        def query(self, sql, parameters=None):   # renamed keyword: callers passing params= would break
            ...

    wanted = _members(protocols.Warehouse)["query"]
    got = inspect.signature(Drifted.query)
    assert [p.name for p in got.parameters.values()] != [p.name for p in wanted.parameters.values()]


ROOT = Path(__file__).resolve().parent.parent


def _mypy(file: Path, cache: Path, monkeypatch, kit: Path = ROOT) -> tuple[str, str, int]:
    """mypy on `file`, the kit read from this checkout. --no-site-packages: the contract names no installed
    package's types but pandas', which ships none (Any either way), and reading the typed ones it imports
    (google-cloud, numpy, sqlglot, matplotlib) took 15 of mypy's 18 seconds."""
    api = pytest.importorskip("mypy.api", reason="mypy is installed with the kit's test extras")
    monkeypatch.setenv("MYPYPATH", str(kit))
    return api.run([str(file), "--follow-imports=silent", "--ignore-missing-imports", "--no-error-summary",
                    "--no-site-packages", "--cache-dir", str(cache), "--python-version", "3.11"])


def test_mypy_finds_every_adapter_satisfies_its_protocol(tmp_path, monkeypatch):
    stdout, stderr, status = _mypy(Path(__file__).with_name("protocol_conformance.py"), tmp_path / "cache",
                                   monkeypatch)
    assert status == 0, stdout + stderr


def test_mypy_check_fails_for_an_adapter_that_does_not_conform(tmp_path, monkeypatch):
    """Also what shows that mypy read the kit with the options above (an unread runbook_lib is Any: no error)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from runbook_lib.protocols import Logs\n"
                   "class NoLogs:\n    def close(self) -> None: ...\n"
                   "    def build_log_sources(self) -> list: ...\n"
                   "logs: Logs = NoLogs()\n")
    stdout, _, status = _mypy(bad, tmp_path / "cache", monkeypatch)
    assert status == 1 and "request_logs" in stdout


def test_mypy_check_fails_for_an_adapter_of_the_kit_that_drifts(tmp_path, monkeypatch):
    """The conformance file's own check, on a copy of the kit whose LocalLogs lost a method: it fails naming it."""
    kit = tmp_path / "kit"
    shutil.copytree(ROOT / "runbook_lib", kit / "runbook_lib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    logs = kit / "runbook_lib" / "local" / "logs.py"
    text = logs.read_text()
    assert "    def request_logs(" in text
    logs.write_text(text.replace("    def request_logs(", "    def request_logs_renamed("))
    stdout, _, status = _mypy(Path(__file__).with_name("protocol_conformance.py"), tmp_path / "cache", monkeypatch,
                              kit=kit)
    assert status == 1 and "LocalLogs" in stdout and "request_logs" in stdout, stdout


def test_a_partition_id_is_a_day_only_when_it_names_one():
    from datetime import date

    from runbook_lib.protocols import PartitionInfo

    assert PartitionInfo("20240107", 1).partition_date == date(2024, 1, 7)
    for pid in ("20000000", "20241340", "__NULL__", "1000", None):   # range starts, the NULL partition, none
        assert PartitionInfo(pid, 1).partition_date is None
        assert PartitionInfo(pid, 1).to_dict()["partition_date"] is None
