"""The Lambda bundle: built for a target, run as Lambda would (isolated, read-only), over boto3.

The bundle is the real zip (pip downloads from its cache or the registry); every invocation
runs its handler in a fresh ``python -I -S`` behind a local Invoke API (tests/lambda_endpoint.py).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_bundle.build import (
    CLI_ONLY,
    ELF_MACHINES,
    FACE_MODELS,
    MAX_UNZIPPED_BYTES,
    Bundle,
    BundleTooLarge,
    build_bundle,
    elf_machine,
)
from sprocket_cli import __version__
from sprocket_cli.stamp import code_stamp
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import Fault, Result, Task
from sprocket_cli.worker import run_task
from tests.lambda_endpoint import FUNCTION, LocalLambda
from tests.media_checks import facts
from tests.tasks import gray_task

pytestmark = pytest.mark.timeout(900)  # the first build downloads wheels


@pytest.fixture
def client(local_lambda: LocalLambda) -> Any:
    return lambda_client(local_lambda)


def lambda_client(endpoint: LocalLambda) -> Any:
    """boto3's real lambda client against the endpoint, retries off (as the executor has it)."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=300),
    )


def invoke(client: Any, event: Any) -> tuple[Any, dict[str, Any]]:
    response = client.invoke(FunctionName=FUNCTION, Payload=json.dumps(event).encode(), LogType="Tail")
    return json.loads(response["Payload"].read()), response


def task_event(task: Task, storage: LocalStorage) -> dict[str, Any]:
    return {"task": json.loads(task.to_json()), "storage": asdict(storage.spec())}


def segment_facts(storage: LocalStorage, result: Result, dest: Path) -> Any:
    assert result.init_key is not None
    dest.write_bytes(storage.get_bytes(result.init_key) + storage.get_bytes(result.output_key))
    return facts(dest)


