"""A second node of the local Elasticsearch distribution with security on, for tests of
newsmon against a secured cluster: TLS on HTTP with a CA made by elasticsearch-certutil,
the `elastic` superuser's password set in the keystore, on its own ports and folder.

Users and roles are file-based (`elasticsearch-users`, roles.yml): the distribution
lacks the analysis module the `.security` index's mapping needs, so native users,
roles and API keys cannot be created on it."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import ssl
import subprocess
import time
from pathlib import Path

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.devtools.local_es import (
    LocalElasticsearch,
    find_java_home,
    make_certificates,
    prepare_user,
)

HTTP_PORT, TRANSPORT_PORT = 9250, 9350


class SecuredElasticsearch:
    def __init__(self, settings: Settings) -> None:
        self.home = LocalElasticsearch(settings).home  # the distribution `make test` fetched
        self.folder = settings.cache_dir / f"es-secured-{HTTP_PORT}"
        self.config = self.folder / "config"
        self.password = secrets.token_urlsafe(16)
        self.url = f"https://127.0.0.1:{HTTP_PORT}"
        self._java = find_java_home()

    @property
    def ca_path(self) -> Path:
        return self.config / "certs" / "ca" / "ca.crt"

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the node's certificate, as `openssl x509 -fingerprint` prints it."""
        pem = (self.config / "certs" / "instance" / "instance.crt").read_text()
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))

    def start(self, roles_yml: str = "", users: dict[str, tuple[str, str]] | None = None) -> None:
        """`users`: name -> (password, role), with the roles defined in `roles_yml`."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
        for sub in ("data", "logs", "tmp"):
            (self.folder / sub).mkdir(parents=True)
        shutil.copytree(self.home / "config", self.config)
        self._make_certificates()
        (self.config / "roles.yml").write_text(roles_yml)
        for name, (password, role) in (users or {}).items():
            self._tool("elasticsearch-users", "useradd", name, "-p", password, "-r", role)
        if not (self.config / "elasticsearch.keystore").exists():
            self._tool("elasticsearch-keystore", "create")
        self._tool(
            "elasticsearch-keystore", "add", "-f", "-x", "bootstrap.password", stdin=self.password
        )
        run_as = prepare_user([self.folder]) if os.geteuid() == 0 else None
        command = [str(self.home / "bin" / "elasticsearch"), "-d", "-p", str(self.pid_file)]
        for option in (
            "cluster.name=newsmon-secured",
            "discovery.type=single-node",
            "network.host=127.0.0.1",
            f"http.port={HTTP_PORT}",
            f"transport.port={TRANSPORT_PORT}",
            f"path.data={self.folder / 'data'}",
            f"path.logs={self.folder / 'logs'}",
            "xpack.security.enabled=true",
            "xpack.security.http.ssl.enabled=true",
            "xpack.security.http.ssl.key=certs/instance/instance.key",
            "xpack.security.http.ssl.certificate=certs/instance/instance.crt",
            "xpack.security.http.ssl.certificate_authorities=certs/ca/ca.crt",
            "cluster.routing.allocation.disk.threshold_enabled=false",
        ):
            command += ["-E", option]
        prefix = ["env", "-i", *(f"{k}={v}" for k, v in self._env("512m").items())]
        if run_as:
            prefix = ["runuser", "-u", run_as, "--", *prefix]
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=180)
        self._wait_until_up()

    def admin(self) -> Elasticsearch:
        return Elasticsearch(
            self.url, basic_auth=("elastic", self.password), ca_certs=str(self.ca_path)
        )

    def stop(self) -> None:
        if not self.pid_file.exists():
            return
        pid = int(self.pid_file.read_text().strip() or 0)
        try:
            os.kill(pid, 15)
            for _ in range(300):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        self.pid_file.unlink(missing_ok=True)

    @property
    def pid_file(self) -> Path:
        return self.folder / "es.pid"

    def _env(self, heap: str = "256m") -> dict[str, str]:
        return {
            "ES_JAVA_HOME": str(self._java),
            "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
            "ES_PATH_CONF": str(self.config),
            "ES_TMPDIR": str(self.folder / "tmp"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }

    def _tool(self, name: str, *args: str, stdin: str | None = None) -> None:
        subprocess.run(
            [str(self.home / "bin" / name), *args],
            env=self._env(),
            input=stdin,
            text=True,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _make_certificates(self) -> None:
        certs = self.config / "certs"
        certs.mkdir()
        make_certificates(self._tool, certs)

    def _wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        client = self.admin()
        while time.monotonic() < deadline:
            try:
                client.cluster.health(wait_for_status="yellow", timeout="5s")
                return
            except Exception:  # not up yet: connection refused, 503, security index
                time.sleep(1)
        log = self.folder / "logs" / "newsmon-secured.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
        raise RuntimeError(f"the secured Elasticsearch did not come up:\n{tail}")
