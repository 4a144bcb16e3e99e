"""Explain jobs on PostgreSQL with the image: two containers of the real image share one PostgreSQL.

A job submitted to container A is polled and paged on container B; ``podman kill`` (SIGKILL to the whole
container) of the container running a job mid-way, and the other finishes it with every row exactly once
(equal, bit for bit, to one /explain of the same rows); a DELETE on one stops the work on the other.

The PostgreSQL is a server process on the host (tests/store's initdb + pg_ctl, about 2 s), not a
container: no registry image is reachable here, and a PostgreSQL image built from the local base would add
an image build to the suite. The containers run with ``--network host`` (each on its own free port,
``SHAPSERVE_PORT``) so that they reach it on 127.0.0.1, and ``--hostname`` = the container's name, so the
job's runner (host:pid) names the container running it. "Mid-way" is read from the database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from deploy_helpers import ROOT, container_alive, free_port, logs, run, say, wait_ready

sys.path.insert(0, str(ROOT / "tests" / "service"))
from pg_jobs_helpers import (  # noqa: E402
    delete_stops_the_runner,
    finished_by_the_other_after,
    jobs_env,
    midway_runner,
    paged_on_the_other,
    throwaway_database,
)

pytestmark = pytest.mark.slow
N = 240  # rows of a long job: 30 slices of 8 (fewer, and a loaded machine may finish it while podman kill runs)


@dataclass
class Container:
    name: str
    url: str


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


@pytest.fixture(scope="module")
def containers(image, database: str) -> Iterator[list[Container]]:
    # the reference /explain of all N rows gets more than the default 30 s on a busy machine
    env = {**jobs_env(database, N), "SHAPSERVE_WORKERS": "1", "SHAPSERVE_REQUEST_TIMEOUT": "120"}
    started: list[Container] = []
    try:
        for tag in ("a", "b"):  # both boot at once; readiness is awaited below
            name, port = f"shapserve-test-jobs-{tag}-{os.getpid()}", free_port()
            run(["podman", "rm", "-f", name], check=False)
            env_args = [
                a for k, v in {**env, "SHAPSERVE_PORT": str(port)}.items() for a in ("-e", f"{k}={v}")
            ]
            run(
                [
                    "podman",
                    "run",
                    "-d",
                    "--name",
                    name,
                    "--hostname",
                    name,
                    "--network",
                    "host",
                    *env_args,
                    image.name,
                ]
            )
            started.append(Container(name, f"http://127.0.0.1:{port}"))
        for c in started:
            try:
                say(f"{c.name} ready after {wait_ready(c.url, lambda c=c: container_alive(c.name)):.1f}s")
            except AssertionError as e:
                raise AssertionError(f"{e}\n--- podman logs {c.name}\n{logs(c.name)}") from None
        yield started
    finally:
        for c in started:
            run(["podman", "rm", "-f", "-t", "1", c.name], check=False)


def _running_on(containers: list[Container], url: str, job_id: str) -> tuple[Container, Container]:
    """Wait until the job is mid-way; (the container running it, the other)."""
    host = midway_runner(url, job_id, N).rsplit(":", 1)[0]
    owner = next(c for c in containers if c.name == host)
    return owner, next(c for c in containers if c is not owner)


def test_a_job_submitted_to_one_container_is_polled_and_paged_on_the_other(
    containers: list[Container], database: str
) -> None:
    paged_on_the_other(containers[0], containers[1], 48, limit=20)  # three pages


def test_delete_on_one_container_stops_the_work_on_the_other(
    containers: list[Container], database: str
) -> None:
    delete_stops_the_runner(containers, database, N, lambda job_id: _running_on(containers, database, job_id))


def test_a_killed_container_s_job_is_finished_by_the_other_with_every_row_once(
    containers: list[Container], database: str
) -> None:
    """Last of the module: the killed container is not restarted."""

    def kill(owner: Container) -> None:
        run(["podman", "kill", owner.name])  # SIGKILL to every process of the container
        assert not container_alive(owner.name)

    other, runner = finished_by_the_other_after(
        kill, containers, database, N, lambda job_id: _running_on(containers, database, job_id)
    )
    assert runner.startswith(other.name + ":")  # taken over by the other container
