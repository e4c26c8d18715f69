"""The deployment files (Dockerfile, deploy/), checked where no container engine runs.

`make lint` runs hadolint on the Dockerfile, yamllint on deploy/ and the Compose
Specification schema on compose.yaml. These tests check what those cannot: that every
PromQL expression parses and names only the agreed metrics, that the files point at each
other (mounts, ports, rule files, the data source), and that the service's own settings in
compose.yaml are ones it accepts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from service.config import Settings
from service.workers import offset_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# The metrics the rules and the dashboard use, as agreed with the metrics work: compare
# them with the README's metrics table when both have landed.
AGREED_METRICS = {
    "grpc_server_handled_total",
    "grpc_server_handling_seconds",
    "aftersale_transitions_total",
    "aftersale_refusals_total",
    "aftersale_timers_due",
    "aftersale_timers_oldest_overdue_seconds",
    "aftersale_timers_fired_total",
    "aftersale_redis_reachable",
    "aftersale_subscription_dead_letters",
    "aftersale_refunds_unanswered",
    "aftersale_retention_waiting_for_archive",
}
HISTOGRAMS = {"grpc_server_handling_seconds"}
KNOWN_SERIES = (
    AGREED_METRICS
    | {f"{name}_{suffix}" for name in HISTOGRAMS for suffix in ("bucket", "sum", "count")}
    | {"up"}  # Prometheus's own, per target
)
# Settings compose.yaml sets that land with other work (not yet in service.options).
PENDING_SETTINGS: set[str] = set()


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def series_in(expr: str) -> set[str]:
    """The metric names an expression selects; a parse error fails the test."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(DEPLOY / "compose.yaml")
    return document


@pytest.fixture(scope="module")
def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (DEPLOY / "grafana" / "dashboards" / "aftersale.json").read_text()
    )
    return document


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_runs_the_service_as_a_non_root_user_with_the_health_command() -> None:
    instructions = dockerfile_instructions()
    final_stage = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    settings = dict(final_stage)

    assert re.fullmatch(r"python:3\.11-slim\S*", settings["FROM"])
    user = settings["USER"].split(":")
    assert all(part.isdigit() and int(part) > 0 for part in user)
    assert settings["HEALTHCHECK"].endswith('CMD ["python", "-m", "service", "health"]')
    assert json.loads(settings["ENTRYPOINT"]) == ["python", "-m", "service"]
    assert json.loads(settings["CMD"]) == ["serve"]
    assert settings["STOPSIGNAL"] == "SIGTERM"


def test_compose_runs_two_replicas_on_redis_with_an_append_only_file(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    redis_command = services["redis"]["command"]
    aftersale = services["aftersale"]

    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert aftersale["deploy"]["replicas"] == 2
    assert aftersale["depends_on"]["redis"]["condition"] == "service_healthy"
    assert aftersale["environment"]["REDIS_URL"].startswith("redis://redis:")
    grace_s = int(aftersale["stop_grace_period"].removesuffix("s"))
    assert grace_s > Settings().worker_stop_timeout_s  # workers drain before a SIGKILL


def test_the_service_accepts_the_settings_compose_gives_it(compose: dict[str, Any]) -> None:
    environment = compose["services"]["aftersale"]["environment"]
    known = {k: str(v) for k, v in environment.items() if k not in PENDING_SETTINGS}

    settings = Settings.from_env(known)

    assert settings.workers == 2
    assert settings.redis_url == environment["REDIS_URL"]


def test_every_file_compose_mounts_exists(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), source
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()


def test_prometheus_scrapes_every_worker_and_loads_the_alert_rules(
    compose: dict[str, Any],
) -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    mounts = compose["services"]["prometheus"]["volumes"]
    workers = int(compose["services"]["aftersale"]["environment"]["AFTERSALE_WORKERS"])
    metrics = compose["services"]["aftersale"]["environment"]["AFTERSALE_METRICS_LISTEN"]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "aftersale"]

    ports = sorted(entry["port"] for entry in job["dns_sd_configs"])
    assert all(entry["names"] == ["aftersale"] for entry in job["dns_sd_configs"])
    assert ports == [int(offset_port(metrics, i).rpartition(":")[2]) for i in range(workers)]
    mounted = {m.split(":")[1]: m.split(":")[0] for m in mounts if m.startswith(".")}
    for rule_file in config["rule_files"]:
        assert rule_file in mounted
        assert mounted[rule_file] == "./prometheus/alerts.yml"


def test_every_alert_parses_and_uses_only_agreed_metrics(
    alert_rules: list[dict[str, Any]],
) -> None:
    for rule in alert_rules:
        assert series_in(rule["expr"]) <= KNOWN_SERIES, rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_the_alerts_cover_redis_timers_dead_letters_and_unanswered_refunds(
    alert_rules: list[dict[str, Any]],
) -> None:
    watched = {rule["alert"]: series_in(rule["expr"]) for rule in alert_rules}

    assert "aftersale_redis_reachable" in watched["AftersaleRedisDown"]
    assert "aftersale_timers_oldest_overdue_seconds" in watched["AftersaleTimersOverdue"]
    assert "aftersale_subscription_dead_letters" in watched["AftersaleDeadLetters"]
    assert "aftersale_refunds_unanswered" in watched["AftersaleRefundsUnanswered"]
    assert (
        "aftersale_retention_waiting_for_archive"
        in watched["AftersaleFinishedRequestsWaitForArchive"]
    )


def test_every_dashboard_query_parses_and_uses_only_agreed_metrics(
    dashboard: dict[str, Any],
) -> None:
    used: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "5m")  # a Grafana variable
            used |= series_in(expr)

    assert used <= KNOWN_SERIES
    assert {name.removesuffix("_bucket") for name in used} >= AGREED_METRICS  # all shown


def test_the_dashboard_panels_have_unique_ids_and_do_not_overlap(
    dashboard: dict[str, Any],
) -> None:
    panels = dashboard["panels"]
    cells: dict[tuple[int, int], int] = {}
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["id"]

    assert len({panel["id"] for panel in panels}) == len(panels)


def test_the_dashboard_uses_the_provisioned_prometheus(dashboard: dict[str, Any]) -> None:
    provisioned = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = provisioned["datasources"]
    (variable,) = dashboard["templating"]["list"]
    providers = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "aftersale.yml")

    assert source["url"] == "http://prometheus:9090"
    assert variable["current"]["value"] == source["uid"]
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
