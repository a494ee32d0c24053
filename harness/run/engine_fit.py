"""Which engine can run which task, checked when a suite is planned, before any model loads:
the request kinds a task asks of an engine's path for it (an encoder's probe, say), and the
task's primaries on that path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.backends import BACKENDS
from harness.core.errors import UserError
from harness.core.requests import Request

if TYPE_CHECKING:
    from harness.run.plan import Plan, PreparedTask


def check_request_kinds(p: Plan) -> None:
    """Every task asks its model's engine only for what the engine answers (an encoder
    gives embeddings: no perplexity, no generation), and the path the engine takes (an
    encoder's probe) has the task's primaries, before any model loads."""
    checked: set[tuple[str, frozenset[type[Request]]]] = set()
    for variant in p.variants:
        engine = BACKENDS.get(variant.model.backend)
        for task in p.tasks_for(variant):
            if (task.name, engine.answers) in checked:
                continue
            checked.add((task.name, engine.answers))
            where = (
                f"{p.suite_path}: model '{variant.model.name}' (backend "
                f"'{variant.model.backend}') cannot run task '{task.name}' (adapter "
                f"'{task.config.adapter}')"
            )
            _check_kinds_of(task.on_engine(engine.answers), engine.answers, where)


def _check_kinds_of(task: PreparedTask, answers: frozenset[type[Request]], where: str) -> None:
    if missing := sorted(k.__name__ for k in task.request_kinds - answers):
        answered = ", ".join(sorted(k.__name__ for k in answers))
        raise UserError(
            f"{where}: the task asks for {', '.join(missing)} requests and this engine "
            f"answers {answered}; pick another backend, or narrow the model's `tasks`"
        )
    names = [m.name for m in task.adapter.metrics]
    if lost := [m for m in task.config.primary or [] if m not in names]:
        raise UserError(
            f"{where}: key 'primary' names {', '.join(lost)}, which this engine's path for "
            f"the task does not compute (it computes {', '.join(names)})"
        )
