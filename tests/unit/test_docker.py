"""docker/ cannot be run here (no Docker engine); check it parses and keeps its promises."""

from __future__ import annotations

import importlib.util
import re

import yaml

from tests.support import REPO

SCRIPTS = REPO / "scripts"
COMPOSE = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
]
ES_NODES = ["elasticsearch", "es02", "es03"]


def _production_docs() -> str:
    operations = (REPO / "docs" / "operations.md").read_text()
    return operations.split("## Production (docker/)", 1)[1].split("\n## ", 1)[0]


def test_compose_has_every_service_the_docs_name() -> None:
    services = set(COMPOSE["services"])
    assert {"kibana", "postgres", "redis", "airflow-init", *ES_NODES, *AIRFLOW_SERVICES} <= services
    section = _production_docs()
    for name in re.findall(r"`(airflow-[a-z-]+)`", section):
        assert name in services, name


def test_airflow_services_are_built_from_the_project_dockerfile() -> None:
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert "postgresql" in service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert service["environment"]["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert COMPOSE["services"]["airflow-apiserver"]["command"] == ["api-server"]
    assert COMPOSE["services"]["airflow-worker"]["command"][:2] == ["celery", "worker"]


def test_compose_sets_what_the_local_cluster_script_sets() -> None:
    """docker/ and scripts/local_cluster.py run the same distributed mode: the same
    executor, broker, result backend, metadata database and shared politeness."""
    spec = importlib.util.spec_from_file_location("local_cluster", SCRIPTS / "local_cluster.py")
    assert spec and spec.loader
    local_cluster = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local_cluster)
    local = local_cluster.airflow_env()
    shared = [
        name
        for name in local
        if name.startswith(("AIRFLOW__CELERY__", "AIRFLOW__DATABASE__")) or "REDIS" in name
    ]
    assert {"AIRFLOW__CELERY__BROKER_URL", "NEWSMON_REDIS_URL"} <= set(shared)
    for service in AIRFLOW_SERVICES:
        environment = COMPOSE["services"][service]["environment"]
        assert set(shared) <= set(environment), service
        assert environment["AIRFLOW__CORE__EXECUTOR"] == local["AIRFLOW__CORE__EXECUTOR"]


def test_elasticsearch_cluster_profile_joins_two_nodes_over_tls() -> None:
    nodes = [COMPOSE["services"][name] for name in ES_NODES]
    assert [node.get("profiles") for node in nodes] == [None, ["es-cluster"], ["es-cluster"]]
    names = [node["environment"]["node.name"] for node in nodes]
    assert names == ES_NODES
    for node in nodes:
        environment = node["environment"]
        assert environment["discovery.seed_hosts"].split(",") == ES_NODES
        assert environment["xpack.security.transport.ssl.enabled"] == "true"
        assert any(volume.startswith("es-snapshots:") for volume in node["volumes"])
    setup = "\n".join(COMPOSE["services"]["es-setup"]["command"])
    assert all(f"--dns {name}" in setup for name in ES_NODES)  # one certificate for all


def test_compose_uses_the_variables_the_docs_promise() -> None:
    promised = set(re.findall(r"NEWSMON_[A-Z_]+", _production_docs()))
    assert {"NEWSMON_ES_URL", "NEWSMON_INDEX_PREFIX", "NEWSMON_CONFIG_DIR"} <= promised
    for name in AIRFLOW_SERVICES:
        assert promised <= set(COMPOSE["services"][name]["environment"]), name
    assert COMPOSE["services"]["airflow-scheduler"]["environment"]["NEWSMON_ES_URL"] == (
        "${NEWSMON_ES_URL:-https://elasticsearch:9200}"
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
