"""The clearml SDK's backend session against specmill: login, add_batch, and reads with the
SDK's own request classes."""

import json
import os
import time

import pytest


@pytest.fixture(scope="module")
def session(base_url):
    key, secret = os.environ["SPECMILL_CLEARML_KEY"], os.environ["SPECMILL_CLEARML_SECRET"]
    os.environ.update(
        CLEARML_API_HOST=base_url,
        CLEARML_WEB_HOST=base_url,
        CLEARML_FILES_HOST=base_url,
        CLEARML_API_ACCESS_KEY=key,
        CLEARML_API_SECRET_KEY=secret,
    )
    from clearml.backend_api.session import Session

    s = Session(api_key=key, secret_key=secret, host=base_url)
    return s


@pytest.fixture(scope="module")
def events():
    from clearml.backend_api.services import events

    return events


def test_login_gives_a_token_with_the_servers_api_version(session):
    from clearml.backend_api.session import Session

    assert session.token
    # The SDK decoded the JWT and took the API version the server announces.
    assert str(Session.api_version) == os.environ["SPECMILL_CLEARML_MAX_VERSION"]


def test_wrong_secret_is_refused(base_url):
    from clearml.backend_api.session import Session

    with pytest.raises(Exception) as e:
        Session(api_key=os.environ["SPECMILL_CLEARML_KEY"], secret_key="wrong", host=base_url)
    assert "401" in str(e.value) or "nauthorized" in str(e.value) or "credentials" in str(e.value).lower()


def test_add_batch_then_read_back(session, events):
    task = "sdk-task-%d" % time.time_ns()
    now = int(time.time() * 1000)
    sent = [
        events.MetricsScalarEvent(task=task, metric="loss", variant="train", iter=i, value=1.0 / (i + 1), timestamp=now + i)
        for i in range(10)
    ]
    sent += [events.MetricsScalarEvent(task=task, metric="acc", variant="val", iter=i, value=0.5 + i / 100, timestamp=now + i) for i in range(3)]
    logs = ["epoch %d done" % i for i in range(3)]
    sent += [events.TaskLogEvent(task=task, msg=m, level="info", timestamp=now + 100 + i) for i, m in enumerate(logs)]
    plot = {"data": [{"x": [1, 2], "y": [3, 4], "type": "scatter"}], "layout": {"title": "roc"}}
    sent.append(events.MetricsPlotEvent(task=task, metric="roc", variant="curve", iter=9, plot_str=json.dumps(plot), timestamp=now + 200))

    r = session.send(events.AddBatchRequest(requests=[events.AddRequest(e) for e in sent]))
    assert r.ok(), r.meta
    assert r.response.added == len(sent)
    assert r.response.errors == 0

    # get_task_log: newest first by default.
    r = session.send(events.GetTaskLogRequest(task=task))
    assert r.ok(), r.meta
    assert [e["msg"] for e in r.response.events] == list(reversed(logs))

    # scalar_metrics_iter_histogram: metric -> variant -> {x, y}.
    r = session.send(events.ScalarMetricsIterHistogramRequest(task=task))
    assert r.ok(), r.meta
    data = r.response_data
    assert data["loss"]["train"]["x"] == list(range(10))
    assert data["loss"]["train"]["y"] == pytest.approx([1.0 / (i + 1) for i in range(10)])
    assert data["acc"]["val"]["y"] == pytest.approx([0.5, 0.51, 0.52])

    # get_task_latest_scalar_values: the last value of each series.
    r = session.send(events.GetTaskLatestScalarValuesRequest(task=task))
    assert r.ok(), r.meta
    latest = {(m["name"], v["name"]): v["last_value"] for m in r.response_data["metrics"] for v in m["variants"]}
    assert latest == {("loss", "train"): pytest.approx(0.1), ("acc", "val"): pytest.approx(0.52)}

    # get_task_events: every event, paged with the scroll id.
    seen, scroll = [], None
    for _ in range(20):
        r = session.send(events.GetTaskEventsRequest(task=task, batch_size=4, scroll_id=scroll, order="asc"))
        assert r.ok(), r.meta
        if not r.response.events:
            break
        seen += r.response.events
        scroll = r.response.scroll_id
    assert len(seen) == len(sent)
    assert r.response.total == len(sent)
    plots = [e for e in seen if e["type"] == "plot"]
    assert len(plots) == 1 and json.loads(plots[0]["plot_str"]) == plot
    values = {e["iter"]: e["value"] for e in seen if e["type"] == "training_stats_scalar" and e["metric"] == "loss"}
    assert values == {i: pytest.approx(1.0 / (i + 1)) for i in range(10)}


def test_unknown_task_is_400_101(session, events):
    r = session.send(events.GetTaskLogRequest(task="no-such-task"))
    assert not r.ok()
    assert (r.meta.result_code, r.meta.result_subcode) == (400, 101)
