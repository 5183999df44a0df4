"""A real `airflow api-server` on loopback with the repo's plugins folder and Airflow's
simple auth manager: one viewer, ANALYST, whose password is written to a file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.config import Settings

ANALYST = "analyst"
START_TIMEOUT = 180


@dataclass(frozen=True)
class AirflowApi:
    url: str
    password: str

    def token(self, username: str = ANALYST, password: str | None = None) -> str:
        """A JWT from Airflow's login endpoint, as scripts get one."""
        response = httpx.post(
            f"{self.url}/auth/token",
            json={"username": username, "password": password or self.password},
            timeout=30,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


@contextmanager
def airflow_api_server(settings: Settings, work: Path) -> Iterator[AirflowApi]:
    password = "analyst-" + os.urandom(6).hex()
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({ANALYST: password}))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "NEWSMON_CONFIG_DIR": str(settings.config_dir),
        "NEWSMON_INDEX_PREFIX": settings.index_prefix,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ANALYST}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API__BASE_URL": url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    airflow = Path(sys.executable).parent / "airflow"
    log = work / "api-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(server, url, log)
        yield AirflowApi(url, password)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_healthy(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert server.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "api-server did not start: " + log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
