"""Writes the runs tests/ui_browser.rs looks at in the dashboard, with the real client libraries
(not a pytest module: tests/ui_browser.rs runs it as a script).

    python ui_writers.py sagemaker NAME   boto3: trial component NAME, metric `loss` over 300 steps
    python ui_writers.py clearml TASK     clearml SDK session: task TASK, `loss` (train, val) over
                                          5000 iterations, `accuracy` every 50, and log lines

Endpoint and credentials from SPECMILL_URL, SPECMILL_AWS_ACCESS_KEY_ID,
SPECMILL_AWS_SECRET_ACCESS_KEY, SPECMILL_CLEARML_KEY and SPECMILL_CLEARML_SECRET."""

import math
import os
import sys
import time
from datetime import datetime, timedelta, timezone

SAGEMAKER_STEPS = 300
CLEARML_ITERATIONS = 5000
ACCURACY_EVERY = 50
LOG_LINES = ["starting training", "epoch 1 done", "epoch 2 done", "training finished"]


def sagemaker(name):
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "sagemaker-metrics",
        endpoint_url=os.environ["SPECMILL_URL"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["SPECMILL_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["SPECMILL_AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    t0 = datetime.now(timezone.utc) - timedelta(seconds=SAGEMAKER_STEPS)
    items = [
        {"MetricName": "loss", "Timestamp": t0 + timedelta(seconds=step), "Step": step, "Value": 2.0 * math.exp(-step / 80.0) + 0.1}
        for step in range(SAGEMAKER_STEPS)
    ]
    # BatchPutMetrics takes at most 10 items a call
    for i in range(0, len(items), 10):
        resp = client.batch_put_metrics(TrialComponentName=name, MetricData=items[i : i + 10])
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200, resp
        assert not resp.get("Errors"), resp["Errors"]
    print("sagemaker: %d points of loss in trial component %s" % (len(items), name))


def clearml(task):
    key, secret, url = os.environ["SPECMILL_CLEARML_KEY"], os.environ["SPECMILL_CLEARML_SECRET"], os.environ["SPECMILL_URL"]
    os.environ.update(CLEARML_API_HOST=url, CLEARML_WEB_HOST=url, CLEARML_FILES_HOST=url, CLEARML_API_ACCESS_KEY=key, CLEARML_API_SECRET_KEY=secret)
    from clearml.backend_api.services import events
    from clearml.backend_api.session import Session

    session = Session(api_key=key, secret_key=secret, host=url)
    now = int(time.time() * 1000) - CLEARML_ITERATIONS * 10
    sent = []
    for i in range(CLEARML_ITERATIONS):
        ts = now + i * 10
        train = 2.5 * math.exp(-i / 900.0) + 0.05 * math.sin(i / 7.0) + 0.1
        val = 2.6 * math.exp(-i / 1000.0) + 0.2
        sent.append(events.MetricsScalarEvent(task=task, metric="loss", variant="train", iter=i, value=train, timestamp=ts))
        sent.append(events.MetricsScalarEvent(task=task, metric="loss", variant="val", iter=i, value=val, timestamp=ts))
        if i % ACCURACY_EVERY == 0:
            sent.append(events.MetricsScalarEvent(task=task, metric="accuracy", variant="val", iter=i, value=1.0 - 0.9 * math.exp(-i / 1200.0), timestamp=ts))
    for n, msg in enumerate(LOG_LINES):
        sent.append(events.TaskLogEvent(task=task, msg=msg, level="info", timestamp=now + n * CLEARML_ITERATIONS * 3))
    for i in range(0, len(sent), 2000):
        chunk = sent[i : i + 2000]
        r = session.send(events.AddBatchRequest(requests=[events.AddRequest(e) for e in chunk]))
        assert r.ok(), r.meta
        assert r.response.added == len(chunk) and r.response.errors == 0, (r.response.added, r.response.errors)
    print("clearml: %d events in task %s" % (len(sent), task))


if __name__ == "__main__":
    command, name = sys.argv[1:]
    {"sagemaker": sagemaker, "clearml": clearml}[command](name)
