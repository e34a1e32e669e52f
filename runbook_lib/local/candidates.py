"""The sandbox's traffic tags (`gcloud run deploy --no-traffic --tag=TAG`): a tagged revision that gets no traffic
runs in a process of its own, on another loopback port, whose URL is the tag's URL.

The state keeps each tag as Cloud Run keeps it, beside the traffic (`record["tags"][TAG]`: the revision it names,
and the URL, pid and port of the process serving it); the process's own record sits in run/<phase>--<tag>.json,
so everything that stops the sandbox's processes (`runbook sandbox stop`, reset, a run's kernel ending) stops it
too. A tag's process announces itself there (service_app --run-name), never in run/<phase>.json, which keeps naming
the process that serves. When the traffic moves to the tagged revision, the service takes over the tag's process
(LocalServices._ensure_one); a tag whose revision gets no traffic is scaled to zero when its redeploy ends, and
starts again on the next request to its URL, as Cloud Run's revisions do.
"""
from __future__ import annotations

from typing import Any

from ..errors import NotFoundError, RunbookError
from ..protocols import Progress
from ..services import Rollout, check_tag
from .processes import process_lock, read_run_file, write_run_file, run_file, terminate
from .state import require_services_state, state_lock, write_state

TAGS = "tags"


def tag_run_name(name: str, tag: str) -> str:
    """The run/ record of the process serving `tag` of the phase `name` (never a phase's name: it holds --)."""
    return f"{name}--{tag}"


def tags_by_revision(record: dict) -> dict[str, list[str]]:
    """revision -> the tags naming it, from a service's state record."""
    found: dict[str, list[str]] = {}
    for tag, entry in sorted(record.get(TAGS, {}).items()):
        found.setdefault(entry["revision"], []).append(tag)
    return found


class SandboxTags:
    """LocalServices' tags; needs its home, _record, _serving, _spawn and _ensure_one."""

    home: Any

    def _spawn_for_tag(self, name: str, revision: dict, tag: str, timeout_s: float) -> dict:
        """Start `revision` in a process of its own for `tag`, under the service's process lock (held by the caller).
        It announces itself in the tag's record, never the service's: a kernel interrupted while it starts leaves the
        service's record naming what serves, and the runner's cleanup finds the tag's process by its own."""
        before = read_run_file(self.home, tag_run_name(name, tag))
        if before:   # the tag moves: one process per tag
            terminate(before["pid"], self.home.root)
        run_file(self.home, tag_run_name(name, tag)).unlink(missing_ok=True)
        return self._spawn(name, revision, timeout_s=timeout_s,  # type: ignore[attr-defined]
                           run_name=tag_run_name(name, tag))

    def _start_tagged(self, name: str, revision: dict, tag: str, timeout_s: float, progress: Progress | None,
                      notes: list[str]) -> Rollout:
        """The deploy's new revision in the tag's own process; the traffic stays where it is. One that cannot start
        is not ready and the tag stays where it was, as Cloud Run leaves its traffic targets."""
        with process_lock(self.home, name):
            try:
                live: dict | None = self._spawn_for_tag(name, revision, tag, timeout_s)
                ready, message = True, f"Revision {revision['name']} is ready, with no traffic."
            except RunbookError as exc:
                live, ready = None, False
                message = f"Revision {revision['name']} is not ready and cannot serve traffic: {exc}"
            with state_lock(self.home):
                state = require_services_state(self.home)
                record = state["services"][name]
                next(r for r in record["revisions"] if r["name"] == revision["name"])["ready"] = ready
                if live is not None:
                    record.setdefault(TAGS, {})[tag] = {"revision": revision["name"], "url": live["url"],
                                                        "pid": live["pid"], "port": live["port"]}
                write_state(self.home, state)
        if progress is not None:
            progress(f"revision {revision['name']}: {'ready, tag ' + tag if ready else 'not ready'}")
        return Rollout(revision["name"], ready, message, self._traffic(name), notes,  # type: ignore[attr-defined]
                       tag_url=live["url"] if live is not None else "")

    def _record_tag(self, name: str, tag: str, revision: str, live: dict | None) -> None:
        """The tag names `revision` now (moved off any other), served by `live` (None: not running)."""
        with state_lock(self.home):
            state = require_services_state(self.home)
            entry = {"revision": revision, "url": live["url"] if live else "", "pid": live["pid"] if live else None,
                     "port": live["port"] if live else None}
            state["services"][name].setdefault(TAGS, {})[tag] = entry
            write_state(self.home, state)

    def _tag_process(self, name: str, tag: str, timeout_s: float) -> dict:
        """The live process answering the tag's URL: the service's own when the tagged revision serves, else the
        tag's, started again when it was scaled to zero."""
        _, record = self._record(name)  # type: ignore[attr-defined]
        entry = record.get(TAGS, {}).get(tag)
        if entry is None:
            raise NotFoundError(f"No revision of {record['service']} carries the tag {tag}, so it has no URL; deploy "
                                f"with --tag={tag} first.")
        if entry["revision"] == self._serving(record)["name"]:  # type: ignore[attr-defined]
            return self._ensure_one(name)  # type: ignore[attr-defined]
        with process_lock(self.home, name):
            live = read_run_file(self.home, tag_run_name(name, tag))
            if live and live.get("revision") == entry["revision"]:
                return live
            revision = next((r for r in record["revisions"] if r["name"] == entry["revision"]), None)
            if revision is None or revision.get("ready", True) is not True:
                raise RunbookError(f"{entry['revision']}, which the tag {tag} of {record['service']} names, is not "
                                   "ready, so nothing answers the tag's URL; deploy a revision that starts.")
            if live:
                terminate(live["pid"], self.home.root)
            live = self._spawn_for_tag(name, revision, tag, timeout_s)
        self._record_tag(name, tag, entry["revision"], live)
        return live

    def _adopt_tag_process(self, name: str, revision: str) -> dict | None:
        """The tag's process of `revision`, which now gets the traffic, as the service's own (caller holds the
        service's process lock): it keeps serving, nothing restarts."""
        _, record = self._record(name)  # type: ignore[attr-defined]
        for tag, entry in record.get(TAGS, {}).items():
            live = read_run_file(self.home, tag_run_name(name, tag)) if entry["revision"] == revision else None
            if live and live.get("revision") == revision:
                write_run_file(self.home, name, live)
                run_file(self.home, tag_run_name(name, tag)).unlink(missing_ok=True)
                return live
        return None

    def scale_tag_to_zero(self, phase: str, tag: str) -> None:
        """Stop the tag's own process (its revision gets no traffic); the tag stays, and its URL starts it again."""
        name = self.phases.get(phase).name  # type: ignore[attr-defined]
        check_tag(tag)
        with process_lock(self.home, name):
            live = read_run_file(self.home, tag_run_name(name, tag))
            if live:
                terminate(live["pid"], self.home.root)
            run_file(self.home, tag_run_name(name, tag)).unlink(missing_ok=True)

    def _stop_tag_processes(self, name: str) -> list[str]:
        """Stop every tag's process of the service `name` (caller holds its process lock)."""
        stopped = []
        for path in sorted(run_file(self.home, tag_run_name(name, "x")).parent.glob(f"{name}--*.json")):
            live = read_run_file(self.home, path.stem)
            if live and terminate(live["pid"], self.home.root):
                stopped.append(path.stem)
            path.unlink(missing_ok=True)
        return stopped
