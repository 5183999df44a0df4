"""Start, stop or check newsmon's distributed mode on this machine: Airflow with the
CeleryExecutor, PostgreSQL as its metadata database, Redis as the Celery broker (and
newsmon's politeness shared by the workers), two Celery workers, scheduler,
dag-processor and api-server, all on 127.0.0.1 with the DAGs and plugin of `make run`.

    python scripts/local_cluster.py start|stop|status

`make cluster-deps` installs Debian's postgresql and redis-server when missing. State:
Airflow's in .cluster/ (NEWSMON_CLUSTER_HOME to change), PostgreSQL's data in the cache
folder (it runs as the `postgres` user when started as root). Ports: the UI and API on
8090 (NEWSMON_CLUSTER_PORT), PostgreSQL 5433, Redis 6380 (NEWSMON_CLUSTER_PG_PORT,
NEWSMON_CLUSTER_REDIS_PORT). Environment variables (NEWSMON_*) pass through to the tasks;
NEWSMON_REDIS_URL is set to the cluster's Redis. Elasticsearch is whatever newsmon is
configured with (`NEWSMON_ES_NODES=3 newsmon es start` for a local cluster of three).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_airflow

from pipeline.config import load_settings

REPO = local_airflow.REPO
HOME = Path(os.environ.get("NEWSMON_CLUSTER_HOME") or REPO / ".cluster")
PORT = int(os.environ.get("NEWSMON_CLUSTER_PORT", "8090"))
PG_PORT = int(os.environ.get("NEWSMON_CLUSTER_PG_PORT", "5433"))
REDIS_PORT = int(os.environ.get("NEWSMON_CLUSTER_REDIS_PORT", "6380"))
URL = f"http://127.0.0.1:{PORT}"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
DATABASE = f"postgresql+psycopg2://airflow@127.0.0.1:{PG_PORT}/airflow"
WORKERS = ("worker1", "worker2")
# The Airflow processes, each with its own log and pid file in HOME.
COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    # One task at a time per worker: a shard task runs a process pool of its own.
    **{
        name: ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "1"]
        for name in WORKERS
    },
}
START_TIMEOUT = 300


def postgres_dir() -> Path:
    return load_settings().cache_dir / f"postgres-{PG_PORT}"


def pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise SystemExit("PostgreSQL is not installed: run `make cluster-deps`")
    return str(found[-1])


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, its commands run as `postgres`."""
    if os.geteuid() != 0:
        return command
    pwd.getpwnam("postgres")  # made by Debian's package
    return ["runuser", "-u", "postgres", "--", *command]


def start_postgres() -> None:
    data = postgres_dir()
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        # Trust on loopback only: the server listens on 127.0.0.1 and a socket in `data`.
        _postgres("initdb", "-D", str(data), "-U", "airflow", "-E", "UTF8", "--auth=trust")
    status = subprocess.run(
        as_postgres([pg_bin("pg_ctl"), "status", "-D", str(data)]), capture_output=True
    )
    if status.returncode != 0:
        options = f"-p {PG_PORT} -k {data} -c listen_addresses=127.0.0.1"
        log = str(data / "postgres.log")
        _postgres("pg_ctl", "start", "-w", "-D", str(data), "-o", options, "-l", log)
    created = subprocess.run(
        [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "airflow", "airflow"],
        capture_output=True,
        text=True,
    )
    if created.returncode != 0 and "already exists" not in created.stderr:
        raise SystemExit(f"createdb failed: {created.stderr.strip()}")
    print(f"PostgreSQL on 127.0.0.1:{PG_PORT} (data {data})")


def _postgres(tool: str, *args: str) -> None:
    done = subprocess.run(as_postgres([pg_bin(tool), *args]), capture_output=True, text=True)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-2000:]
        raise SystemExit(
            f"{tool} failed (the postgres user must reach {postgres_dir()}):\n{output}"
        )


def start_redis() -> None:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise SystemExit("redis-server is not installed: run `make cluster-deps`")
    if _redis_alive():
        return
    subprocess.run(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(REDIS_PORT),
            "--daemonize",
            "yes",
            "--pidfile",
            str(HOME / "redis.pid"),
            "--logfile",
            str(HOME / "redis.log"),
            "--dir",
            str(HOME),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    deadline = time.monotonic() + 20
    while not _redis_alive():
        if time.monotonic() > deadline:
            raise SystemExit(f"Redis did not start; see {HOME / 'redis.log'}")
        time.sleep(0.2)
    print(f"Redis on {REDIS_URL}")


def _redis_alive() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def airflow_env() -> dict[str, str]:
    env = local_airflow.airflow_env()
    return {
        **env,
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": DATABASE,
        "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{DATABASE.replace('+psycopg2', '')}",
        "AIRFLOW__API__PORT": str(PORT),
        "AIRFLOW__API__BASE_URL": URL,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{URL}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file()),
        "NEWSMON_REDIS_URL": REDIS_URL,
    }


