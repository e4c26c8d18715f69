# The service image: `docker build -t aftersale .` (deploy/compose.yaml builds it too).
# Two stages: the build stage installs the package into a venv, the runtime stage copies only
# that venv onto a fresh slim Python and runs it as an unprivileged user.
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the package is built from (see .dockerignore): no tests, no benchmarks.
COPY pyproject.toml README.md ./
COPY statemachine/ statemachine/
COPY service/ service/
RUN python -m venv /opt/aftersale \
    && /opt/aftersale/bin/pip install --no-cache-dir .


FROM python:3.11-slim-bookworm

# A fixed uid/gid, so volumes and secrets can be given to it by number.
RUN groupadd --system --gid 10001 aftersale \
    && useradd --system --no-log-init --uid 10001 --gid aftersale \
        --home-dir /var/lib/aftersale --create-home --shell /usr/sbin/nologin aftersale

COPY --from=build /opt/aftersale /opt/aftersale

# AFTERSALE_DATA_DIR holds the embedded Redis (used only without REDIS_URL) and the default
# tokens file; mount a volume there, or set REDIS_URL and AFTERSALE_TOKENS_FILE.
ENV PATH=/opt/aftersale/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AFTERSALE_LISTEN=0.0.0.0:50051 \
    AFTERSALE_DATA_DIR=/var/lib/aftersale

# Numeric, so a runtime that enforces "run as non-root" can check it without /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/aftersale
VOLUME ["/var/lib/aftersale"]
# 50051: gRPC. 9100 (+ worker index with --workers N): Prometheus metrics once
# AFTERSALE_METRICS_LISTEN is set (README "Running in production").
EXPOSE 50051 9100

# Not serving (Redis unreachable, draining, not started): unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "service", "health"]

# SIGTERM drains (App.stop): give the container more than AFTERSALE_WORKER_STOP_TIMEOUT_S
# (30 s) to stop, e.g. `docker stop -t 40` or compose `stop_grace_period: 40s`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "service"]
CMD ["serve"]
