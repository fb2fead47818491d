"""`facegate serve` as separate processes: the seed's JavaScript flow, and consistency between
processes (`--workers 2` on SQLite, two servers on one database) on the very next request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import FACEGATE, facegate_env, free_port, serving

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"


def _create_service(db_url: str, data_dir: Path) -> str:
    """The README's and docs/guide.md's way: the CLI prints the new key alone on stdout."""
    done = subprocess.run(
        [FACEGATE, "services", "create", "--type", "recognition", "--name", "faces"],
        env=facegate_env(db_url, data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class Client:
    """One server, one key; each call on a fresh connection (so workers take turns)."""

    def __init__(self, url: str, key: str, faces: Path) -> None:
        self.url, self.key, self.faces = url, key, faces

    def call(self, method: str, path: str, **kw: Any) -> Any:
        response = httpx.request(
            method, self.url + path, headers={"x-api-key": self.key}, timeout=120, **kw
        )
        assert response.status_code < 300, response.text
        return response.json()

    def add(self, subject: str, photo: str) -> str:
        files = {"file": (photo, (self.faces / photo).read_bytes(), "image/jpeg")}
        added = self.call(
            "POST", "/api/v1/recognition/faces", params={"subject": subject}, files=files
        )
        image_id: str = added["image_id"]
        return image_id

    def best(self, photo: str) -> str | None:
        """The subject recognised in `photo` (similarity >= 0.5), or None."""
        files = {"file": (photo, (self.faces / photo).read_bytes(), "image/jpeg")}
        result = self.call("POST", "/api/v1/recognition/recognize", files=files)["result"][0]
        matches = [m["subject"] for m in result["subjects"] if m["similarity"] >= 0.5]
        return matches[0] if matches else None


def test_seed_javascript_flow(db_url: str, tmp_path: Path, faces_dir: Path) -> None:
    node = shutil.which("node")
    assert node, "node (v20) is needed to run the seed's JavaScript snippets"
    data_dir = tmp_path / "data"
    subprocess.run([FACEGATE, "db", "upgrade"], env=facegate_env(db_url, data_dir), check=True)
    key = _create_service(db_url, data_dir)
    with serving(db_url, data_dir) as url:
        run = subprocess.run(
            [
                node,
                str(DATA / "seed_flow.js"),
                str(DATA / "seed_snippet.js"),
                url,
                key,
                "Barack Obama",
                str(faces_dir / "fr_obama.jpg"),
                str(faces_dir / "fr_obama2.jpg"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout)
    assert outcome["saved"]["message"] == "New example was saved"
    assert outcome["saved"]["data"]["subject"] == "Barack Obama"
    best = outcome["result"]["result"][0]["subjects"][0]
    assert best["subject"] == "Barack Obama" and best["similarity"] >= 0.5


def _check_consistency(first: Client, second: Client) -> None:
    """Every write through `first` is seen by `second` on its very next request, and back."""
    image_id = first.add("obama", "fr_obama.jpg")
    assert second.best("fr_obama2.jpg") == "obama"
    assert second.best("fr_biden.jpg") is None
    second.add("biden", "fr_biden.jpg")
    assert first.best("knn_train_biden_biden2.jpg") == "biden"
    first.call("PUT", "/api/v1/recognition/subjects/obama", json={"subject": "Barack"})
    assert second.best("fr_obama2.jpg") == "Barack"
    # Renaming onto an existing subject merges the two.
    second.call("PUT", "/api/v1/recognition/subjects/biden", json={"subject": "Barack"})
    assert first.best("knn_train_biden_biden2.jpg") == "Barack"
    second.call("DELETE", f"/api/v1/recognition/faces/{image_id}")
    assert first.best("fr_obama2.jpg") is None
    first.call("DELETE", "/api/v1/recognition/subjects/Barack")
    assert second.best("knn_train_biden_biden2.jpg") is None


def test_two_servers_on_one_database(db_url: str, tmp_path: Path, faces_dir: Path) -> None:
    data_dir = tmp_path / "data"
    subprocess.run([FACEGATE, "db", "upgrade"], env=facegate_env(db_url, data_dir), check=True)
    key = _create_service(db_url, data_dir)
    with serving(db_url, data_dir) as one, serving(db_url, data_dir) as two:
        # Each server loads the collection before the other writes, so both have a cache to update.
        assert Client(one, key, faces_dir).best("fr_obama.jpg") is None
        assert Client(two, key, faces_dir).best("fr_obama.jpg") is None
        _check_consistency(Client(one, key, faces_dir), Client(two, key, faces_dir))


def test_two_workers_on_sqlite(tmp_path: Path, faces_dir: Path) -> None:
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{data_dir / 'facegate.db'}"
    subprocess.run([FACEGATE, "db", "upgrade"], env=facegate_env(db_url, data_dir), check=True)
    key = _create_service(db_url, data_dir)
    with serving(db_url, data_dir, "--workers", "2") as url:
        client = Client(url, key, faces_dir)
        for _ in range(4):  # warm both workers' caches
            assert client.best("fr_obama.jpg") is None
        _check_consistency(client, client)


@pytest.mark.parametrize(("named", "shown"), [(None, max(1, (os.cpu_count() or 1) // 2)), ("3", 3)])
def test_workers_share_the_cores_unless_a_number_is_named(
    tmp_path: Path, named: str | None, shown: int
) -> None:
    """One analysis per core in all (decisions.md D93): each of 2 workers runs half the cores'
    analyses, or the operator's own number."""
    data_dir = tmp_path / "data"
    env = facegate_env(f"sqlite:///{data_dir / 'facegate.db'}", data_dir)
    env.pop("FACEGATE_MAX_CONCURRENT_INFERENCES", None)
    if named is not None:
        env["FACEGATE_MAX_CONCURRENT_INFERENCES"] = named
    port = str(free_port())
    with subprocess.Popen(
        [FACEGATE, "serve", "--port", port, "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as server:  # fmt: skip
        try:
            assert server.stdout is not None
            lines = iter(server.stdout.readline, "")
            shown_line = next(line for line in lines if "analyses at once" in line)
        finally:
            server.terminate()
    assert shown_line.split(":", 1)[1].strip() == f"{shown} per process"
