"""Start, stop or check a local `airflow standalone` (SQLite) running newsmon's DAGs.

    python scripts/local_airflow.py start|stop|status

Binds 127.0.0.1:8080 (NEWSMON_AIRFLOW_PORT to change), keeps its state in
.airflow/ (AIRFLOW_HOME to change), unpauses the newsmon DAGs and prints the UI
address and the admin login. Environment variables (NEWSMON_*) pass through to
the tasks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME") or REPO / ".airflow")
PORT = int(os.environ.get("NEWSMON_AIRFLOW_PORT", "8080"))
URL = f"http://127.0.0.1:{PORT}"
PID_FILE = AIRFLOW_HOME / "standalone.pid"
LOG_FILE = AIRFLOW_HOME / "standalone.log"
PASSWORDS = AIRFLOW_HOME / "simple_auth_manager_passwords.json.generated"
DAG_IDS = ("news_ingest", "news_alerts", "news_retag", "news_backup")
START_TIMEOUT = 240


def airflow_env() -> dict[str, str]:
    return {
        **os.environ,
        # standalone starts its components as `airflow ...` found on PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),  # newsmon search in the UI
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(PORT),
        "AIRFLOW__API__BASE_URL": URL,
        # Tasks report to the API server; the default assumes port 8080.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{URL}/execution/",
        # 2 cores: fewer worker processes, and a patient first call to the API server.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        # Re-parse each DAG file every 2 minutes, not 30 s: parsing the four files took
        # 1.3 CPU-s a minute, 3 % of this machine while a run competes for it.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
    }


def healthy() -> bool:
    try:
        response = httpx.get(f"{URL}/api/v2/monitor/health", timeout=3)
        return response.status_code == 200
    except httpx.HTTPError:
        return False


def admin_login(passwords: Path = PASSWORDS) -> tuple[str, str]:
    users = json.loads(passwords.read_text())
    user, password = next(iter(users.items()))
    return user, password


def start() -> int:
    if healthy():
        print(f"Airflow already running at {URL}")
        return show_login()
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).parent / "airflow"
    with LOG_FILE.open("ab") as log:
        process = subprocess.Popen(
            [str(airflow), "standalone"],
            env=airflow_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=AIRFLOW_HOME,
        )
    PID_FILE.write_text(str(process.pid))
    print(f"Starting airflow standalone (pid {process.pid}); log: {LOG_FILE}")
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy():
        if process.poll() is not None or time.monotonic() > deadline:
            print(f"Airflow did not come up; see {LOG_FILE}", file=sys.stderr)
            stop()
            return 1
        time.sleep(2)
    unpause_dags(deadline)
    return show_login()


def api_token(url: str = URL, passwords: Path = PASSWORDS) -> str:
    user, password = admin_login(passwords)
    response = httpx.post(
        f"{url}/auth/token", json={"username": user, "password": password}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def unpause_dags(deadline: float, url: str = URL, passwords: Path = PASSWORDS) -> None:
    """Wait until the DAG processor has registered the DAGs, then make sure none is paused."""
    headers = {"Authorization": f"Bearer {api_token(url, passwords)}"}
    pending = set(DAG_IDS)
    while pending and time.monotonic() < deadline:
        for dag_id in sorted(pending):
            response = httpx.patch(
                f"{url}/api/v2/dags/{dag_id}",
                json={"is_paused": False},
                headers=headers,
                timeout=10,
            )
            if response.status_code == 200:
                pending.discard(dag_id)
        if pending:
            time.sleep(3)
    if pending:
        print(f"warning: DAGs not registered yet: {sorted(pending)}", file=sys.stderr)
    else:
        print(f"DAGs unpaused: {', '.join(DAG_IDS)}")


def show_login() -> int:
    user, password = admin_login()
    print(f"Airflow UI: {URL}  (login: {user} / {password})")
    return 0


def stop() -> int:
    try:
        pid = int(PID_FILE.read_text())
    except (OSError, ValueError):
        print("No airflow standalone started by newsmon")
        return 0
    stop_group(pid)
    PID_FILE.unlink(missing_ok=True)
    print(f"Stopped airflow standalone (process group {pid})")
    return 0


def stop_group(pgid: int) -> None:
    """SIGTERM a process group (Airflow's processes may ignore SIGINT), SIGKILL it after
    30 s."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and group_alive(pgid):
            time.sleep(0.3)
        if not group_alive(pgid):
            return


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def status() -> int:
    print(f"Airflow at {URL}: {'healthy' if healthy() else 'not running'}")
    return 0 if healthy() else 1


if __name__ == "__main__":
    commands = {"start": start, "stop": stop, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
