# shapserve: the one image that serves a packaged Bento (model + scoring explainer + service).
#
# The build context is a STAGED BENTO, not this repository (see deploy/README.md):
#   make bento && make image                                   # = the three steps below, with podman
#   deploy/scripts/stage-bento.sh shapserve:latest build/bento  # Bento + its models + .dockerignore
#   podman build --format docker -t shapserve:local -f Dockerfile build/bento
#   docker build -t shapserve:local -f Dockerfile build/bento
# (`--format docker` keeps the HEALTHCHECK; podman's default OCI format drops it.)
#
# Relation to `bentoml containerize`: that command generates its own Dockerfile from bento.yaml
# (env/docker/) and needs a Docker/BuildKit engine. This file replaces it with a reviewed two-stage
# build: locked requirements only, no compiler or git in the final stage, non-root, a HEALTHCHECK on
# /readyz and a worker count taken from the CPUs the container may use. Both serve the same Bento.
ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------------
# builder: a virtualenv with the Bento's locked requirements
# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
# Optional build-only apt packages (e.g. "build-essential" if a pinned dependency ever lacks a wheel
# for this platform). They stay in this stage: the final stage copies only /opt/venv.
ARG BUILD_PACKAGES=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN if [ -n "${BUILD_PACKAGES}" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends ${BUILD_PACKAGES} \
      && rm -rf /var/lib/apt/lists/*; \
    fi
# bento.yaml first: building from anything but a staged Bento fails here, with a clear message
COPY bento.yaml /tmp/bento/bento.yaml
COPY env/python/ /tmp/bento/env/python/
# Prefer BentoML's lock file when the Bento has one, else its (pinned) requirements.txt; then any
# wheels the Bento packs. bentoml itself is pinned in both files.
WORKDIR /tmp/bento/env/python
RUN python -m venv /opt/venv \
    && if [ -f requirements.lock.txt ]; then req=requirements.lock.txt; else req=requirements.txt; fi \
    && echo "shapserve: installing ${req}" \
    && /opt/venv/bin/pip install --no-cache-dir -r "${req}" \
    && shopt -s nullglob && wheels=(wheels/*.whl) \
    && if [ ${#wheels[@]} -gt 0 ]; then /opt/venv/bin/pip install --no-cache-dir "${wheels[@]}"; fi \
    && /opt/venv/bin/python -c "import bentoml, sys; print('bentoml', bentoml.__version__, sys.version)"
# LightGBM's wheel links against the system's libgomp.so.1, which slim images lack. scikit-learn's
# wheel carries the same GNU OpenMP runtime: it is offered under that name from inside the venv
# (LD_LIBRARY_PATH in the final stage), so the final stage needs no apt install. (Checked when the
# Bento's model needs LightGBM: only then is it installed.)
RUN mkdir -p /opt/venv/lib/native \
    && for lib in /opt/venv/lib/python3.*/site-packages/scikit_learn.libs/libgomp-*.so*; do \
         ln -s "${lib}" /opt/venv/lib/native/libgomp.so.1; \
       done \
    && if /opt/venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('lightgbm') is None)"; then \
         LD_LIBRARY_PATH=/opt/venv/lib/native /opt/venv/bin/python -c "import lightgbm"; \
       fi
# Nothing installs packages at run time: pip and setuptools leave the venv (the final stage copies it).
RUN /opt/venv/bin/python -m pip uninstall --yes --quiet pip setuptools wheel \
    && rm -f /opt/venv/bin/pip* \
    && if /opt/venv/bin/python -c "import pip" 2>/dev/null; then echo "pip is still in the venv" >&2; exit 1; fi
# The libraries' own test suites are never run here: numpy's, scipy's, pandas' and scikit-learn's are
# 110 MB of the venv (deploy/README.md, "Image sizes").
RUN find /opt/venv/lib/python3.*/site-packages/{numpy,scipy,pandas,sklearn} -type d -name tests -prune \
         -exec rm -rf {} + \
    && /opt/venv/bin/python -c "import numpy, scipy.sparse, pandas, sklearn.svm"

# ---------------------------------------------------------------------------------------------------
# final stage: same slim base, the venv and the Bento, nothing else
# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="shapserve" \
      org.opencontainers.image.description="Predictions with SHAP explanations, one BentoML Bento" \
      org.opencontainers.image.licenses="Apache-2.0"
