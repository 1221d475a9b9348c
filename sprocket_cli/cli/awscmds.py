"""``sprocket setup``, ``teardown`` and ``doctor``: deploy the Lambda worker, remove it, check it
(``doctor --backend ray`` checks a Ray cluster instead)."""

from __future__ import annotations

import inspect
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Only the settings (setup's help shows their defaults): the deploy code, and boto3 behind it,
# load when a command runs, so that `--help` stays quick.
from sprocket_cli.aws.settings import (
    DEFAULT_FUNCTION,
    DEFAULT_MEMORY_MB,
    DEFAULT_ROLE,
    AwsSettings,
    settings_path,
)
from sprocket_cli.cli.boundary import boundary
from sprocket_cli.cli.options import BackendOpt
from sprocket_cli.errors import UsageError

if TYPE_CHECKING:
    from sprocket_cli.aws.bundle import BundleInfo
    from sprocket_cli.aws.deploy import Target
    from sprocket_cli.aws.plan import Step

out = Console(highlight=False, soft_wrap=True)
#: Shown in a dry run where the account id would be (reading it is an AWS call).
ACCOUNT = "<account>"


class Arch(StrEnum):
    arm64 = "arm64"
    x86_64 = "x86_64"


Region = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="AWS region (default: the saved settings', else AWS_REGION or the profile's).",
    ),
]
Profile = Annotated[
    str | None,
    typer.Option("--profile", help="Named AWS profile for credentials (default: boto3's standard chain)."),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print every AWS call it would make, and why; make none.")
]

SETUP_EPILOG = """Examples:

  sprocket setup --region us-east-1 --dry-run

  sprocket setup --region us-east-1

  sprocket setup --region eu-west-1 --memory 4096 --arch x86_64 --profile work

  sprocket setup --region us-east-1 --bundle dist/sprocket-lambda.zip

Run it again after upgrading Sprocket: only what changed is updated."""

TEARDOWN_EPILOG = """Examples:

  sprocket teardown --dry-run

  sprocket teardown --yes"""

DOCTOR_EPILOG = """Examples:

  sprocket doctor

  sprocket doctor --profile work

  sprocket doctor --backend ray --backend-opt address=10.0.0.7:6379"""


def _resolve_region(region: str | None, saved: AwsSettings | None, profile: str | None) -> str:
    from sprocket_cli.aws.session import check_region, default_region

    chosen = region or (saved.region if saved else None) or default_region(profile)
    if not chosen:
        raise UsageError("no AWS region: pass --region (or set AWS_REGION)")
    return check_region(chosen)