def passwords_file() -> Path:
    return HOME / "simple_auth_manager_passwords.json.generated"


def start() -> int:
    HOME.mkdir(parents=True, exist_ok=True)
    start_postgres()
    start_redis()
    env = airflow_env()
    airflow = str(Path(sys.executable).parent / "airflow")
    migrated = subprocess.run(
        [airflow, "db", "migrate"], env=env, cwd=HOME, capture_output=True, text=True
    )
    if migrated.returncode != 0:
        print(f"airflow db migrate failed:\n{migrated.stderr[-3000:]}", file=sys.stderr)
        return 1
    for name, args in COMPONENTS.items():
        if _pid(name) is None:
            _launch(name, [airflow, *args], env)
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy():
        if time.monotonic() > deadline or any(_pid(name) is None for name in COMPONENTS):
            print(f"Airflow did not come up; logs in {HOME}", file=sys.stderr)
            stop()
            return 1
        time.sleep(2)
    if not _workers_ready(deadline):
        print(f"the Celery workers did not come up; logs in {HOME}", file=sys.stderr)
        stop()
        return 1
    local_airflow.unpause_dags(deadline, URL, passwords_file())
    user, password = admin_login()
    print(
        f"Airflow (CeleryExecutor, {len(WORKERS)} workers) at {URL}  (login: {user} / {password})"
    )
    return 0


def _launch(name: str, command: list[str], env: dict[str, str]) -> None:
    with (HOME / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=HOME,
        )
    (HOME / f"{name}.pid").write_text(str(process.pid))


def healthy() -> bool:
    return health_problem() is None


def health_problem() -> str | None:
    """None when the API server answers that the database, scheduler and DAG processor
    are healthy; otherwise what is not."""
    try:
        # A busy 2-core machine can keep the API server from answering in a few seconds.
        response = httpx.get(f"{URL}/api/v2/monitor/health", timeout=15)
        found = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"no health answer ({type(exc).__name__})"
    parts = ("metadatabase", "scheduler", "dag_processor")
    unhealthy = [p for p in parts if found.get(p, {}).get("status") != "healthy"]
    return f"unhealthy: {', '.join(unhealthy)}" if unhealthy else None


def _workers_ready(deadline: float) -> bool:
    """Every worker logged that it is ready to take tasks."""
    while time.monotonic() < deadline:
        logs = [(HOME / f"{name}.log").read_text(errors="replace") for name in WORKERS]
        if all(
            f"{name}@" in log and " ready." in log for name, log in zip(WORKERS, logs, strict=True)
        ):
            return True
        time.sleep(2)
    return False


def admin_login() -> tuple[str, str]:
    return local_airflow.admin_login(passwords_file())


def api_token() -> str:
    return local_airflow.api_token(URL, passwords_file())


def stop_component(name: str) -> None:
    pid = _pid(name)
    if pid is not None:
        local_airflow.stop_group(pid)
    (HOME / f"{name}.pid").unlink(missing_ok=True)


def stop() -> int:
    for name in reversed(COMPONENTS):
        stop_component(name)
    pid_file = HOME / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink(missing_ok=True)
    data = postgres_dir()
    if (data / "postmaster.pid").exists():
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "stop", "-D", str(data), "-m", "fast"]),
            capture_output=True,
        )
    print("Stopped the local cluster (Airflow, Redis, PostgreSQL)")
    return 0


def status() -> int:
    running = {name: _pid(name) is not None for name in COMPONENTS}
    problem = health_problem()
    print(f"Airflow at {URL}: {problem or 'healthy'}")
    for name, alive in running.items():
        print(f"  {name}: {'running' if alive else 'stopped'}")
    print(f"  redis {REDIS_URL}: {'running' if _redis_alive() else 'stopped'}")
    return 0 if problem is None and all(running.values()) else 1


def _pid(name: str) -> int | None:
    try:
        pid = int((HOME / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if local_airflow.group_alive(pid) else None


if __name__ == "__main__":
    commands = {"start": start, "stop": stop, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