ARG SHAPSERVE_UID=10001
# BENTOML_HOME and the caches live under /tmp: with a read-only root filesystem (Kubernetes),
# only /tmp needs a writable volume. The Bento itself stays root-owned and read-only.
ENV BENTO_PATH=/opt/bento \
    BENTOML_HOME=/tmp/bentoml \
    BENTOML_DO_NOT_TRACK=true \
    BENTOML_CONTAINERIZED=true \
    NUMBA_CACHE_DIR=/tmp/numba \
    MPLCONFIGDIR=/tmp/matplotlib \
    PATH=/opt/venv/bin:${PATH} \
    LD_LIBRARY_PATH=/opt/venv/lib/native \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8 \
    SHAPSERVE_PORT=3000 \
    SHAPSERVE_WORKERS=cpu_count
RUN groupadd --system --gid "${SHAPSERVE_UID}" shapserve \
    && useradd --system --uid "${SHAPSERVE_UID}" --gid shapserve --home-dir /home/shapserve \
       --create-home --shell /usr/sbin/nologin shapserve
COPY --from=builder /opt/venv /opt/venv
COPY . /opt/bento/
# (BentoML writes model directories with mode 0700: the RUN below makes the Bento world-readable.)
# The entrypoint (written here so that the build context stays a plain Bento):
#   SHAPSERVE_WORKERS  "cpu_count" (default: one worker per CPU the container may use, cgroup quota
#                      included, so a 1-CPU limit gives 1 worker) or a positive integer;
#   SHAPSERVE_PORT     port inside the container (default 3000); SHAPSERVE_HOST (default 0.0.0.0).
#   `serve`            SageMaker starts the image with this argument: port 8080 (SAGEMAKER_BIND_TO_PORT
#                      when set); SAGEMAKER_MODEL_SERVER_WORKERS and SAGEMAKER_MODEL_SERVER_TIMEOUT, when
#                      set, take the place of SHAPSERVE_WORKERS and SHAPSERVE_REQUEST_TIMEOUT.
#   AIP_HTTP_PORT      Vertex AI's port, when set (its AIP_*_ROUTE variables: service/settings.py).
# The port chosen is written to $BENTOML_HOME/port for the HEALTHCHECK.
# The worker count reaches BentoML as BENTOML_CONFIG_OVERRIDES for the Bento's entry service,
# unless the caller already set BENTOML_CONFIG_OVERRIDES. Extra arguments go to `bentoml serve`.
# (The script's own $VARIABLES are single-quoted on purpose: they expand when it runs.)
# hadolint ignore=SC2016
RUN svc="$(python -c 'import yaml; d = yaml.safe_load(open("/opt/bento/bento.yaml")); print(d.get("entry_service") or d["name"])')" \
    && printf '%s\n' \
      '#!/bin/sh' \
      'set -eu' \
      "svc=\"${svc}\"" \
      'port="${SHAPSERVE_PORT:-3000}"' \
      'if [ "${1:-}" = serve ]; then shift; port="${SAGEMAKER_BIND_TO_PORT:-8080}"; fi' \
      'if [ -n "${AIP_HTTP_PORT:-}" ]; then port="$AIP_HTTP_PORT"; fi' \
      'workers="${SAGEMAKER_MODEL_SERVER_WORKERS:-${SHAPSERVE_WORKERS:-cpu_count}}"' \
      'if [ -n "${SAGEMAKER_MODEL_SERVER_TIMEOUT:-}" ]; then export SHAPSERVE_REQUEST_TIMEOUT="$SAGEMAKER_MODEL_SERVER_TIMEOUT"; fi' \
      'case "$workers" in' \
      '  cpu_count|auto|"") workers="\"cpu_count\"" ;;' \
      '  *[!0-9]*|0|0*) echo "shapserve: SHAPSERVE_WORKERS must be cpu_count or a positive integer, got: $workers" >&2; exit 64 ;;' \
      'esac' \
      'if [ -z "${BENTOML_CONFIG_OVERRIDES:-}" ]; then' \
      '  export BENTOML_CONFIG_OVERRIDES="{\"services\": {\"$svc\": {\"workers\": $workers}}}"' \
      'fi' \
      'mkdir -p "$BENTOML_HOME" && echo "$port" > "$BENTOML_HOME/port"' \
      'exec bentoml serve "$BENTO_PATH" --host "${SHAPSERVE_HOST:-0.0.0.0}" --port "$port" "$@"' \
      > /usr/local/bin/shapserve-entrypoint \
    && chmod 0755 /usr/local/bin/shapserve-entrypoint \
    && python -m compileall -q /opt/bento/src \
    && chmod -R a+rX,go-w /opt/bento
USER ${SHAPSERVE_UID}:${SHAPSERVE_UID}
WORKDIR /opt/bento
EXPOSE 3000 8080
# JSON form (no shell); ready = model loaded and warmed up. The port is the one the entrypoint chose.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = open(os.environ['BENTOML_HOME'] + '/port').read().strip(); urllib.request.urlopen('http://127.0.0.1:%s/readyz' % port, timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/shapserve-entrypoint"]
CMD []
