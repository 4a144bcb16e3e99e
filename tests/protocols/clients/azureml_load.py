"""Load deploy/azureml/*.yml with azure-ai-ml's own schema (no account, no network); print what it read.

Run with .venv-clients' python; stdin: {"endpoint": path, "deployment": path}. A YAML the schema
refuses raises here (exit code 1, the schema's message on stderr).
"""

import json
import sys

from azure.ai.ml import load_online_deployment, load_online_endpoint

spec = json.load(sys.stdin)
endpoint = load_online_endpoint(spec["endpoint"])
deployment = load_online_deployment(spec["deployment"])
env = deployment.environment
cfg = env.inference_config
print(
    json.dumps(
        {
            "endpoint": {
                "name": endpoint.name,
                "auth_mode": endpoint.auth_mode,
                "type": type(endpoint).__name__,
            },
            "deployment": {
                "type": type(deployment).__name__,
                "name": deployment.name,
                "endpoint_name": deployment.endpoint_name,
                "image": env.image,
                "model": deployment.model,
                "routes": {
                    kind: {"port": getattr(cfg, kind).port, "path": getattr(cfg, kind).path}
                    for kind in ("liveness_route", "readiness_route", "scoring_route")
                },
                "environment_variables": deployment.environment_variables,
            },
        }
    )
)
