"""Joining or starting a Ray cluster, and leaving it as it was found."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from types import TracebackType

from supernas.errors import WorkerError

LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray keeps a node on the loopback address


@dataclass(frozen=True)
class ClusterSettings:
    """Where the Ray workers run."""

    address: str | None = None  # an existing cluster ("host:port", "ray://host:port"); None: local
    num_cpus: int | None = None  # CPUs of a local cluster (None: all of this machine)
    num_gpus: int | None = None  # GPUs of a local cluster (None: detected)
    connect_timeout_s: float = 5.0  # how long an address may take to answer


def resolve_address(address: str | None) -> str | None:
    """``address``, else ``$RAY_ADDRESS``, else None (start a local cluster)."""
    return address or os.environ.get("RAY_ADDRESS") or None


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a cluster address (None for ``auto``); a malformed one is an error naming the option."""
    if address == "auto":
        return None
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1]:PORT
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise WorkerError(f"{address!r} is not valid; valid: HOST:PORT, ray://HOST:PORT or auto", field="ray_address")
    return host, int(port)


def probe(address: str, timeout_s: float) -> None:
    """Fail fast, naming the option, if nothing answers at ``address``."""
    parsed = parse_address(address)
    if parsed is None:
        return
    host, port = parsed
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise WorkerError(
            f"{address!r} is unreachable within {timeout_s:g} s ({exc.strerror or exc}); "
            "start the cluster or fix the address",
            field="ray_address",
        ) from None


def check_local_gpus(address: str | None, share: float, field: str) -> None:
    """Before starting a local cluster: refuse a GPU share this machine cannot give (no Ray start-up needed)."""
    if resolve_address(address) is not None or share <= 0:
        return  # an existing cluster is checked once joined
    import torch

    have = torch.cuda.device_count()
    if share > have:
        raise WorkerError(f"{share:g} is more than this machine has ({have} GPUs); valid: 0 to {have}", field=field)


def _bind_to_localhost() -> None:
    """Make the local cluster about to start listen on 127.0.0.1 only.

    Ray (2.60) binds its gRPC servers to the loopback address exactly when the node's
    address is loopback, and picks loopback for a node that is not meant to join a
    multi-machine cluster — the mode Ray uses on macOS and Windows, switched on by
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``. Ray reads that variable when it is imported,
    so the already-imported constant is set too; Ray's own processes inherit the variable.
    """
    import ray._private.ray_constants as ray_constants

    os.environ[LOCAL_ONLY_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


class RayCluster:
    """Context manager: joins ``address`` or starts a local cluster; shuts down only what it started."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.started = False

    def __enter__(self) -> RayCluster:
        import ray

        address = resolve_address(self.settings.address)
        if address is not None:
            probe(address, self.settings.connect_timeout_s)
        if ray.is_initialized():
            return self
        if address is not None:
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise WorkerError(f"{address!r}: cannot join the cluster ({exc})", field="ray_address") from None
            return self
        _bind_to_localhost()
        ray.init(
            num_cpus=self.settings.num_cpus,
            num_gpus=self.settings.num_gpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,  # Ray's start-up chatter would break one-line errors
        )
        self.started = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.started:
            import ray

            ray.shutdown()
