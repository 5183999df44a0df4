"""A second node of the local Elasticsearch distribution, secured exactly as `newsmon es
start` secures the local one (TLS from its own CA, the `elastic` superuser, a file-realm
user per index prefix), on its own port and folder and started afresh: for the tests of
newsmon's explicit settings (NEWSMON_ES_URL with a user and password, a CA or a
certificate fingerprint, an Airflow connection)."""

from __future__ import annotations

import hashlib
import shutil
import ssl

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.devtools.local_es import Credentials, LocalElasticsearch

HTTP_PORT = 9250


class SecuredElasticsearch:
    def __init__(self, settings: Settings) -> None:
        # The same cache folder: the distribution is shared, the node's folder is its own.
        self.node = LocalElasticsearch(
            settings.model_copy(update={"es_port": HTTP_PORT, "es_heap": "512m"})
        )
        self.url = self.node.url
        self.ca_path = self.node.ca_path

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the node's certificate, as `openssl x509 -fingerprint` prints it."""
        pem = (self.node.config_dir / "certs" / "instance" / "instance.crt").read_text()
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))

    def start(self, prefix: str) -> Credentials:
        """A fresh node (new CA and passwords); returns the user limited to `prefix`*."""
        self.stop()
        shutil.rmtree(self.node.state_dir, ignore_errors=True)
        self.node.start(say=lambda _: None)
        return self.node.credentials(prefix)

    def admin(self) -> Elasticsearch:
        admin = self.node.superuser()
        return Elasticsearch(
            self.url, basic_auth=(admin.username, admin.password), ca_certs=str(admin.ca_certs)
        )

    def stop(self) -> None:
        self.node.stop(say=lambda _: None)
