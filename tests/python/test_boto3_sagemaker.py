"""boto3's sagemaker-metrics client against specmill, read back through Lens and ClearML."""

import base64
import json
import os
import urllib.request
from datetime import datetime, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture()
def client(base_url):
    return boto3.client(
        "sagemaker-metrics",
        endpoint_url=base_url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def get_json(url):
    with urllib.request.urlopen(url) as r:
        return json.loads(r.read())


def post_json(url, body):
    """A ClearML call with the key/secret the server is configured with (HTTP Basic)."""
    auth = base64.b64encode(("%s:%s" % (os.environ["SPECMILL_CLEARML_KEY"], os.environ["SPECMILL_CLEARML_SECRET"])).encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": "Basic " + auth}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def test_batch_put_metrics_is_readable_through_lens_and_clearml(client, base_url):
    t0 = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    resp = client.batch_put_metrics(
        TrialComponentName="boto-tc",
        MetricData=[
            {"MetricName": "loss", "Timestamp": t0, "Step": 0, "Value": 0.5},
            {"MetricName": "loss", "Timestamp": t0.replace(second=6), "Step": 1, "Value": 0.25},
            {"MetricName": "loss", "Timestamp": t0.replace(second=7), "Step": 2, "Value": float("nan")},
            {"MetricName": "acc", "Timestamp": 1704164648, "Value": 1e-300},
        ],
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RequestId"]
    assert not resp.get("Errors")

    lens = get_json(f"{base_url}/v1/workloads/boto-tc/metrics/data?metrics=loss")
    assert [(p["iteration"], p["value"]) for p in lens["data"]] == [(0, 0.5), (1, 0.25)]
    assert lens["data"][0]["timestamp"] == 1704164645678  # ms, from boto3's fractional epoch seconds
    assert all(p["data_source"] == "sagemaker" for p in lens["data"])

    clearml = post_json(f"{base_url}/events.get_task_events", {"task": "boto-tc", "order": "asc"})
    assert clearml["meta"]["result_code"] == 200
    events = clearml["data"]["events"]
    assert {e["metric"] for e in events} == {"loss", "acc"}
    acc = [e for e in events if e["metric"] == "acc"][0]
    assert acc["value"] == 1e-300


def test_request_level_violation_is_a_validation_exception(client):
    items = [{"MetricName": "m", "Timestamp": 1, "Step": i, "Value": 1.0} for i in range(11)]
    with pytest.raises(ClientError) as e:
        client.batch_put_metrics(TrialComponentName="boto-tc-2", MetricData=items)
    err = e.value.response
    assert err["Error"]["Code"] == "ValidationException"
    assert "MetricData" in err["Error"]["Message"]
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unimplemented_operation_answers_not_implemented(client):
    with pytest.raises(ClientError) as e:
        client.batch_get_metrics(
            MetricQueries=[
                {
                    "MetricName": "loss",
                    "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/boto-tc",
                    "MetricStat": "Avg",
                    "Period": "IterationNumber",
                    "XAxisType": "IterationNumber",
                }
            ]
        )
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
