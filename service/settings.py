"""Runtime settings, read once at start-up from environment variables prefixed ``SHAPSERVE_``.

The only place defaults live: the service, the guard and the scoring core take a ``Settings``.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from scorers.eval_sample import SAMPLE_ROWS
from scorers.monitoring.drift import ATTRIBUTION_THRESHOLD, INPUT_THRESHOLD, MIN_ROWS, NDCG_THRESHOLD


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHAPSERVE_", extra="ignore")

    model: str = Field(
        "shapserve-demo:latest",
        description="BentoML model tag to serve when no Bento argument 'model' is given (development serving).",
    )
    max_rows: int = Field(500, ge=1, description="Most rows one scoring request may carry.")
    max_body_bytes: int = Field(
        4_000_000, ge=1024, description="Largest request body accepted, checked before the body is parsed."
    )
    max_inflight: int = Field(
        8,
        ge=1,
        description="Scoring requests admitted at once per worker; more are shed with 429 + Retry-After.",
    )
    max_error_seconds: float = Field(
        5.0, gt=0, description="Time an /explain request's max_error refinement may spend on its rows."
    )
    request_timeout: float = Field(
        30.0, gt=0, description="Time budget of one request in seconds (504 with our error shape beyond)."
    )
    inline_ms: float = Field(
        20.0,
        ge=0,
        description="A lone scoring request predicted to take less than this many ms (its rows times the "
        "route's measured handler time per row, and under a tenth of its time budget) is computed on the "
        "event loop instead of a handler thread (service/inline.py). 0: never.",
    )
    drain_seconds: float = Field(
        0.0,
        ge=0,
        description="Seconds a worker keeps serving after SIGTERM with /readyz already 503, so that a "
        "balancer polling readiness drops it before it stops accepting (service/drain.py); then the "
        "in-flight requests finish within request_timeout. 0: stop accepting at once.",
    )
    # -- fair admission and explain jobs (docs/api.md "POST /explain_jobs", docs/reliability.md) -------
    max_inflight_rows: int = Field(
        1000,
        ge=1,
        description="Rows of scoring requests in flight at once per worker; a request that would exceed "
        "it is shed with 429 + Retry-After (one over it alone runs when nothing else is in flight).",
    )
    blas_threads: int = Field(
        1,
        ge=0,
        description="BLAS/OpenMP threads per worker process (0: the libraries' default). One thread is "
        "faster for small requests, and gives the bits that jobs and explain-batch give.",
    )
    malloc_keep_bytes: int = Field(
        64 << 20,
        ge=0,
        description="Freed memory a worker process keeps for its next request instead of handing it back "
        "to the kernel (glibc; 0: the allocator's defaults). Without it a 1-row explanation faults its "
        "temporaries' pages in again on every request (scorers.allocator).",
    )
    max_job_rows: int = Field(100_000, ge=1, description="Most rows one explain job may carry.")
    max_job_body_bytes: int = Field(
        100_000_000, ge=1024, description="Largest POST /explain_jobs body, checked before it is parsed."
    )
    job_submit_timeout: float = Field(
        120.0,
        gt=0,
        description="Time budget of POST /explain_jobs in seconds: reading and validating up to "
        "max_job_rows rows, and the worker's first job process starting (a few seconds each on 2 cores).",
    )
    job_concurrency: int = Field(
        1,
        ge=1,
        description="Explain jobs computed at once per worker, each in its own process (lower CPU priority, "
        "one BLAS thread) beside the request path.",
    )
    max_queued_jobs: int = Field(
        8, ge=1, description="Jobs waiting per worker; a submission beyond is shed with 429 + Retry-After."
    )
    job_ttl: float = Field(
        3600.0, gt=0, description="Seconds a finished job's status and result are kept, then forgotten."
    )
    job_stored_rows: int = Field(
        1_000_000,
        ge=1,
        description="Result rows kept for finished jobs (on disk); beyond it the oldest are forgotten first.",
    )
    jobs_dir: str | None = Field(
        None,
        description="Directory the workers of one server share for job statuses and results; default "
        "$BENTOML_HOME/shapserve-jobs (else ~/.shapserve/jobs), one subdirectory per model version.",
    )
    jobs_url: str | None = Field(
        None,
        description="PostgreSQL URL of the explain jobs (queue, leases, results), shared by every server; "
        "default: SHAPSERVE_STORE_URL when that is PostgreSQL, else the jobs directory (one host).",
    )
    job_lease: float = Field(
        30.0,
        ge=1.0,
        description="Seconds without a heartbeat after which another worker on any server takes over a "
        "running job from its last committed slice (jobs on PostgreSQL).",
    )
    job_slice_rows: int = Field(
        1024,
        ge=4,
        le=1024,
        description="Most rows in one slice of a job; a slice is the unit committed and taken over.",
    )
    jobs_require_shared: bool = Field(
        False,
        description="Refuse explain jobs (503) unless they are on PostgreSQL: set where several replicas "
        "may run, so that no accepted job lives on one pod.",
    )
    bentoml_home: str | None = Field(
        None,
        validation_alias=AliasChoices("BENTOML_HOME", "bentoml_home"),
        description="BentoML's home directory (where jobs_dir defaults to).",
    )
    workers: str = Field("1", description="BentoML worker processes: a number or 'cpu_count'.")
    trust_pickle: bool = Field(
        False, description="Load a pickled (joblib) model. A pickle is code: only for artifacts you trust."
    )
    model_sha256: str | None = Field(
        None, description="Expected sha256 of a pickled model file, instead of trust."
    )
    api_key: SecretStr | None = Field(
        None, description="Bearer key required on every route but health, metrics and /docs.json when set."
    )
    api_key_file: str | None = Field(
        None, description="File holding bearer keys, one per line (a mounted secret); combined with api_key."
    )
    warmup: bool = Field(True, description="Explain one stored row before reporting ready.")
    max_upload_body_bytes: int = Field(
        200_000_000,
        ge=1024,
        description="Largest POST /explanations body (JSON); the store also limits the stored arrays "
        "(SHAPSERVE_STORE_MAX_UPLOAD_BYTES).",
    )

    dashboard_shap_rows: int = Field(
        SAMPLE_ROWS,
        ge=10,
        description="Rows of the dashboard's data explained for its SHAP views (a fixed random sample, "
        "explained once per worker in the background; the page says how many are done). The evaluation "
        "rows' first 2000 are explained at packaging (scorers.eval_sample).",
    )
    dashboard_preload: bool = Field(
        False,
        description="Load the dashboard's data (predictions of the evaluation rows, then the SHAP sample) "
        "when the worker starts, in the background, instead of on the first dashboard request.",
    )
    # -- Vertex AI's custom-container variables (docs/deploy-vertex.md): routes served besides the
    # defaults /v1/endpoints/{endpoint}/deployedModels/{deployed_model}[:predict|:explain]
    vertex_health_route: str | None = Field(
        None,
        validation_alias=AliasChoices("AIP_HEALTH_ROUTE", "SHAPSERVE_VERTEX_HEALTH_ROUTE"),
        pattern=r"^/",
        description="Vertex AI's health route (AIP_HEALTH_ROUTE), served besides its default path.",
    )
    vertex_predict_route: str | None = Field(
        None,
        validation_alias=AliasChoices("AIP_PREDICT_ROUTE", "SHAPSERVE_VERTEX_PREDICT_ROUTE"),
        pattern=r"^/",
        description="Vertex AI's predict route (AIP_PREDICT_ROUTE), served besides its default path; its "
        "explain route is the same path with ':explain' in place of a final ':predict' (else appended).",
    )

    # -- the drift monitor (docs/monitoring.md; thresholds measured in tests/scorers/monitoring/test_monitoring.py) --
    monitoring: bool = Field(True, description="Count explained rows for GET /monitoring and /metrics.")
    monitoring_dir: str | None = Field(
        None,
        description="Directory the workers of one server share for their monitoring windows; default "
        "$BENTOML_HOME/shapserve-monitoring (else ~/.shapserve/shapserve-monitoring), per model version.",
    )
    monitoring_window_rows: int = Field(500, ge=1, description="Rows of the sliding row window per worker.")
    monitoring_block_rows: int = Field(
        50, ge=1, description="Rows per block of the row window (it slides by one block)."
    )
    monitoring_min_rows: int = Field(MIN_ROWS, ge=1, description="Rows a window needs before it alerts.")
    monitoring_input_threshold: float = Field(
        INPUT_THRESHOLD, gt=0, description="Input drift alert: the largest per-feature PSI above it."
    )
    monitoring_attribution_threshold: float = Field(
        ATTRIBUTION_THRESHOLD,
        gt=0,
        description="Attribution drift alert: the largest per-feature PSI above it.",
    )
    monitoring_ndcg_threshold: float = Field(
        NDCG_THRESHOLD, gt=0, le=1, description="Attribution drift alert: the ranking's nDCG below it."
    )
    monitoring_flush_seconds: float = Field(
        1.0, gt=0, description="How often a worker writes its windows for its siblings and its gauges."
    )

    def api_keys(self) -> tuple[str, ...]:
        keys = [self.api_key.get_secret_value()] if self.api_key else []
        if self.api_key_file:
            with open(self.api_key_file) as fh:
                keys += [line.strip() for line in fh if line.strip()]
        return tuple(keys)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # values come from the environment
