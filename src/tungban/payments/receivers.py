"""Signal receivers of the payments app (connected in ``PaymentsConfig.ready``)."""

from __future__ import annotations

from django.dispatch import receiver
from django.tasks import TaskResultStatus
from django.tasks.signals import task_finished

from . import receipts


@receiver(task_finished)
def _on_task_finished(sender, task_result, **kwargs):
    """A receipt task that failed outside its own handler (``tungban worker`` gave up on it
    after its workers died) counts as a failed attempt of the receipt's job."""
    if (
        task_result.status == TaskResultStatus.FAILED
        and task_result.task.module_path == receipts.make_receipt_task.module_path
    ):
        receipts.receipt_task_lost(task_result.args[0], str(task_result.id))
