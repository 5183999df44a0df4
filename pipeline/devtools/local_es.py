"""A local single-node Elasticsearch without Docker, for development and tests.

The `integ-test-zip` distribution is fetched from Maven with `mvn dependency:copy`,
unpacked into the cache dir and started on 127.0.0.1. Elasticsearch refuses to
run as root, so as root it runs as the system user `newsmon-es` (created if
missing). Data and logs live in `<cache>/es-<port>/` and survive a stop.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.config import Settings
from pipeline.errors import NewsmonError

ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
ES_USER = "newsmon-es"
MIN_JAVA = 21
START_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class LocalElasticsearch:
    settings: Settings

    @property
    def home(self) -> Path:
        return self.settings.cache_dir / f"elasticsearch-{self.settings.es_version}"

    @property
    def state_dir(self) -> Path:
        return self.settings.cache_dir / f"es-{self.settings.es_port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "es.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / "newsmon.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.es_port}"

    def start(self, say: Callable[[str], None] = print) -> None:
        if self.health() is not None:
            say(f"Elasticsearch already running at {self.url} (logs: {self.log_file})")
            return
        self._ensure_distribution(say)
        java_home = find_java_home()
        for sub in ("data", "logs", "tmp", "snapshots"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        run_as = prepare_user([self.home, self.state_dir]) if os.geteuid() == 0 else None
        say(
            f"Starting Elasticsearch {self.settings.es_version} on {self.url} "
            f"(Java: {java_home}{', user: ' + run_as if run_as else ''})"
        )
        self._launch(java_home, run_as)
        self._wait_until_healthy()
        say(f"Elasticsearch is up at {self.url}; logs: {self.log_file}")

    def stop(self, say: Callable[[str], None] = print) -> None:
        pid = self._pid()
        if pid is None:
            running = self.health() is not None
            say(
                f"No newsmon-started Elasticsearch on port {self.settings.es_port}"
                + (" (something else answers there; not touching it)" if running else "")
            )
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        say(f"Stopped Elasticsearch (pid {pid}); data kept in {self.state_dir / 'data'}")

    def status(self) -> dict[str, object]:
        health = self.health()
        return {
            "url": self.url,
            "running": health is not None,
            "status": health,
            "pid": self._pid(),
            "version": self.settings.es_version,
            "home": str(self.home),
            "data": str(self.state_dir / "data"),
            "log": str(self.log_file),
        }

    def health(self) -> str | None:
        """Cluster health colour, or None when nothing answers."""
        try:
            response = httpx.get(f"{self.url}/_cluster/health", timeout=3)
            if response.headers.get("x-elastic-product") != "Elasticsearch":
                return None
            return str(response.json()["status"])
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def _ensure_distribution(self, say: Callable[[str], None]) -> None:
        if (self.home / "bin" / "elasticsearch").exists():
            return
        version = self.settings.es_version
        downloads = self.settings.cache_dir / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        archive = downloads / f"elasticsearch-{version}.zip"
        if not archive.exists():
            say(f"Fetching {ARTIFACT}:{version} with mvn ...")
            _run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    f"{DEPENDENCY_PLUGIN}:copy",
                    f"-Dartifact={ARTIFACT}:{version}:zip",
                    f"-DoutputDirectory={downloads}",
                ],
                cwd=downloads,
            )
        say(f"Unpacking into {self.home} ...")
        with tempfile.TemporaryDirectory(dir=self.settings.cache_dir) as tmp:
            _unzip(archive, Path(tmp))
            (Path(tmp) / f"elasticsearch-{version}").rename(self.home)

    def _launch(self, java_home: Path, run_as: str | None) -> None:
        env = {
            "ES_JAVA_HOME": str(java_home),
            "ES_JAVA_OPTS": f"-Xms{self.settings.es_heap} -Xmx{self.settings.es_heap}",
            "ES_TMPDIR": str(self.state_dir / "tmp"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        command = [
            str(self.home / "bin" / "elasticsearch"),
            "-d",
            "-p",
            str(self.pid_file),
            "-E",
            "cluster.name=newsmon",
            "-E",
            "discovery.type=single-node",
            "-E",
            "network.host=127.0.0.1",
            "-E",
            f"http.port={self.settings.es_port}",
            "-E",
            f"path.data={self.state_dir / 'data'}",
            "-E",
            f"path.logs={self.state_dir / 'logs'}",
            "-E",
            f"path.repo={self.state_dir / 'snapshots'}",  # newsmon backup
            "-E",
            "xpack.security.enabled=false",
            # Small dev disks fill up; do not turn indices read-only because of it.
            "-E",
            "cluster.routing.allocation.disk.threshold_enabled=false",
        ]
        prefix = ["env", "-i", *(f"{k}={v}" for k, v in env.items())]
        if run_as:
            prefix = ["runuser", "-u", run_as, "--", *prefix]
        startup_log = self.state_dir / "logs" / "startup.log"
        with startup_log.open("ab") as out:
            process = subprocess.run(
                [*prefix, *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.state_dir,
                timeout=START_TIMEOUT_SECONDS,
            )
        if process.returncode != 0:
            raise NewsmonError(
                f"Elasticsearch failed to start (exit {process.returncode}); "
                f"see {startup_log} and {self.log_file}:\n{_tail(startup_log)}"
            )

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.health() in ("green", "yellow"):
                return
            pid = self._pid()
            if pid is not None and not _alive(pid):
                break
            time.sleep(1)
        raise NewsmonError(
            f"Elasticsearch did not become healthy at {self.url}; "
            f"see {self.log_file}:\n{_tail(self.log_file)}"
        )

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None


def find_java_home() -> Path:
    """ES_JAVA_HOME, then JAVA_HOME, then any JDK under /usr/lib/jvm, of version 21+."""
    explicit = os.environ.get("ES_JAVA_HOME")
    if explicit:
        return Path(explicit)
    candidates = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    jvm_dir = Path("/usr/lib/jvm")
    if jvm_dir.is_dir():
        candidates += sorted(jvm_dir.iterdir(), key=lambda p: -(_java_major(p) or 0))
    for home in candidates:
        major = _java_major(home)
        if major is not None and major >= MIN_JAVA:
            return home
    raise NewsmonError(
        f"no JDK {MIN_JAVA}+ found (looked at ES_JAVA_HOME, JAVA_HOME, /usr/lib/jvm); "
        f"install one and set ES_JAVA_HOME"
    )


def _java_major(home: Path) -> int | None:
    try:
        release = (home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'JAVA_VERSION="(\d+)', release)
    return int(match.group(1)) if match and (home / "bin" / "java").exists() else None


def prepare_user(paths: list[Path]) -> str:
    """The unprivileged user Elasticsearch runs as (created if missing), owning `paths`."""
    try:
        pwd.getpwnam(ES_USER)
    except KeyError:
        _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER])
    for path in paths:
        _run(["chown", "-R", f"{ES_USER}:", str(path)])
    # The user must be able to traverse every parent of the cache dir.
    for parent in paths[0].parents:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise NewsmonError(
                f"{parent} is not traversable by user {ES_USER}; set NEWSMON_CACHE_DIR "
                "to a folder outside it"
            )
    return ES_USER


def _unzip(archive: Path, target: Path) -> None:
    """Extract keeping the Unix permission bits (zipfile.extractall drops them)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run(command: list[str], cwd: Path | None = None) -> None:
    if shutil.which(command[0]) is None:
        raise NewsmonError(f"`{command[0]}` is not installed; it is needed to run {command}")
    process = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if process.returncode != 0:
        output = (process.stdout + process.stderr).strip()[-2000:]
        raise NewsmonError(f"command failed ({process.returncode}): {' '.join(command)}\n{output}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
