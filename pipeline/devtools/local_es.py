"""A local Elasticsearch without Docker, for development and tests: one node, or a
cluster of `es_nodes` on loopback ports (`NEWSMON_ES_NODES=3 newsmon es start`).

The `integ-test-zip` distribution is fetched from Maven with `mvn dependency:copy`,
unpacked into the cache dir and started on 127.0.0.1. Elasticsearch refuses to
run as root, so as root it runs as the system user `newsmon-es` (created if
missing). Data and logs live in `<cache>/es-<port>/` and survive a stop.

Security is on, as in any Elasticsearch 9 deployment: at first start a CA and the
node's certificate are made with `elasticsearch-certutil` (TLS on HTTP), the `elastic`
superuser gets a generated password, and each index prefix newsmon is used with gets
its own user whose role reaches only that prefix's indices. Users and roles are
file-based (`elasticsearch-users`, roles.yml): this distribution lacks the analysis
module the `.security` index needs, so native users and API keys cannot be made on
it. The secrets are kept in `<cache>/es-<port>/credentials.json` (mode 0600), where
newsmon finds them when NEWSMON_ES_URL is not set.

A cluster's first node is the single node's folder; node N (HTTP port es_port + N,
transport es_port + 100 + N) keeps its data, logs and a copy of the first node's config
(certificates, keystore, users and roles, copied again whenever a user is added) in
`<cache>/es-<port>/node-N/`. Nodes talk TLS to each other with the same certificate.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from pipeline.config import Settings
from pipeline.errors import NewsmonError

ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
ES_USER = "newsmon-es"
MIN_JAVA = 21
START_TIMEOUT_SECONDS = 180
SUPERUSER = "elastic"
# What a prefix's user may do besides its own indices: cluster health and task status
# (monitor), and snapshots for `newsmon backup`.
PREFIX_CLUSTER_PRIVILEGES = ["monitor", "cluster:admin/repository/*", "cluster:admin/snapshot/*"]
USER_READY_SECONDS = 30  # Elasticsearch rereads its users and roles files every 5 s


@dataclass(frozen=True)
class Credentials:
    """How a client reaches the local cluster: a user and the CA of its certificate."""

    username: str
    password: str
    ca_certs: Path


@dataclass(frozen=True)
class LocalElasticsearch:
    settings: Settings
    node: int = 0  # which node of the local cluster this is (0: the first)

    def nodes(self) -> list[LocalElasticsearch]:
        """Every node of the local cluster, the first one first."""
        return [LocalElasticsearch(self.settings, n) for n in range(self.settings.es_nodes)]

    @property
    def first(self) -> LocalElasticsearch:
        return LocalElasticsearch(self.settings, 0)

    @property
    def node_dir(self) -> Path:
        return self.state_dir if self.node == 0 else self.state_dir / f"node-{self.node}"

    @property
    def http_port(self) -> int:
        return self.settings.es_port + self.node

    @property
    def transport_port(self) -> int:
        return self.settings.es_port + 100 + self.node

    @property
    def home(self) -> Path:
        return self.settings.cache_dir / f"elasticsearch-{self.settings.es_version}"

    @property
    def state_dir(self) -> Path:
        return self.settings.cache_dir / f"es-{self.settings.es_port}"

    @property
    def pid_file(self) -> Path:
        return self.node_dir / "es.pid"

    @property
    def log_file(self) -> Path:
        return self.node_dir / "logs" / "newsmon.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.http_port}"

    @property
    def config_dir(self) -> Path:
        """The node's own copy of the distribution's config, with its certificates,
        keystore, users and roles."""
        return self.node_dir / "config"

    @property
    def ca_path(self) -> Path:
        return self.first.config_dir / "certs" / "ca" / "ca.crt"

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / "credentials.json"

    def start(self, say: Callable[[str], None] = print) -> None:
        """Start every node of the local cluster that is not running."""
        if self.health() is not None and all(node._pid() for node in self.nodes()[1:]):
            say(f"Elasticsearch already running at {self.url} (logs: {self.log_file})")
            return
        if self._answers_without_security():
            raise NewsmonError(
                f"an Elasticsearch without security answers on port {self.settings.es_port}"
                " (started by an older newsmon?): `newsmon es stop`, then start it again"
            )
        self._ensure_distribution(say)
        java_home = find_java_home()
        first_start = not self.credentials_file.exists()
        for node in self.nodes():
            for sub in ("data", "logs", "tmp", "snapshots"):
                (node.node_dir / sub).mkdir(parents=True, exist_ok=True)
        if first_start:
            shutil.rmtree(self.config_dir, ignore_errors=True)
            shutil.copytree(self.home / "config", self.config_dir)
        run_as = prepare_user([self.home, self.state_dir]) if os.geteuid() == 0 else None
        if first_start:
            say("Securing it: a CA and TLS certificate, the elastic superuser's password ...")
            self._secure()
        self._copy_config()
        for node in self.nodes():
            if node._pid() is None:
                say(
                    f"Starting Elasticsearch {self.settings.es_version} on {node.url} "
                    f"(Java: {java_home}{', user: ' + run_as if run_as else ''})"
                )
                node._launch(java_home, run_as)
        self._wait_until_healthy()
        user = self.credentials(self.settings.index_prefix)
        urls = ", ".join(node.url for node in self.nodes())
        say(
            f"Elasticsearch is up at {urls}; logs: {self.log_file}\n"
            f"  newsmon connects as {user.username!r} (indices {self.settings.index_prefix}*),"
            f" CA {user.ca_certs}; passwords in {self.credentials_file}"
        )

    def _copy_config(self) -> None:
        """The first node's config (certificates, keystore, users, roles) to the others."""
        for node in self.nodes()[1:]:
            shutil.copytree(self.config_dir, node.config_dir, dirs_exist_ok=True)
            if os.geteuid() == 0:
                prepare_user([node.node_dir])

    def credentials(self, prefix: str) -> Credentials:
        """The user for indices named `prefix`...: one made for a prefix it starts with
        (the longest), or a new one made now, limited to `prefix`*."""
        with self._credentials_lock():
            stored = self._read_credentials()
            users: dict[str, dict[str, str]] = stored.setdefault("users", {})
            covering = [granted for granted in users if prefix.startswith(granted)]
            if covering:
                user = users[max(covering, key=len)]
                return Credentials(user["username"], user["password"], self.ca_path)
            user = {"username": f"newsmon-{prefix.rstrip('-')}", "password": _password()}
            users[prefix] = user
            self._write_roles(users)
            self._tool("elasticsearch-users", "userdel", user["username"], check=False)
            self._tool(
                "elasticsearch-users",
                "useradd",
                user["username"],
                "-p",
                user["password"],
                "-r",
                _role(prefix),
            )
            self._write_credentials(stored)
            self._copy_config()
        credentials = Credentials(user["username"], user["password"], self.ca_path)
        for node in self.nodes():
            if node._pid() is not None:  # a stopped node reads the files when it starts
                node._wait_until_accepted(credentials, prefix)
        return credentials

    def superuser(self) -> Credentials:
        """The `elastic` superuser (for tests and operators, never for newsmon itself)."""
        password = self._read_credentials().get("superuser_password")
        if not password:
            raise NewsmonError(f"no credentials in {self.credentials_file}: start it first")
        return Credentials(SUPERUSER, password, self.ca_path)

    def stop(self, say: Callable[[str], None] = print) -> None:
        """Stop every node started here (also those beyond today's es_nodes)."""
        extra = sorted(self.state_dir.glob("node-*/es.pid"))
        numbers = [int(pid_file.parent.name.removeprefix("node-")) for pid_file in extra]
        started = [self, *(LocalElasticsearch(self.settings, n) for n in numbers)]
        if not any(node._pid() for node in started):
            running = self.health() is not None
            say(
                f"No newsmon-started Elasticsearch on port {self.settings.es_port}"
                + (" (something else answers there; not touching it)" if running else "")
            )
            return
        for node in reversed(started):  # the first node, often the master, last
            node.stop_node(say)

    def stop_node(self, say: Callable[[str], None] = print) -> None:
        """Stop this one node (a cluster's other nodes keep running)."""
        pid = self._pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        say(f"Stopped Elasticsearch on {self.url} (pid {pid}); data in {self.node_dir / 'data'}")

    def status(self) -> dict[str, Any]:
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
            "nodes": [
                {"url": node.url, "pid": node._pid(), "data": str(node.node_dir / "data")}
                for node in self.nodes()
            ],
        }

    def health(self) -> str | None:
        """Cluster health colour, or None when nothing answers (or not with security)."""
        found = self._cluster_health()
        return str(found["status"]) if found else None

    def _joined(self) -> int:
        """How many nodes are in the cluster, as this node sees it."""
        found = self._cluster_health()
        return int(found["number_of_nodes"]) if found else 0

    def _cluster_health(self) -> dict[str, Any] | None:
        try:
            admin = self.superuser()
            response = httpx.get(
                f"{self.url}/_cluster/health",
                auth=(admin.username, admin.password),
                verify=str(admin.ca_certs),
                timeout=3,
            )
            if response.headers.get("x-elastic-product") != "Elasticsearch":
                return None
            found: dict[str, Any] = response.json()
            return found if "status" in found else None
        except (httpx.HTTPError, ValueError, NewsmonError):
            return None

    def _answers_without_security(self) -> bool:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.settings.es_port}/", timeout=3)
        except httpx.HTTPError:
            return False
        return response.headers.get("x-elastic-product") == "Elasticsearch"

    def _secure(self) -> None:
        """First start: certificates, keystore with the superuser's password."""
        certs = self.config_dir / "certs"
        certs.mkdir(exist_ok=True)
        make_certificates(self._tool, certs)
        if not (self.config_dir / "elasticsearch.keystore").exists():
            self._tool("elasticsearch-keystore", "create")
        password = _password()
        self._tool(
            "elasticsearch-keystore", "add", "-f", "-x", "bootstrap.password", stdin=password
        )
        self._write_roles({})
        self._write_credentials({"superuser_password": password, "users": {}})

    def _tool(self, name: str, *args: str, stdin: str | None = None, check: bool = True) -> None:
        """One of the distribution's command-line tools on this node's config, run as the
        user Elasticsearch runs as (the files it writes must stay theirs)."""
        env = {
            "ES_JAVA_HOME": str(find_java_home()),
            "ES_PATH_CONF": str(self.config_dir),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        command = ["env", "-i", *(f"{k}={v}" for k, v in env.items())]
        if os.geteuid() == 0:
            command = ["runuser", "-u", prepare_user([self.config_dir]), "--", *command]
        process = subprocess.run(
            [*command, str(self.home / "bin" / name), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and process.returncode != 0:
            output = (process.stdout + process.stderr).strip()[-2000:]
            raise NewsmonError(f"{name} {args[0]} failed ({process.returncode}):\n{output}")

    def _write_roles(self, users: dict[str, dict[str, str]]) -> None:
        roles = {
            _role(prefix): {
                "cluster": list(PREFIX_CLUSTER_PRIVILEGES),  # no YAML aliases: ES rejects them
                "indices": [{"names": [f"{prefix}*"], "privileges": ["all"]}],
            }
            for prefix in users
        }
        roles_file = self.config_dir / "roles.yml"
        roles_file.write_text(yaml.safe_dump(roles) if roles else "")
        roles_file.chmod(0o644)

    def _read_credentials(self) -> dict[str, Any]:
        try:
            stored: dict[str, Any] = json.loads(self.credentials_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise NewsmonError(f"{self.credentials_file}: cannot read it ({exc})") from None
        return stored

    def _write_credentials(self, stored: dict[str, Any]) -> None:
        partial = self.credentials_file.with_suffix(".tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(stored, out, indent=2)
        partial.replace(self.credentials_file)

    @contextmanager
    def _credentials_lock(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / "credentials.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _wait_until_accepted(self, user: Credentials, prefix: str) -> None:
        """Until Elasticsearch has reread the users and roles files (every few seconds)
        and the user may do everything on its prefix's indices."""
        deadline = time.monotonic() + USER_READY_SECONDS
        wanted = {"index": [{"names": [f"{prefix}probe"], "privileges": ["all"]}]}
        while True:
            try:
                response = httpx.post(
                    f"{self.url}/_security/user/_has_privileges",
                    json=wanted,
                    auth=(user.username, user.password),
                    verify=str(user.ca_certs),
                    timeout=3,
                )
                if response.status_code == 200 and response.json().get("has_all_requested"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise NewsmonError(
                    f"Elasticsearch at {self.url} does not accept the user {user.username}"
                    f" made for newsmon; see {self.log_file}"
                )
            time.sleep(0.3)

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
            "ES_PATH_CONF": str(self.config_dir),
            "ES_TMPDIR": str(self.node_dir / "tmp"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        command = [
            str(self.home / "bin" / "elasticsearch"),
            "-d",
            "-p",
            str(self.pid_file),
            "-E",
            "cluster.name=newsmon",
            *self._discovery(),
            "-E",
            "network.host=127.0.0.1",
            "-E",
            f"http.port={self.http_port}",
            "-E",
            f"transport.port={self.transport_port}",
            "-E",
            f"path.data={self.node_dir / 'data'}",
            "-E",
            f"path.logs={self.node_dir / 'logs'}",
            "-E",
            f"path.repo={self.state_dir / 'snapshots'}",  # newsmon backup, shared by all nodes
            "-E",
            "xpack.security.enabled=true",
            "-E",
            "xpack.security.http.ssl.enabled=true",
            "-E",
            "xpack.security.http.ssl.key=certs/instance/instance.key",
            "-E",
            "xpack.security.http.ssl.certificate=certs/instance/instance.crt",
            "-E",
            "xpack.security.http.ssl.certificate_authorities=certs/ca/ca.crt",
            # Nodes of a cluster talk TLS to each other, with the same certificate.
            "-E",
            "xpack.security.transport.ssl.enabled=true",
            "-E",
            "xpack.security.transport.ssl.verification_mode=certificate",
            "-E",
            "xpack.security.transport.ssl.key=certs/instance/instance.key",
            "-E",
            "xpack.security.transport.ssl.certificate=certs/instance/instance.crt",
            "-E",
            "xpack.security.transport.ssl.certificate_authorities=certs/ca/ca.crt",
            # Small dev disks fill up; do not turn indices read-only because of it.
            "-E",
            "cluster.routing.allocation.disk.threshold_enabled=false",
        ]
        prefix = ["env", "-i", *(f"{k}={v}" for k, v in env.items())]
        if run_as:
            prefix = ["runuser", "-u", run_as, "--", *prefix]
        startup_log = self.node_dir / "logs" / "startup.log"
        with startup_log.open("ab") as out:
            process = subprocess.run(
                [*prefix, *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.node_dir,
                timeout=START_TIMEOUT_SECONDS,
            )
        if process.returncode != 0:
            raise NewsmonError(
                f"Elasticsearch failed to start (exit {process.returncode}); "
                f"see {startup_log} and {self.log_file}:\n{_tail(startup_log)}"
            )

    def _discovery(self) -> list[str]:
        if self.settings.es_nodes == 1:
            return ["-E", "discovery.type=single-node"]
        nodes = self.nodes()
        return [
            "-E",
            f"node.name=newsmon-{self.node}",
            "-E",
            "discovery.seed_hosts=" + ",".join(f"127.0.0.1:{n.transport_port}" for n in nodes),
            # Read only when the cluster forms the first time (a first node that ran alone
            # before has its cluster already, and the others join it).
            "-E",
            "cluster.initial_master_nodes=" + ",".join(f"newsmon-{n.node}" for n in nodes),
        ]

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.health() in ("green", "yellow") and self._joined() >= self.settings.es_nodes:
                return
            if any(node._pid() is None for node in self.nodes()):
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


def make_certificates(tool: Callable[..., None], certs: Path) -> None:
    """A CA (certs/ca/) and a certificate for 127.0.0.1 and localhost signed by it
    (certs/instance/), PEM, made by `tool` (runs elasticsearch-certutil)."""
    tool("elasticsearch-certutil", "ca", "--pem", "--silent", "--out", str(certs / "ca.zip"))
    _unzip(certs / "ca.zip", certs)
    tool(
        "elasticsearch-certutil",
        "cert",
        "--pem",
        "--silent",
        "--ca-cert",
        str(certs / "ca" / "ca.crt"),
        "--ca-key",
        str(certs / "ca" / "ca.key"),
        "--ip",
        "127.0.0.1",
        "--dns",
        "localhost",
        "--out",
        str(certs / "node.zip"),
    )
    _unzip(certs / "node.zip", certs)


def _password() -> str:
    return secrets.token_urlsafe(18)


def _role(prefix: str) -> str:
    return "newsmon_" + prefix.rstrip("-").replace("-", "_")


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
