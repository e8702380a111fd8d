"""The generated Python client (generated/python/specmill_client.py) against the running server:
a metric written through the SageMaker operation (signed with SigV4 by the client) is read
back through SageMaker, ClearML (a versioned method, after a token login), Lens and Comet;
each protocol's refusals arrive as its typed exception."""

import math
import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generated" / "python"))

from specmill_client import (  # noqa: E402
    ApiError,
    AwsError,
    BatchGetMetricsResponse,
    BatchPutMetricsRequest,
    BatchPutMetricsResponse,
    Client,
    ClearMLError,
    GetTaskLogV2_9Request,
    MetricQuery,
    MetricsDataResponse,
    RawMetricData,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/"
# 2024-01-02T03:04:05.5Z
T0 = 1704164645.5


def make_client(base_url, **overrides):
    creds = dict(
        clearml_key=os.environ["SPECMILL_CLEARML_KEY"],
        clearml_secret=os.environ["SPECMILL_CLEARML_SECRET"],
        aws_access_key_id=os.environ["SPECMILL_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["SPECMILL_AWS_SECRET_ACCESS_KEY"],
        comet_api_key=os.environ["SPECMILL_COMET_KEY"],
        lens_token=os.environ["SPECMILL_LENS_TOKEN"],
    )
    creds.update(overrides)
    return Client(base_url, **creds)


@pytest.fixture()
def client(base_url):
    return make_client(base_url)


@pytest.fixture()
def written(client):
    """A trial component with `loss` at steps 0..3 (the last one NaN), written through SageMaker."""
    tc = "pyclient-" + uuid.uuid4().hex[:12]
    values = [0.5, 0.25, 0.125, float("nan")]
    request = BatchPutMetricsRequest(
        trial_component_name=tc,
        metric_data=[RawMetricData(metric_name="loss", timestamp=T0 + step, step=step, value=v) for step, v in enumerate(values)],
    )
    reply = client.sagemaker_metrics.batch_put_metrics(request)
    assert isinstance(reply, BatchPutMetricsResponse)
    assert reply.errors is None, reply
    return tc, values


def test_sagemaker_write_reads_back_through_every_api(client, written):
    tc, values = written

    # SageMaker: keyword arguments build the request; NaN comes back as a float NaN.
    got = client.sagemaker_metrics.batch_get_metrics(
        metric_queries=[MetricQuery(metric_name="loss", resource_arn=ARN + tc, metric_stat="Avg", period="IterationNumber", x_axis_type="IterationNumber")]
    )
    assert isinstance(got, BatchGetMetricsResponse)
    (result,) = got.metric_query_results
    assert result.status == "Complete", result
    assert result.x_axis_values == [0, 1, 2, 3]
    assert result.metric_values[:3] == values[:3]
    assert math.isnan(result.metric_values[3])

    # ClearML: a versioned method, with the token the client got from auth.login.
    events = client.events.get_task_events_v2_1(task=tc, event_type="training_stats_scalar", order="asc")
    assert [(e["metric"], e["iter"]) for e in events.events] == [("loss", 0), ("loss", 1), ("loss", 2), ("loss", 3)]
    assert [e["value"] for e in events.events[:3]] == values[:3]
    latest = client.events.get_task_latest_scalar_values_v2_1(task=tc)
    (metric,) = latest.metrics
    assert metric.name == "loss"

    # Lens: path and query parameters; non-finite values are left out of `data`.
    lens = client.lens.get_workload_metrics_data(uid=tc, metrics="loss")
    assert isinstance(lens, MetricsDataResponse)
    assert [(p.iteration, p.value, p.data_source) for p in lens.data] == [(0, 0.5, "sagemaker"), (1, 0.25, "sagemaker"), (2, 0.125, "sagemaker")]
    assert lens.data[0].timestamp == int(T0 * 1000)

    # Comet (API key): the trial component is an experiment; values travel as text.
    comet = client.comet.get_experiment_metric(experiment_key=tc, metric_name="loss")
    assert [(m.step, m.metric_value) for m in comet.metrics] == [(0, "0.5"), (1, "0.25"), (2, "0.125"), (3, "NaN")]


def test_clearml_login_and_typed_errors(client, base_url):
    token = client.auth.login_v2_1().token
    assert token and token.count(".") == 2  # a JWT

    # A required member left unset is not sent: ClearML's missing-field validation error.
    with pytest.raises(ClearMLError) as e:
        client.events.get_task_log_v2_9(GetTaskLogV2_9Request(task=None))
    assert (e.value.status, e.value.result_code, e.value.result_subcode) == (400, 400, 11)
    assert "task" in e.value.result_msg

    with pytest.raises(ClearMLError) as e:
        make_client(base_url, clearml_secret="wrong").events.get_task_events_v2_1(task="t")
    assert (e.value.status, e.value.result_code, e.value.result_subcode) == (401, 401, 22)


def test_aws_errors(client, base_url):
    with pytest.raises(AwsError) as e:
        client.sagemaker_metrics.batch_put_metrics(
            trial_component_name="MY_TC", metric_data=[RawMetricData(metric_name="loss", timestamp=T0, value=1.0)]
        )
    assert (e.value.status, e.value.code) == (400, "ValidationException")
    assert "TrialComponentName" in e.value.message

    # The server checks the client's signature: a wrong secret or an unknown key is refused.
    wrong = make_client(base_url, aws_secret_access_key="not-the-secret").sagemaker_metrics
    with pytest.raises(AwsError) as e:
        wrong.batch_put_metrics(trial_component_name="pyclient-x", metric_data=[RawMetricData(metric_name="loss", timestamp=T0, value=1.0)])
    assert (e.value.status, e.value.code) == (403, "InvalidSignatureException")
    unknown = make_client(base_url, aws_access_key_id="AKIDUNKNOWN").sagemaker_metrics
    with pytest.raises(AwsError) as e:
        unknown.batch_put_metrics(trial_component_name="pyclient-x", metric_data=[RawMetricData(metric_name="loss", timestamp=T0, value=1.0)])
    assert (e.value.status, e.value.code) == (403, "UnrecognizedClientException")


def test_openapi_errors(client, base_url):
    with pytest.raises(ApiError) as e:
        client.comet.get_experiment_metric(experiment_key="no-such-experiment-" + uuid.uuid4().hex, metric_name="loss")
    assert e.value.status == 404
    assert e.value.body["code"] == 404 and e.value.body["msg"]

    with pytest.raises(ApiError) as e:
        make_client(base_url, comet_api_key="not-a-key").comet.get_workspaces()
    assert e.value.status == 401
    assert e.value.body["sdk_error_code"] == 90212


def test_replies_keep_unknown_members():
    point = RawMetricData.from_dict({"MetricName": "loss", "Timestamp": T0, "Value": "Infinity", "Novel": [1, 2]})
    assert (point.metric_name, point.value, point.step) == ("loss", math.inf, None)
    assert point.extra == {"Novel": [1, 2]}
    # Unset members are left out; wire names, non-finite values as strings, extras kept.
    assert point.to_dict() == {"MetricName": "loss", "Timestamp": T0, "Value": "Infinity", "Novel": [1, 2]}