@boundary
def setup_cmd(
    region: Region = None,
    bucket: Annotated[
        str | None,
        typer.Option("--bucket", help="S3 bucket to create or reuse (default: sprocket-ACCOUNT-REGION)."),
    ] = None,
    memory: Annotated[
        int, typer.Option("--memory", min=128, max=10240, help="Function memory, MB (CPU grows with it).")
    ] = DEFAULT_MEMORY_MB,
    arch: Annotated[Arch, typer.Option("--arch", help="CPU architecture of the function.")] = Arch.arm64,
    dry: DryRun = False,
    profile: Profile = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="A prebuilt bundle zip of this code (default: build one now)."),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild", help="Build the bundle anew even if this code's was built before (new dependencies)."
        ),
    ] = False,
) -> None:
    """Deploy the Lambda worker: a private S3 bucket, an IAM role and the function. Safe to re-run.

    The bucket blocks public access, encrypts at rest and expires job intermediates after a day;
    the role may touch only the bucket's jobs/ prefix and the function's own logs. Settings (no
    credentials) are saved for the Lambda executor; credentials come from boto3's standard chain.
    """
    from sprocket_cli import stamp
    from sprocket_cli.aws.bundle import FACES_ARCHES, RUNTIME, BundleInfo, build, cache_folder, prebuilt
    from sprocket_cli.aws.deploy import setup_steps
    from sprocket_cli.aws.plan import Runner
    from sprocket_cli.aws.session import Clients, whoami

    saved = AwsSettings.load()
    profile = profile or (saved.profile if saved else None)
    region = _resolve_region(region, saved, profile)
    if bucket is None and saved is not None and saved.region == region:
        bucket = saved.bucket  # keep using the bucket an earlier `setup --bucket` chose
    if dry:
        info = (
            prebuilt(bundle)
            if bundle
            else BundleInfo(
                Path("<bundle built by lambda_bundle.build>"),
                RUNTIME,
                stamp.code_stamp(),
                0,
                faces=arch.value in FACES_ARCHES,
            )
        )
        target = _target(region, ACCOUNT, bucket, memory, arch.value, info, "aws")
        _print_plan(setup_steps(target), "assumes nothing exists yet")
        return
    clients = Clients(region, profile)
    identity = whoami(clients)
    changes = 0
    if bundle is None:
        out.print(f"the worker bundle for {arch.value} (built only if this code's is not in the cache) ...")
    info = prebuilt(bundle) if bundle else build(arch.value, cache_folder(), rebuild=rebuild)
    if bundle is None:
        done = "reused, its inputs unchanged" if info.reused else "built"
        out.print(f"bundle {info.path.name}: {done}")
    if not info.faces:
        how = (
            "build it with `python -m lambda_bundle.build --arch arm64 --faces`"
            if bundle
            else "use --arch arm64"
        )
        out.print(f"the bundle has no face detector (dlib), so find-face will not run on Lambda: {how}")
    target = _target(region, identity.account, bucket, memory, arch.value, info, identity.partition)
    out.print(f"account {identity.account}, region {region}, code stamp {target.stamp}")
    for call in Runner(clients).apply(setup_steps(target)):
        changes += 1
        out.print(f"[green]✓[/] {call.service} {call.operation} ", end="")
        out.print(f"- {call.why}", style="dim", markup=False)
    path = AwsSettings(
        region=region,
        bucket=target.bucket,
        function=target.function,
        role=target.role,
        memory_mb=memory,
        arch=arch.value,
        stamp=target.stamp,
        profile=profile,
        faces=target.faces,
    ).save()
    if changes:
        out.print(f"deployed {target.function} ({changes} changes); settings in {path}")
    else:
        out.print(f"everything is up to date: {target.function} runs {target.stamp}; settings in {path}")


def _target(
    region: str,
    account: str,
    bucket: str | None,
    memory: int,
    arch: str,
    info: BundleInfo,
    partition: str,
) -> Target:
    from sprocket_cli.aws.deploy import Target, default_bucket

    return Target(
        region=region,
        account=account,
        bucket=bucket or default_bucket(account, region),
        function=DEFAULT_FUNCTION,
        role=DEFAULT_ROLE,
        memory_mb=memory,
        arch=arch,
        stamp=info.stamp,
        runtime=info.runtime,
        bundle=str(info.path),
        partition=partition,
        faces=info.faces,
    )


setup_cmd.__doc__ = inspect.cleandoc(setup_cmd.__doc__ or "") + "\n\n" + SETUP_EPILOG


@boundary
def teardown_cmd(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry: DryRun = False,
    profile: Profile = None,
) -> None:
    """Remove what sprocket setup created: the function, the role, the bucket (every object in it
    too) and the settings file. Pieces already gone are fine."""
    from sprocket_cli.aws.plan import Runner
    from sprocket_cli.aws.session import Clients, check_region, whoami
    from sprocket_cli.aws.teardown import Deployed, teardown_steps

    saved = AwsSettings.load()
    if saved is None:
        out.print(f"nothing to remove: no settings at {settings_path()} (setup never ran, or teardown did)")
        return
    profile = profile or saved.profile
    region = check_region(saved.region)

    def deployed(account: str) -> Deployed:
        return Deployed(region, account, saved.bucket, saved.function, saved.role)

    if dry:
        _print_plan(teardown_steps(deployed(ACCOUNT)), "assumes everything setup made exists")
        out.print(f"then the settings file {settings_path()} is deleted")
        return
    if not yes:
        typer.confirm(
            f"Delete function {saved.function}, role {saved.role} and bucket {saved.bucket} "
            f"with every object in it ({region})?",
            abort=True,
        )
    clients = Clients(region, profile)
    identity = whoami(clients)
    for call in Runner(clients).apply(teardown_steps(deployed(identity.account))):
        out.print(f"[green]✓[/] {call.service} {call.operation} ", end="")
        out.print(f"- {call.why}", style="dim", markup=False)
    AwsSettings.delete()
    out.print(f"removed sprocket's AWS resources in {region} and {settings_path()}")


