"""comet_ml's REST API client (`API(cache=False)`, `APIExperiment`) against specmill: create an
experiment, log everything the issue lists, read each back with the client, reopen the
experiment by key, `to_json(full=True)`, and read a comet_ml metric through Lens and ClearML
(and a ClearML point through comet_ml)."""

import os
import time

import pytest
import requests

PROJECT = "specmill-python-tests"
T0 = 1700000000.0  # seconds; the client sends int(seconds * 1000)


@pytest.fixture(scope="module")
def api(base_url):
    # Always the server under test (never a Comet URL or key from the caller's environment).
    # The client keeps only scheme://host:port of the override and builds its own roots.
    # Any key will do: the server maps every Comet key to the tenant `default` for now.
    os.environ["COMET_URL_OVERRIDE"] = base_url + "/clientlib/"
    os.environ["COMET_API_KEY"] = os.environ.get("SPECMILL_COMET_KEY", "comet-python-key")
    os.environ["COMET_ERROR_TRACKING_ENABLE"] = "false"
    from comet_ml.api import API

    return API(cache=False)


@pytest.fixture(scope="module")
def logged(api, tmp_path_factory):
    """One experiment with everything logged; the values sent, by kind."""
    from comet_ml.api import APIExperiment

    workspace = api.get_default_workspace()
    exp = APIExperiment(api=api, workspace=workspace, project_name=PROJECT)
    sent = {"workspace": workspace}

    sent["loss"] = [(step, 1.0 / (step + 1), step // 2, int((T0 + step) * 1000)) for step in range(6)]
    for step, value, epoch, _ in sent["loss"]:
        exp.log_metric("loss", value, step=step, epoch=epoch, timestamp=T0 + step)
    exp.log_metrics({"acc": 0.5, "f1": 0.25}, step=0, epoch=0, timestamp=T0)
    exp.log_metrics({"acc": 0.75, "f1": 0.5}, step=1, epoch=0, timestamp=T0 + 1)

    exp.log_parameter("lr", 0.001)
    exp.log_parameter("optimizer", "adam")
    exp.log_parameter("batch_size", 32, step=0)
    exp.log_parameter("batch_size", 64, step=10)  # re-logged at a later step

    exp.add_tags(["baseline", "mnist"])
    exp.add_tag("specmill")

    exp.log_other("dataset", "mnist-v2")
    exp.log_other("seed", 1234)
    exp.set_name("comet-run-1")

    exp.log_output("epoch 1 done\nepoch 2 done\n")
    exp.log_output("warning: slow\n", stderr=True)

    exp.log_html("<h1>Report</h1>")
    exp.log_html("<p>all good</p>")

    exp.set_hostname("trainer-7")
    exp.set_ip("10.0.0.7")
    exp.set_os("Linux-6.1-x86_64")
    exp.set_os_type("Linux")
    exp.set_pid(4242)
    exp.set_python_version("3.11.7")
    exp.set_user("alice")
    exp.set_command(["train.py", "--epochs", "2"])
    exp.set_executable("/usr/bin/python3")
    exp.set_installed_packages(["numpy==2.0", "torch==2.3"])
    exp.set_gpu_static_info([{"gpuIndex": 0, "name": "GPU-X", "uuid": "GPU-1", "totalMemory": 1024, "powerLimit": 100}])
    exp.set_network_interface_ips(["127.0.0.1", "10.0.0.7"])
    exp.log_additional_system_info("cluster", "east")
    exp.log_additional_system_info("nodes", 4)

    exp.set_git_metadata("alice", "abc123", "refs/heads/main", "def456", "git@example.com:a/b.git")

    asset_bytes = bytes(range(256)) * 8
    path = tmp_path_factory.mktemp("comet") / "weights.bin"
    path.write_bytes(asset_bytes)
    upload = exp.log_asset(str(path), name="weights.bin", step=3, overwrite=True, metadata={"kind": "weights"})
    sent["asset"] = (asset_bytes, upload)
    return exp, sent


def test_api_checks_the_version_and_lists_workspaces(api):
    from comet_ml.semantic_version import SemanticVersion

    # API() asked the version at construction; at 3.20.60 or later get_metrics() uses get-all.
    version = api._client.get_api_backend_version()
    assert version is not None and version >= SemanticVersion.parse("3.20.60")
    workspace = api.get_default_workspace()
    assert workspace in api.get_workspaces()


def test_metrics_over_steps_with_epochs_and_timestamps(logged):
    exp, sent = logged
    loss = [m for m in exp.get_metrics() if m["metricName"] == "loss"]
    assert [(m["step"], float(m["metricValue"]), m["epoch"], m["timestamp"]) for m in loss] == [
        (step, pytest.approx(value), epoch, ts) for step, value, epoch, ts in sent["loss"]
    ]
    assert all(isinstance(m["metricValue"], str) for m in loss)
    acc = exp.get_metrics("acc")
    assert [(m["step"], float(m["metricValue"])) for m in acc] == [(0, 0.5), (1, 0.75)]

    summary = exp.get_metrics_summary("loss")
    assert float(summary["valueMax"]) == pytest.approx(1.0) and summary["stepMax"] == 0
    assert float(summary["valueMin"]) == pytest.approx(1.0 / 6) and summary["stepMin"] == 5
    assert float(summary["valueCurrent"]) == pytest.approx(1.0 / 6) and summary["stepCurrent"] == 5
    assert summary["timestampCurrent"] == int((T0 + 5) * 1000)
    assert {s["name"] for s in exp.get_metrics_summary()} == {"loss", "acc", "f1"}
    assert exp.get_metrics_summary("nope") == []


def test_parameters_with_one_relogged_later(logged):
    exp, _ = logged
    batch = exp.get_parameters_summary("batch_size")
    assert (batch["valueCurrent"], batch["stepCurrent"]) == ("64", 10)
    assert (batch["valueMin"], batch["valueMax"]) == ("32", "64")
    assert exp.get_parameters_summary("lr")["valueCurrent"] == "0.001"
    assert exp.get_parameters_summary("optimizer")["valueCurrent"] == "adam"
    assert sorted(p["name"] for p in exp.get_parameters_summary()) == ["batch_size", "lr", "optimizer"]


def test_tags_others_and_name(logged):
    exp, _ = logged
    assert exp.get_tags() == ["baseline", "mnist", "specmill"]
    assert exp.get_others_summary("dataset") == ["mnist-v2"]
    assert exp.get_others_summary("seed") == ["1234"]
    assert exp.get_name() == "comet-run-1"


def test_output_and_html(logged):
    exp, _ = logged
    assert exp.get_output() == "epoch 1 done\nepoch 2 done\nwarning: slow\n"
    assert exp.get_html() == "<h1>Report</h1><p>all good</p>"


def test_system_details_are_merged(logged):
    exp, _ = logged
    details = exp.get_system_details()
    assert details["experimentKey"] == exp.key
    assert (exp.get_hostname(), exp.get_ip(), exp.get_os(), exp.get_os_type()) == ("trainer-7", "10.0.0.7", "Linux-6.1-x86_64", "Linux")
    assert (exp.get_pid(), exp.get_python_version(), exp.get_user()) == (4242, "3.11.7", "alice")
    assert exp.get_command() == ["train.py", "--epochs", "2"]
    assert exp.get_executable() == "/usr/bin/python3"
    assert exp.get_installed_packages() == ["numpy==2.0", "torch==2.3"]
    assert exp.get_gpu_static_info() == [{"gpuIndex": 0, "name": "GPU-X", "uuid": "GPU-1", "totalMemory": 1024, "powerLimit": 100}]
    assert exp.get_network_interface_ips() == ["127.0.0.1", "10.0.0.7"]
    additional = {i["key"]: i["value"] for i in exp.get_additional_system_info()}
    assert additional == {"cluster": "east", "nodes": 4}


def test_git_metadata(logged):
    exp, _ = logged
    assert exp.get_git_metadata() == {
        "user": "alice",
        "root": "abc123",
        "branch": "refs/heads/main",
        "parent": "def456",
        "origin": "git@example.com:a/b.git",
    }


def test_asset_upload_list_and_download(logged):
    exp, sent = logged
    content, upload = sent["asset"]
    asset_id = upload["assetId"]
    listed = [a for a in exp.get_asset_list() if a["assetId"] == asset_id]
    assert len(listed) == 1
    a = listed[0]
    assert (a["fileName"], a["fileSize"], a["step"], a["type"]) == ("weights.bin", len(content), 3, "asset")
    assert a["metadata"] is not None and "weights" in a["metadata"]
    assert exp.get_asset(asset_id, return_type="binary") == content


def test_reopen_by_key(api, logged):
    from comet_ml.api import APIExperiment
    from comet_ml.exceptions import NotFound

    exp, sent = logged
    again = APIExperiment(api=api, previous_experiment=exp.key)
    assert (again.key, again.name, again.workspace, again.project_name) == (exp.key, "comet-run-1", sent["workspace"], PROJECT)
    assert again.get_parameters_summary("batch_size")["valueCurrent"] == "64"
    by_key = api.get_experiment_by_key(exp.key)
    assert by_key is not None and by_key.key == exp.key
    by_path = api.get("%s/%s/%s" % (sent["workspace"], PROJECT, exp.key))
    assert by_path is not None and by_path.key == exp.key
    assert api.get_experiment_by_key("0" * 32) is None
    with pytest.raises(NotFound):
        APIExperiment(api=api, previous_experiment="0" * 32)


def test_start_and_end_time(api):
    from comet_ml.api import APIExperiment

    exp = APIExperiment(api=api, workspace=api.get_default_workspace(), project_name=PROJECT)
    exp.set_start_time(1700000000000)
    assert (exp.start_server_timestamp, exp.end_server_timestamp) == (1700000000000, 1700000001000)
    exp.set_end_time(1700000090000)
    assert (exp.end_server_timestamp, exp.duration_millis) == (1700000090000, 90000)


def test_to_json_full(logged):
    exp, _ = logged
    data = exp.to_json(full=True)
    assert data["id"] == exp.key and data["name"] == "comet-run-1"
    assert data["git_patch"] is None
    assert data["tags"] == ["baseline", "mnist", "specmill"]
    assert data["output"].startswith("epoch 1 done")
    assert {"loss", "acc", "f1"} <= {m["metricName"] for m in data["metrics"]}
    assert data["system_details"]["hostname"] == "trainer-7"
    assert len(data["asset_list"]) == 1


def test_comet_metric_is_read_through_lens(base_url, logged):
    exp, sent = logged
    headers = {"Authorization": "Bearer " + os.environ["SPECMILL_LENS_TOKEN"]}
    r = requests.get("%s/v1/workloads/%s/metrics/data" % (base_url, exp.key), params={"metrics": "loss"}, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    points = [(p["iteration"], p["value"], p["timestamp"], p["data_source"]) for p in r.json()["data"]]
    assert points == [(step, pytest.approx(value), ts, "comet") for step, value, _, ts in sent["loss"]]


def test_comet_metric_is_read_through_clearml_and_the_reverse(base_url, logged):
    from clearml.backend_api.services import events
    from clearml.backend_api.session import Session

    exp, sent = logged
    session = Session(api_key=os.environ["SPECMILL_CLEARML_KEY"], secret_key=os.environ["SPECMILL_CLEARML_SECRET"], host=base_url)
    r = session.send(events.GetTaskEventsRequest(task=exp.key, event_type="training_stats_scalar", batch_size=100, order="asc"))
    assert r.ok(), r.meta
    loss = {e["iter"]: e["value"] for e in r.response.events if e["metric"] == "loss"}
    assert loss == {step: pytest.approx(value) for step, value, _, _ in sent["loss"]}

    # A point ClearML writes to the experiment's task shows in comet_ml.
    now = int(time.time() * 1000)
    r = session.send(events.AddBatchRequest(requests=[events.AddRequest(events.MetricsScalarEvent(task=exp.key, metric="val", variant="top1", iter=9, value=0.875, timestamp=now))]))
    assert r.ok(), r.meta
    got = exp.get_metrics("val/top1")
    assert [(m["step"], m["metricValue"], m["timestamp"]) for m in got] == [(9, "0.875", now)]