def tree(root: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mode, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def test_metadata_reports_this_code_stamp(client: Any, local_lambda: LocalLambda, bundle: Bundle) -> None:
    reply, response = invoke(client, {"metadata": True})
    assert reply == {"version": bundle.stamp.split("+")[0], "stamp": code_stamp()}
    assert bundle.stamp == code_stamp()
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    tail = base64.b64decode(response["LogResult"]).decode()
    report = tail.splitlines()[-1]
    assert report.startswith("REPORT RequestId: ") and "\tBilled Duration: " in report
    assert "\tMemory Size: 3008 MB\tMax Memory Used: " in report
    assert len(local_lambda.runs) == 1


def test_a_task_runs_in_the_bundle_like_in_process(
    client: Any, local_lambda: LocalLambda, bundle_root: Path, clip: Path, tmp_path: Path
) -> None:
    before = tree(bundle_root)
    task = gray_task(clip, 1)
    remote_store, local_store = LocalStorage(tmp_path / "remote"), LocalStorage(tmp_path / "local")
    reply, response = invoke(client, task_event(task, remote_store))
    assert "FunctionError" not in response, reply
    remote = Result.from_json(json.dumps(reply["result"]))
    here = run_task(task, local_store)
    assert remote.output_key == here.output_key == "stream/seg_00001.m4s"
    assert not remote.superseded and remote.frames == here.frames == 50
    assert (remote.start_ticks, remote.timescale) == (here.start_ticks, here.timescale)
    got, want = (
        segment_facts(remote_store, remote, tmp_path / "remote.mp4"),
        segment_facts(local_store, here, tmp_path / "local.mp4"),
    )
    assert (got.frames, got.width, got.height) == (want.frames, want.width, want.height) == (50, 320, 240)
    assert got.max_saturation <= 2  # gray, as the filter asked
    # The function ran isolated: its own ffmpeg from the bundle, nothing written to its folder.
    assert tree(bundle_root) == before
    assert local_lambda.runs[0].event == task_event(task, remote_store)


def test_an_ffmpeg_without_its_executable_bit_is_run_from_a_copy_in_tmp(
    bundle_root: Path, clip: Path, tmp_path: Path
) -> None:
    """A zip made without modes loses the bit, and the function's folder is read-only."""
    root = tmp_path / "task"
    shutil.copytree(bundle_root, root)
    for binary in (root / "imageio_ffmpeg" / "binaries").glob("ffmpeg*"):
        binary.chmod(0o644)
    store = LocalStorage(tmp_path / "store")
    with LocalLambda(root) as endpoint:
        client = lambda_client(endpoint)
        reply, response = invoke(client, task_event(gray_task(clip, 0), store))
    assert "FunctionError" not in response, reply
    assert store.exists(reply["result"]["output_key"])


def test_a_failing_task_comes_back_as_a_function_error(
    client: Any, local_lambda: LocalLambda, clip: Path, tmp_path: Path
) -> None:
    store = LocalStorage(tmp_path / "store")
    reply, response = invoke(client, task_event(gray_task(clip, 0, Fault(chunk=0, fail=1)), store))
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert reply["errorType"] == "InjectedFault"
    assert reply["errorMessage"] == "injected failure of chunk 0, attempt 1"
    assert any("_inject" in frame for frame in reply["stackTrace"])
    assert "[ERROR] InjectedFault" in base64.b64decode(response["LogResult"]).decode()
    assert not store.exists("stream/seg_00000.m4s")
    assert [i.function_error for i in local_lambda.invocations] == ["Unhandled"]


def test_throttling_reaches_boto3_and_is_counted(client: Any, local_lambda: LocalLambda) -> None:
    local_lambda.throttle(first=1)
    with pytest.raises(ClientError) as caught:
        invoke(client, {"metadata": True})
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    reply, _ = invoke(client, {"metadata": True})  # the next one goes through
    assert reply["stamp"] == code_stamp()
    assert [i.throttled for i in local_lambda.invocations] == [True, False]
    assert len(local_lambda.throttled) == 1


def test_account_limit_is_reported_and_enforced(client: Any, local_lambda: LocalLambda) -> None:
    local_lambda.throttle(concurrency=0)
    limit = client.get_account_settings()["AccountLimit"]
    assert limit["ConcurrentExecutions"] == limit["UnreservedConcurrentExecutions"] == 0
    with pytest.raises(client.exceptions.TooManyRequestsException):
        invoke(client, {"metadata": True})
    assert len(local_lambda.throttled) == 1 and not local_lambda.runs


def test_payloads_over_6_mb_are_refused(client: Any, local_lambda: LocalLambda) -> None:
    with pytest.raises(client.exceptions.RequestTooLargeException):
        invoke(client, {"metadata": True, "padding": "x" * (6 * 1024 * 1024)})
    assert [i.status for i in local_lambda.invocations] == [413]


def test_the_bundle_fits_and_carries_one_executable_ffmpeg(bundle: Bundle, tmp_path: Path) -> None:
    check_artefact(bundle, tmp_path)


def test_an_arm64_bundle_carries_an_aarch64_ffmpeg(tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("arm64")
    check_artefact(build_bundle("arm64", out, "3.12"), out)


def test_the_arm64_faces_bundle_as_deployed_fits_with_dlib_and_without_pyav(
    deployed_bundle: Callable[[str], Bundle], tmp_path: Path
) -> None:
    """find_faces runs on Lambda from this bundle: dlib and the models in, frames decoded by
    its ffmpeg (PyAV, 95 MB on aarch64, would take it over the limit)."""
    bundle = deployed_bundle("arm64")  # BundleTooLarge past the limit
    assert bundle.faces and bundle.python_version == "3.12"
    check_artefact(bundle, tmp_path)
    with zipfile.ZipFile(bundle.path) as z:
        names = z.namelist()
        [dlib] = [n for n in names if n.startswith("_dlib_pybind11") and n.endswith(".so")]
        z.extract(dlib, tmp_path / "x")
    assert elf_machine(tmp_path / "x" / dlib) == ELF_MACHINES["arm64"]
    models = {Path(n).name for n in names if n.startswith("face_recognition_models/models/")}
    assert models == FACE_MODELS
    assert "sprocket_cli/faces/framepipe.py" in names


def check_artefact(bundle: Bundle, tmp_path: Path) -> None:
    assert bundle.unzipped_bytes < MAX_UNZIPPED_BYTES
    assert bundle.runtime == f"python{bundle.python_version}"
    assert bundle.stamp.startswith(__version__ + "+")  # equal to code_stamp() unless a module changed since
    with zipfile.ZipFile(bundle.path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        assert sum(i.file_size for i in infos) == bundle.unzipped_bytes
        assert names == sorted(names) and {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        ffmpegs = [i for i in infos if Path(i.filename).name.startswith("ffmpeg") and i.file_size > 1e6]
        assert [i.filename.rpartition("/")[0] for i in ffmpegs] == ["imageio_ffmpeg/binaries"]
        assert (ffmpegs[0].external_attr >> 16) & 0o111 == 0o111
        z.extract(ffmpegs[0], tmp_path / "x")
    assert elf_machine(tmp_path / "x" / ffmpegs[0].filename) == ELF_MACHINES[bundle.arch]
    tops = {n.split("/")[0] for n in names}
    assert not {t for t in tops if t.split(".")[0] in CLI_ONLY}, "CLI-only packages in the bundle"
    assert "lambda_bundle/build.py" not in names and "lambda_bundle/handler.py" in names
    assert not [n for n in names if "__pycache__" in n]
    assert "sprocket_cli/cli/__init__.py" in names  # the stamp covers every module, CLI too
    services = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 2}
    assert services == {"s3", "sts", "rekognition"}


def test_the_pruned_botocore_still_makes_an_s3_client(bundle_root: Path, tmp_path: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import boto3;"
        "c = boto3.client('s3', region_name='eu-west-1', aws_access_key_id='a', aws_secret_access_key='b');"
        "print(c.meta.endpoint_url)"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(bundle_root)],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "https://s3.eu-west-1.amazonaws.com"


def test_too_large_a_bundle_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(BundleTooLarge) as caught:
        build_bundle("x86_64", tmp_path, "3.12", max_unzipped_bytes=50_000_000)
    message = str(caught.value)
    assert "\n" not in message
    assert "MB unzipped, over the limit of 50.0 MB" in message and "imageio_ffmpeg" in message
    assert not list(tmp_path.glob("*.zip"))


def test_the_zip_is_deterministic(bundle: Bundle, tmp_path: Path) -> None:
    from lambda_bundle.build import write_zip

    root = tmp_path / "root"
    with zipfile.ZipFile(bundle.path) as z:
        z.extractall(root)
    first, again = tmp_path / "a.zip", tmp_path / "b.zip"
    write_zip(root, first)
    (root / "sprocket_cli" / "__init__.py").touch()  # a new mtime must not change the zip
    write_zip(root, again)
    assert first.read_bytes() == again.read_bytes()


def test_a_second_build_from_the_same_inputs_is_not_redone(bundle: Bundle) -> None:
    """What makes a second `sprocket setup` skip the build: the builder finds its own zip."""
    before = bundle.path.stat()
    again = build_bundle(bundle.arch, bundle.path.parent, bundle.python_version)
    assert again.reused and again.path == bundle.path
    after = again.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert dataclasses.replace(again, reused=False) == bundle


def test_a_changed_input_or_zip_means_a_new_build(bundle: Bundle, tmp_path: Path) -> None:
    from lambda_bundle.cache import earlier_build, inputs_digest

    digest = inputs_digest(bundle.arch, bundle.python_version, faces=False)
    other_arch = "arm64" if bundle.arch == "x86_64" else "x86_64"
    assert digest != inputs_digest(other_arch, bundle.python_version, faces=False)
    assert digest != inputs_digest(bundle.arch, "3.99", faces=False)
    assert digest != inputs_digest(bundle.arch, bundle.python_version, faces=True)
    # The record and its zip, copied: found again; with the zip cut short, not.
    for suffix in (".zip", ".json"):
        shutil.copy(bundle.path.with_suffix(suffix), tmp_path / bundle.path.with_suffix(suffix).name)
    path, found_digest, found = earlier_build(tmp_path, bundle.arch, bundle.python_version, faces=False)
    assert found is not None and found.reused and found_digest == digest and path.parent == tmp_path
    with path.open("r+b") as f:
        f.truncate(100)
    assert earlier_build(tmp_path, bundle.arch, bundle.python_version, faces=False)[2] is None
    # A record made from other inputs (another checkout of the code, say) is not taken either.
    record = path.with_suffix(".json")
    record.write_text(record.read_text().replace(digest, "0" * 64))
    shutil.copy(bundle.path, path)
    assert earlier_build(tmp_path, bundle.arch, bundle.python_version, faces=False)[2] is None


def test_a_build_whose_inputs_changed_meanwhile_is_not_recorded(bundle: Bundle, tmp_path: Path) -> None:
    """Code edited during a build: the zip may hold either version, so no record vouches for it."""
    from lambda_bundle.cache import earlier_build, record_build

    path, digest, _ = earlier_build(tmp_path, bundle.arch, bundle.python_version, faces=False)
    shutil.copy(bundle.path, path)
    moved = dataclasses.replace(bundle, path=path)
    assert record_build(moved, "0" * 64) == moved  # the digest taken before the build differs
    assert not path.with_suffix(".json").exists()
    assert earlier_build(tmp_path, bundle.arch, bundle.python_version, faces=False)[2] is None
    record_build(moved, digest)
    assert earlier_build(tmp_path, bundle.arch, bundle.python_version, faces=False)[2] is not None
