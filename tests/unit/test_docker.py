"""docker/ cannot be run here (no Docker engine); check it parses and keeps its promises."""

from __future__ import annotations

import re

import yaml

from tests.support import REPO

COMPOSE = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
]


def _production_docs() -> str:
    operations = (REPO / "docs" / "operations.md").read_text()
    return operations.split("## Production (docker/)", 1)[1].split("\n## ", 1)[0]


def test_compose_has_every_service_the_docs_name() -> None:
    services = set(COMPOSE["services"])
    assert {"elasticsearch", "kibana", "postgres", "airflow-init", *AIRFLOW_SERVICES} <= services
    section = _production_docs()
    for name in re.findall(r"`(airflow-[a-z-]+)`", section):
        assert name in services, name


def test_airflow_services_are_built_from_the_project_dockerfile() -> None:
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert "postgresql" in service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert COMPOSE["services"]["airflow-apiserver"]["command"] == ["api-server"]


def test_compose_uses_the_variables_the_docs_promise() -> None:
    promised = set(re.findall(r"NEWSMON_[A-Z_]+", _production_docs()))
    assert {"NEWSMON_ES_URL", "NEWSMON_INDEX_PREFIX", "NEWSMON_CONFIG_DIR"} <= promised
    for name in AIRFLOW_SERVICES:
        assert promised <= set(COMPOSE["services"][name]["environment"]), name
    assert COMPOSE["services"]["airflow-scheduler"]["environment"]["NEWSMON_ES_URL"] == (
        "https://elasticsearch:9200"
    )


def test_elasticsearch_runs_with_security_and_newsmon_as_a_prefix_user() -> None:
    node = COMPOSE["services"]["elasticsearch"]["environment"]
    assert node["xpack.security.enabled"] == "true"
    assert node["xpack.security.http.ssl.enabled"] == "true"
    setup = "\n".join(COMPOSE["services"]["es-setup"]["command"])
    assert "elasticsearch-certutil" in setup and "/_security/role/newsmon" in setup
    assert "NEWSMON_INDEX_PREFIX}*" in setup  # the role reaches the prefix's indices only
    newsmon = COMPOSE["services"]["airflow-scheduler"]["environment"]
    assert newsmon["NEWSMON_ES_USERNAME"] == "newsmon"
    ca = newsmon["NEWSMON_ES_CA_CERTS"]
    mounts = COMPOSE["services"]["airflow-scheduler"]["volumes"]
    assert any(ca.startswith(mount.split(":")[1]) for mount in mounts)
    # Kibana, too, connects over TLS with its own user.
    kibana = COMPOSE["services"]["kibana"]["environment"]
    assert kibana["ELASTICSEARCH_HOSTS"].startswith("https://")
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"


def test_elasticsearch_image_matches_the_client_major() -> None:
    image = COMPOSE["services"]["elasticsearch"]["image"]
    assert image.startswith("docker.elastic.co/elasticsearch/elasticsearch:9.")


def test_dockerfile_copies_paths_that_exist() -> None:
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source
    assert "requirements.lock" in dockerfile
