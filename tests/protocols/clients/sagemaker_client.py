"""boto3's sagemaker-runtime client, pointed at a local shapserve (endpoint_url, dummy credentials).

Run with .venv-clients' python; stdin: {"url", "endpoint", "body", "content_type", "accept",
"explanations" (optional)}; prints {"content_type", "body"} of invoke_endpoint's answer.
"""

import json
import sys

import boto3
from botocore.config import Config

spec = json.load(sys.stdin)
client = boto3.client(
    "sagemaker-runtime",
    endpoint_url=spec["url"],
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
    config=Config(retries={"max_attempts": 1}),
)
kwargs = {
    "EndpointName": spec["endpoint"],
    "Body": spec["body"].encode(),
    "ContentType": spec["content_type"],
    "Accept": spec["accept"],
}
if spec.get("explanations"):
    kwargs["EnableExplanations"] = spec["explanations"]
answer = client.invoke_endpoint(**kwargs)
print(json.dumps({"content_type": answer["ContentType"], "body": answer["Body"].read().decode()}))
