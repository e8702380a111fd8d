"""boto3's sagemaker-metrics client against specmill (SigV4-signed with the key pair the server
is configured with): puts, per-item errors, request-level refusals, batch_get_metrics with
known numbers, refused signatures, and retries of a 5xx that never duplicate points."""

import base64
import http.client
import json
import math
import os
import threading
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

ARN = "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/"
# 2024-01-02T03:00:00Z: a multiple of 60, 300 and 3600 seconds.
T = 1704164400


def make_client(url, key=None, secret=None, attempts=1, region="us-east-1", signed=True):
    kwargs = {}
    if not signed:
        kwargs["config"] = Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": attempts})
    else:
        kwargs["config"] = Config(retries={"mode": "standard", "max_attempts": attempts})
    return boto3.client(
        "sagemaker-metrics",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key or os.environ["SPECMILL_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or os.environ["SPECMILL_AWS_SECRET_ACCESS_KEY"],
        **kwargs,
    )


@pytest.fixture()
def client(base_url):
    return make_client(base_url)


def get_json(url):
    """A Lens read with the bearer token the server is configured with."""
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + os.environ["SPECMILL_LENS_TOKEN"]})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def post_json(url, body):
    """A ClearML call with the key/secret the server is configured with (HTTP Basic)."""
    auth = base64.b64encode(("%s:%s" % (os.environ["SPECMILL_CLEARML_KEY"], os.environ["SPECMILL_CLEARML_SECRET"])).encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": "Basic " + auth}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def query(tc, metric, stat, period, axis, **bounds):
    return dict(MetricName=metric, ResourceArn=ARN + tc, MetricStat=stat, Period=period, XAxisType=axis, **bounds)


def one(client, q):
    resp = client.batch_get_metrics(MetricQueries=[q])
    (result,) = resp["MetricQueryResults"]
    return result


def series(result):
    assert result["Status"] == "Complete", result
    return result["XAxisValues"], result["MetricValues"]


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


def test_one_bad_item_is_reported_and_the_rest_stored(client):
    # boto3 checks min lengths itself but sends a name over the model's max of 255
    resp = client.batch_put_metrics(
        TrialComponentName="boto-items",
        MetricData=[
            {"MetricName": "loss", "Timestamp": T, "Step": 0, "Value": 1.0},
            {"MetricName": "x" * 300, "Timestamp": T, "Step": 0, "Value": 2.0},
            {"MetricName": "loss", "Timestamp": T + 1, "Step": 1, "Value": 3.0},
        ],
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Errors"] == [{"Code": "VALIDATION_ERROR", "MetricIndex": 1}]
    assert series(one(client, query("boto-items", "loss", "Last", "IterationNumber", "IterationNumber"))) == ([0, 1], [1.0, 3.0])


@pytest.mark.parametrize(
    "name, items, needle",
    [
        ("boto-tc-11", [{"MetricName": "m", "Timestamp": T, "Step": i, "Value": 1.0} for i in range(11)], "MetricData"),
        ("MY_TC", [{"MetricName": "m", "Timestamp": T, "Value": 1.0}], "TrialComponentName"),
        # matches the model's unanchored pattern at its start; specmill matches it in full
        ("my_TC", [{"MetricName": "m", "Timestamp": T, "Value": 1.0}], "TrialComponentName"),
        ("a" * 121, [{"MetricName": "m", "Timestamp": T, "Value": 1.0}], "TrialComponentName"),
    ],
)
def test_request_level_violation_is_a_validation_exception(client, name, items, needle):
    with pytest.raises(ClientError) as e:
        client.batch_put_metrics(TrialComponentName=name, MetricData=items)
    err = e.value.response
    assert err["Error"]["Code"] == "ValidationException"
    assert needle in err["Error"]["Message"]
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["ResponseMetadata"]["RequestId"]
    # nothing of it was stored: the trial component does not exist
    result = one(client, query(name, "m", "Count", "OneHour", "Timestamp"))
    assert result["Status"] == "ValidationError" and "does not exist" in result["Message"]


def test_nan_and_infinity_are_stored_and_read_back(client):
    values = [float("nan"), float("inf"), float("-inf"), 0.5]
    client.batch_put_metrics(
        TrialComponentName="boto-nan",
        MetricData=[{"MetricName": "v", "Timestamp": T + i, "Step": i, "Value": v} for i, v in enumerate(values)],
    )
    x, got = series(one(client, query("boto-nan", "v", "Last", "IterationNumber", "IterationNumber")))
    assert x == [0, 1, 2, 3]
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf, 0.5]
    # a group holding NaN has NaN for Min, Max, Avg and StdDev; Count counts it
    for stat in ("Min", "Max", "Avg", "StdDev"):
        (v,) = series(one(client, query("boto-nan", "v", stat, "OneHour", "Timestamp")))[1]
        assert math.isnan(v), stat
    assert series(one(client, query("boto-nan", "v", "Count", "OneHour", "Timestamp"))) == ([T], [4.0])


# (step, seconds after T, value)
POINTS = [(0, 0, 1.0), (0, 10, 3.0), (1, 30, 2.0), (1, 70, 6.0), (2, 130, 4.0), (3, 400, 8.0), (4, 3700, 10.0)]
STEPS = [0, 1, 2, 3, 4]
MINUTES = [T, T + 60, T + 120, T + 360, T + 3660]
FIVES = [T, T + 300, T + 3600]
HOURS = [T, T + 3600]
EXPECTED = {
    # one group per step: 0:[1,3] 1:[2,6] 2:[4] 3:[8] 4:[10]
    ("IterationNumber", "IterationNumber"): (
        STEPS,
        {
            "Min": [1, 2, 4, 8, 10],
            "Max": [3, 6, 4, 8, 10],
            "Avg": [2, 4, 4, 8, 10],
            "Count": [2, 2, 1, 1, 1],
            "StdDev": [1, 2, 0, 0, 0],
            "Last": [3, 6, 4, 8, 10],
        },
    ),
    # minutes: [T]:1,3,2  [T+60]:6  [T+120]:4  [T+360]:8  [T+3660]:10
    ("OneMinute", "Timestamp"): (
        MINUTES,
        {
            "Min": [1, 6, 4, 8, 10],
            "Max": [3, 6, 4, 8, 10],
            "Avg": [2, 6, 4, 8, 10],
            "Count": [3, 1, 1, 1, 1],
            "StdDev": [math.sqrt(2 / 3), 0, 0, 0, 0],
            "Last": [2, 6, 4, 8, 10],
        },
    ),
    # five minutes: [T]:1,3,2,6,4  [T+300]:8  [T+3600]:10
    ("FiveMinute", "Timestamp"): (
        FIVES,
        {
            "Min": [1, 8, 10],
            "Max": [6, 8, 10],
            "Avg": [3.2, 8, 10],
            "Count": [5, 1, 1],
            "StdDev": [math.sqrt(2.96), 0, 0],
            "Last": [4, 8, 10],
        },
    ),
    # hours: [T]:1,3,2,6,4,8  [T+3600]:10
    ("OneHour", "Timestamp"): (
        HOURS,
        {
            "Min": [1, 10],
            "Max": [8, 10],
            "Avg": [4, 10],
            "Count": [6, 1],
            "StdDev": [math.sqrt(34 / 6), 0],
            "Last": [8, 10],
        },
    ),
}


@pytest.fixture(scope="module")
def stats_tc(base_url):
    make_client(base_url).batch_put_metrics(
        TrialComponentName="boto-stats",
        MetricData=[{"MetricName": "m", "Timestamp": T + off, "Step": step, "Value": v} for step, off, v in POINTS],
    )
    return "boto-stats"


@pytest.mark.parametrize("period, axis", list(EXPECTED))
@pytest.mark.parametrize("stat", ["Min", "Max", "Avg", "Count", "StdDev", "Last"])
def test_every_stat_and_period(client, stats_tc, stat, period, axis):
    x, values = series(one(client, query(stats_tc, "m", stat, period, axis)))
    want_x, want = EXPECTED[(period, axis)]
    assert x == want_x
    assert values == pytest.approx(want[stat], abs=1e-12)


def test_mixed_axes_and_bounds(client, stats_tc):
    # steps on a time axis: X = the timestamp of each step's latest point
    assert series(one(client, query(stats_tc, "m", "Avg", "IterationNumber", "Timestamp"))) == (
        [T + 10, T + 70, T + 130, T + 400, T + 3700],
        [2.0, 4.0, 4.0, 8.0, 10.0],
    )
    # minutes on an iteration axis: X = the step of each minute's latest point
    assert series(one(client, query(stats_tc, "m", "Count", "OneMinute", "IterationNumber"))) == ([1, 1, 2, 3, 4], [3.0, 1.0, 1.0, 1.0, 1.0])
    # Start/End bound the points on the X axis, inclusive: steps...
    assert series(one(client, query(stats_tc, "m", "Max", "IterationNumber", "IterationNumber", Start=1, End=3))) == ([1, 2, 3], [6.0, 4.0, 8.0])
    # ...or epoch seconds
    assert series(one(client, query(stats_tc, "m", "Count", "FiveMinute", "Timestamp", Start=T + 60, End=T + 400))) == ([T, T + 300], [2.0, 1.0])


def test_statuses_per_query(client, stats_tc):
    resp = client.batch_get_metrics(
        MetricQueries=[
            query(stats_tc, "m", "Count", "OneHour", "Timestamp"),
            query("boto-no-such-tc", "m", "Count", "OneHour", "Timestamp"),
            dict(query(stats_tc, "m", "Count", "OneHour", "Timestamp"), ResourceArn="arn:aws:s3:::bucket/boto-stats"),
        ]
    )
    ok, unknown, bad_arn = resp["MetricQueryResults"]
    assert series(ok) == (HOURS, [6.0, 1.0])
    assert unknown["Status"] == "ValidationError" and "boto-no-such-tc" in unknown["Message"]
    assert bad_arn["Status"] == "ValidationError" and "ResourceArn" in bad_arn["Message"]
    assert unknown["XAxisValues"] == [] and unknown["MetricValues"] == []
    # an enum value the model does not define is refused whole (boto3 does not check enums)
    with pytest.raises(ClientError) as e:
        client.batch_get_metrics(MetricQueries=[query(stats_tc, "m", "Median", "OneHour", "Timestamp")])
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_wrong_credentials_get_403(base_url):
    def refused(c):
        with pytest.raises(ClientError) as e:
            c.batch_put_metrics(TrialComponentName="boto-refused", MetricData=[{"MetricName": "m", "Timestamp": T, "Value": 1.0}])
        return e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Code"]

    wrong_secret = make_client(base_url, secret="not-the-secret")
    assert refused(wrong_secret) == (403, "InvalidSignatureException")
    assert refused(make_client(base_url, key="AKIAUNKNOWNKEY000000")) == (403, "UnrecognizedClientException")
    assert refused(make_client(base_url, signed=False)) == (403, "MissingAuthenticationTokenException")
    # another region is fine
    ok = make_client(base_url, region="eu-west-1").batch_put_metrics(
        TrialComponentName="boto-region", MetricData=[{"MetricName": "m", "Timestamp": T, "Value": 1.0}]
    )
    assert ok["ResponseMetadata"]["HTTPStatusCode"] == 200
    # nothing was written by the refused calls
    result = one(make_client(base_url), query("boto-refused", "m", "Count", "OneHour", "Timestamp"))
    assert result["Status"] == "ValidationError"


class FlakyProxy:
    """Forwards every request to the server unchanged (Host included, so the signature
    still fits) and answers the first `failures` of them with a 500 *after* the server
    has stored the batch: what a client sees when a reply is lost."""

    def __init__(self, upstream, failures):
        self.upstream = urlsplit(upstream)
        self.failures = failures
        self.attempts = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self):
                proxy.forward(self)

            do_POST = do_PUT

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, h):
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        conn.putrequest(h.command, h.path, skip_host=True, skip_accept_encoding=True)
        for k, v in h.headers.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.attempts.append({"upstream": resp.status, "amz-sdk-request": h.headers.get("amz-sdk-request"), "body": body})
        status, headers = resp.status, [("Content-Type", "application/json"), ("x-amzn-RequestId", resp.getheader("x-amzn-RequestId", ""))]
        if self.failures > 0:
            self.failures -= 1
            status, data = 500, b'{"__type":"InternalFailure","message":"injected after the server stored the batch"}'
            headers.append(("x-amzn-ErrorType", "InternalFailure"))
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_retries_of_a_5xx_never_duplicate_points(base_url, client):
    proxy = FlakyProxy(base_url, failures=2)
    try:
        flaky = make_client(proxy.url, attempts=3)
        items = [{"MetricName": "r", "Timestamp": T + i + 0.5, "Step": i, "Value": float(i)} for i in range(10)]
        resp = flaky.batch_put_metrics(TrialComponentName="boto-retry", MetricData=items)
    finally:
        proxy.close()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RetryAttempts"] == 2
    # boto3 sent the batch three times (re-signed each time), and the server took all three
    assert [a["upstream"] for a in proxy.attempts] == [200, 200, 200]
    assert [a["amz-sdk-request"].split("attempt=")[1][0] for a in proxy.attempts] == ["1", "2", "3"]
    assert len({a["body"] for a in proxy.attempts}) == 1
    # yet every point is there once
    x, counts = series(one(client, query("boto-retry", "r", "Count", "IterationNumber", "IterationNumber")))
    assert x == list(range(10)) and counts == [1.0] * 10
    assert series(one(client, query("boto-retry", "r", "Count", "OneHour", "Timestamp")))[1] == [10.0]
