"""The Ray executor: connect to a cluster, check it can hold every model, run the units.

Ray is an optional extra; it is imported here only, when `--executor ray` asks for it.
"""

from __future__ import annotations

import socket
from typing import Any

from harness.core.errors import UserError
from harness.executors.base import EXECUTORS, ExecutorOptions, Outcome
from harness.executors.progress import ClusterView
from harness.executors.scheduler import Scheduler
from harness.run.plan import Plan
from harness.run.progress import ProgressSink
from harness.store.records import RunStore
from harness.suite.schema import Resources

RAY_EXTRA = "pip install 'limitbench[ray]'"
PROBE_TIMEOUT_S = 5.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError(
            f"option '--executor ray' needs Ray, which is not installed: {RAY_EXTRA}"
        ) from None
    return ray


def probe_address(address: str | None) -> None:
    """Refuse an unreachable head at once: Ray itself retries for many minutes."""
    if address is None or "://" in address or ":" not in address:
        return  # RAY_ADDRESS / "auto" / "local" / a ray:// client URL: Ray decides
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except (OSError, ValueError) as err:
        raise UserError(
            f"option '--address': no Ray head answers at {address} ({err}); start one with "
            "`ray start --head` (see README, Running on a cluster) or fix the address"
        ) from None


@EXECUTORS.register("ray")
def run_on_ray(
    p: Plan,
    store: RunStore,
    done: set[tuple[str, str]],
    sink: ProgressSink,
    options: ExecutorOptions,
) -> Outcome:
    searching = [m.name for m in p.suite.models if m.slo_search is not None]
    if searching:  # each level depends on the last one's verdict: one worker in order
        raise UserError(
            f"model entry '{searching[0]}': an SLO search (key 'slo_search') decides each "
            "level from the last, so it runs with the local executor: drop '--executor ray'"
        )
    ray = import_ray()
    connect(ray, options)
    try:
        check_resources(ray, p)
        total = sum(len(p.tasks_for(v)) for v in p.variants) - len(done)
        view = ClusterView(sink, total)
        return Scheduler(ray, p, store, done, view, options.max_retries).run()
    finally:
        ray.shutdown()


def connect(ray: Any, options: ExecutorOptions) -> None:
    """Join the cluster at --address (or RAY_ADDRESS, or the one `ray start` made here; with
    none of those Ray starts a private local instance)."""
    env = {"LIMITBENCH_CACHE": options.shared_cache} if options.shared_cache else {}
    try:
        ray.init(
            address=options.address,
            runtime_env={"env_vars": env} if env else None,
            log_to_driver=False,  # worker chatter would tear the progress display
            logging_level="WARNING",
        )
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = options.address or "RAY_ADDRESS or the local default"
        raise UserError(
            f"option '--address': could not join a Ray cluster at {where}: {err}. "
            "Start one with `ray start --head` (see README, Running on a cluster)."
        ) from None


def ray_demand(resources: Resources) -> dict[str, float]:
    """The model entry's resources in Ray's own names (memory in bytes)."""
    need = {"CPU": resources.num_cpus, "GPU": resources.num_gpus}
    if resources.memory_gb is not None:
        need["memory"] = resources.memory_gb * 2**30
    return {k: v for k, v in need.items() if v > 0}


def check_resources(ray: Any, p: Plan) -> None:
    """Fail now, not hang forever, when no node could ever hold a model's variant."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    for index, model in enumerate(p.suite.models):
        need = ray_demand(model.resources)
        if any(all(node.get(k, 0) >= v for k, v in need.items()) for node in nodes):
            continue
        have = "; ".join(", ".join(f"{k}={node.get(k, 0):g}" for k in need) for node in nodes)
        raise UserError(
            f"{p.suite_path}: key 'models.{index}.resources': no node of the Ray cluster has "
            f"{', '.join(f'{k}={v:g}' for k, v in need.items())} (its nodes have: "
            f"{have or 'none alive'}); lower the request or add a node that has it"
        )
