"""Observability without I/O: bounded metric labels, the log formats, the settings, and when
tracing turns on."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from prometheus_client.metrics import MetricWrapperBase

from service.config import ConfigError, Settings
from service.observability import metrics, subscriptions, undecodable
from service.observability.calls import CallRecord, begin_call, end_call
from service.observability.logs import make_handler
from service.observability.tracing import TracingConfigError, tracing_from_env

# Every label the service puts on a metric, and the closed set its values come from.
BOUNDED_LABELS = {
    "grpc_service": "the two service names (AfterSaleService, SubscriptionService)",
    "grpc_method": "the service's RPC names (method_label)",
    "grpc_type": "unary, server_stream or bidi_stream (metrics.RPC_KINDS)",
    "grpc_code": "grpc.StatusCode names",
    "reason": "upper-snake ErrorInfo reasons (reason_label)",
    "action": "the domain's Action values",
    "to_state": "the domain's State values",
    "command": "Redis command names (command_label)",
    "error": "exception class names (error_label)",
    "read": "what the archive was read for (service.archive.reads.READS)",
    "outcome": "ok or unavailable",
    "reader": "the readers that skip undecodable entries (undecodable.READERS)",
    "subscription": "subscription names: ops create them (config or the ops RPC), no caller",
    "why": "why a subscription lost events: hard_cap, dead_letter_cap",
}
ID_LIKE = re.compile(r"(^|_)(ids?|key|token|buyer|shop|order|request|sku|user|actor|phone)($|_)")


def service_metrics() -> list[MetricWrapperBase]:
    modules = (metrics, undecodable, subscriptions)
    return [
        m for module in modules for m in vars(module).values() if isinstance(m, MetricWrapperBase)
    ]


def test_every_metric_label_is_a_bounded_one_and_none_is_an_id() -> None:
    found = service_metrics()

    labels = {name for metric in found for name in metric._labelnames}
    assert len(found) >= 12
    assert labels <= set(BOUNDED_LABELS), labels - set(BOUNDED_LABELS)
    assert not [name for name in labels if ID_LIKE.search(name)]


@pytest.mark.parametrize(
    ("fold", "value", "label"),
    [
        (metrics.method_label, "GetAfterSale", "GetAfterSale"),
        (metrics.method_label, "AS07-0123456789", "OTHER"),
        (metrics.reason_label, "NEGOTIATION_REQUIRED", "NEGOTIATION_REQUIRED"),
        (metrics.reason_label, "AS07-0123456789", "OTHER"),
        (metrics.reason_label, "X" * 65, "OTHER"),
        (metrics.command_label, "evalsha", "EVALSHA"),
        (metrics.command_label, b"HGETALL", "HGETALL"),
        (metrics.command_label, "req:{as:07}:AS07-x", "OTHER"),
    ],
)
def test_label_values_fold_anything_unexpected_into_other(
    fold: object, value: object, label: str
) -> None:
    assert callable(fold)

    assert fold(value) == label


def test_error_labels_are_exception_class_names() -> None:
    assert metrics.error_label(ConnectionError("AS07-x at 10.0.0.1")) == "ConnectionError"


def logged(log_format: str, message: str, *args: object, **fields: object) -> str:
    out = io.StringIO()
    logger = logging.getLogger("tests.observability")
    handler = make_handler(log_format, out)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(message, *args, extra={"fields": fields} if fields else None)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return out.getvalue()


def test_a_json_line_has_the_call_context_and_the_fields() -> None:
    token = begin_call(CallRecord("GetAfterSale", request_id="AS07-abc"))
    try:
        line = json.loads(logged("json", "read %s", "it", latency_ms=1.5))
    finally:
        end_call(token)

    assert (
        line
        | {
            "level": "WARNING",
            "logger": "tests.observability",
            "msg": "read it",
            "rpc": "GetAfterSale",
            "request_id": "AS07-abc",
            "latency_ms": 1.5,
        }
        == line
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(line["ts"]))
    assert "trace_id" not in line  # no span: tracing is off


def test_a_text_line_is_key_value_and_quotes_what_needs_it() -> None:
    line = logged("text", 'said "hi"', code="OK", reason="", note="two words")

    assert 'msg="said \\"hi\\""' in line
    assert " code=OK" in line and ' note="two words"' in line
    assert "reason=" not in line  # empty fields are left out


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_bearer_token_never_reaches_a_log_line(log_format: str) -> None:
    line = logged(log_format, "metadata %s", "authorization: Bearer s3cr3t-t0ken")

    assert "s3cr3t-t0ken" not in line
    assert "[redacted]" in line


def test_the_metrics_and_log_settings_read_from_the_environment() -> None:
    defaults = Settings.from_env({})
    set_ = Settings.from_env(
        {"AFTERSALE_METRICS_LISTEN": "0.0.0.0:9100", "AFTERSALE_LOG_FORMAT": "TEXT"}
    )

    assert (defaults.metrics_listen, defaults.log_format) == ("127.0.0.1:9464", "auto")
    assert (set_.metrics_listen, set_.log_format) == ("0.0.0.0:9100", "text")


@pytest.mark.parametrize("off", ["", "  ", "off", "OFF"])
def test_an_empty_metrics_address_or_off_turns_the_endpoint_off(off: str) -> None:
    assert Settings.from_env({"AFTERSALE_METRICS_LISTEN": off}).metrics_listen == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [("AFTERSALE_METRICS_LISTEN", "9464"), ("AFTERSALE_LOG_FORMAT", "xml")],
)
def test_a_bad_metrics_address_or_log_format_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})

    assert caught.value.name == name


def test_tracing_is_off_without_otel_variables() -> None:
    assert tracing_from_env({}) is None
    assert tracing_from_env({"OTEL_TRACES_EXPORTER": "none"}) is None
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}
    assert tracing_from_env({**endpoint, "OTEL_SDK_DISABLED": "true"}) is None


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces",
         "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {"OTEL_TRACES_EXPORTER": "console"},
    ],
)  # fmt: skip
def test_tracing_turns_on_with_an_otlp_endpoint_or_an_exporter(env: dict[str, str]) -> None:
    tracing = tracing_from_env(env)

    assert tracing is not None
    resource = tracing.provider.resource.attributes
    tracing.shutdown()
    assert resource["service.name"] == "aftersale"


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
    ],
)
def test_an_exporter_the_service_cannot_use_is_refused_by_name(env: dict[str, str]) -> None:
    with pytest.raises(TracingConfigError, match="OTEL_"):
        tracing_from_env(env)