teardown_cmd.__doc__ = inspect.cleandoc(teardown_cmd.__doc__ or "") + "\n\n" + TEARDOWN_EPILOG

MARK = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "warn": "[yellow]![/]", "skip": "[dim]-[/]"}


class DoctorBackend(StrEnum):
    lambda_ = "lambda"
    ray = "ray"


@boundary
def doctor_cmd(
    profile: Profile = None,
    region: Region = None,
    backend: Annotated[
        DoctorBackend,
        typer.Option("--backend", help="Which backend to check: lambda, or ray (a Ray cluster)."),
    ] = DoctorBackend.lambda_,
    backend_opt: BackendOpt = None,
) -> None:
    """Check that jobs can run on Lambda (ffmpeg, credentials, settings, bucket access, the deployed
    code's version, the account's concurrency limit) or, with --backend ray, on a Ray cluster (it
    answers; every node runs this sprocket and Ray, has ffmpeg's encoders; free CPUs and GPUs).
    Exits non-zero if any check fails."""
    from sprocket_cli.aws.doctor import run_checks

    if backend is DoctorBackend.ray:
        if profile is not None or region is not None:
            raise UsageError("--profile and --region go with --backend lambda")
        _ray_doctor(backend_opt or [])
        return
    if backend_opt:
        raise UsageError("--backend-opt goes with --backend ray")
    table = Table(box=None, header_style="bold")
    for col in ("", "check", "result", "fix"):
        table.add_column(col, overflow="fold")
    failed = 0
    for check in run_checks(profile, region):
        failed += check.status == "fail"
        table.add_row(MARK[check.status], check.name, Text(check.detail), Text(check.fix, style="bold"))
    out.print(table)
    if failed:
        out.print(f"[red]{failed} {'check' if failed == 1 else 'checks'} failed[/]")
        raise typer.Exit(1)
    out.print("[green]all checks passed[/]")


def _ray_doctor(options: list[str]) -> None:
    """One line per check, as soon as it is known (a node may take seconds to answer)."""
    # Here, not at the top: `sprocket doctor --help` must not load the backends, nor Ray.
    from sprocket_cli.backends.ray_cluster import RayBackend
    from sprocket_cli.backends.ray_doctor import run_checks as ray_checks
    from sprocket_cli.cli.jobrun import bindings

    settings = RayBackend(bindings(options, "--backend-opt"))
    failed = 0
    for check in ray_checks(settings.address, settings.env):
        failed += check.status == "fail"
        line = Text.assemble(f"{check.name}: ", check.detail)
        if check.fix:
            line.append(f"  fix: {check.fix}", style="bold")
        out.print(MARK[check.status], line)
    if failed:
        raise typer.Exit(1)


doctor_cmd.__doc__ = inspect.cleandoc(doctor_cmd.__doc__ or "") + "\n\n" + DOCTOR_EPILOG


def _print_plan(steps: list[Step], assumption: str) -> None:
    """The dry run: a numbered table of every call, reads dimmed."""
    from sprocket_cli.aws.deploy import IDENTITY
    from sprocket_cli.aws.plan import dry_run

    out.print(f"[bold]dry run[/]: no AWS call made; this plan {assumption}.")
    out.print("On a real run each read decides whether the calls after it are needed.")
    table = Table(box=None, header_style="bold")
    for col in ("#", "service", "call", "parameters", "why"):
        table.add_column(col, overflow="fold")
    planned = [(IDENTITY, True), *dry_run(steps)]  # the account id is read first
    for n, (call, is_read) in enumerate(planned, 1):
        style = "dim" if is_read else ""
        table.add_row(str(n), call.service, call.operation, Text(call.shown()), Text(call.why), style=style)
    out.print(table)
