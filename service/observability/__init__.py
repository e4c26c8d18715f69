"""Seeing the service run: Prometheus metrics on their own port, structured logs with one
access line per RPC, OpenTelemetry traces (off unless the ``OTEL_*`` variables ask).

==================  ========================================================================
``metrics``         every metric's definition and the label folding that keeps label sets
                    bounded
``calls``           the record of the RPC being served, filled in by the interceptors
``interceptor``     the observing interceptor: RPC metrics, refusals, the access line
``endpoint``        the HTTP endpoint and the gauges read at scrape time (timers, pool)
``redis_commands``  Redis round-trip latency and errors of the service's client
``logs``            the JSON and key=value formatters, the RPC and trace context on each line
``tracing``         the tracer provider from ``OTEL_*``, the kept gRPC and Redis instrumentation
==================  ========================================================================

``service.bootstrap`` wires them; the README lists every metric.
"""
