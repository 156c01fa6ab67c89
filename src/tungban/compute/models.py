"""Compute allocations on a batch scheduler (issue 20, part B): accounts with a GPU-minutes
limit, the jobs charged to them and the usage imported from the scheduler's accounting.

Generic: an :class:`Account` is a scheduler account (a Slurm account: an association with
``GrpTRESMins=gres/gpu=<limit>``) with an owner string chosen by the caller (the subsidy app
puts an award's public id there); nothing here knows about subsidies.

The platform's row is the truth for the limit and the dates; the scheduler is brought to it by
a task (:func:`tungban.compute.services.provision_task`). Slurm has no end date on an
association, so the dates are the platform's: the account is created on the cluster on
``starts_on`` and closed after ``ends_on`` (its limit set to the minutes used, so no new job
starts).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    SUBSIDISED = "subsidised", _("Subsidised")
    MARKET = "market", _("Market price")


class AccountState(models.TextChoices):
    """``pending``: not (yet) on the scheduler (before ``starts_on``, provisioning under way or
    no scheduler configured: ``state_reason`` says which); ``active``: on the scheduler with the
    platform's limit; ``failed``: provisioning failed after every retry (``last_error``);
    ``closed``: after ``ends_on`` or closed by hand, its limit on the scheduler is its usage."""

    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    FAILED = "failed", _("Failed")
    CLOSED = "closed", _("Closed")


class Account(models.Model):
    name = models.CharField(_("account name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices, default=AccountKind.SUBSIDISED)
    owner = models.CharField(_("owner"), max_length=128, db_index=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    users = models.JSONField(_("scheduler users"), default=list, blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    limit_gpu_minutes = models.BigIntegerField(_("limit (GPU-minutes)"))
    state = models.CharField(_("state"), max_length=16, choices=AccountState.choices, default=AccountState.PENDING)
    state_reason = models.CharField(_("reason for the state"), max_length=300, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    task_id = models.CharField(_("current task"), max_length=64, blank=True)
    applied_limit_gpu_minutes = models.BigIntegerField(_("limit on the scheduler (GPU-minutes)"), null=True, blank=True)
    provisioned_at = models.DateTimeField(_("provisioned at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("compute account")
        verbose_name_plural = _("compute accounts")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class LimitChange(models.Model):
    """One change of an account's limit: opening, a new limit, a loan out or in, closing."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="limit_changes", verbose_name=_("compute account")
    )
    old_gpu_minutes = models.BigIntegerField(_("old limit (GPU-minutes)"), null=True)
    new_gpu_minutes = models.BigIntegerField(_("new limit (GPU-minutes)"))
    reason = models.CharField(_("reason"), max_length=300)
    counterpart = models.CharField(_("other account"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("limit change")
        verbose_name_plural = _("limit changes")
        ordering = ("created_at", "pk")


class Job(models.Model):
    """A job as the scheduler's accounting last reported it (one row per cluster and job id,
    updated as the job runs and ends). ``gpu_seconds`` = GPUs allocated × elapsed seconds."""

    cluster = models.CharField(_("cluster"), max_length=64)
    job_id = models.CharField(_("job id"), max_length=64)
    account = models.CharField(_("account name"), max_length=64, db_index=True)
    user = models.CharField(_("scheduler user"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=32)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    elapsed_seconds = models.BigIntegerField(_("elapsed seconds"), default=0)
    gpus = models.PositiveIntegerField(_("GPUs"), default=0)
    gpu_seconds = models.BigIntegerField(_("GPU-seconds"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scheduler job")
        verbose_name_plural = _("scheduler jobs")
        constraints = [models.UniqueConstraint(fields=["cluster", "job_id"], name="compute_job_cluster_id")]
        ordering = ("-submitted_at", "-pk")


class SyncState(models.Model):
    """The usage import's visible state (one row, ``name="sacct"``)."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    state = models.CharField(_("state"), max_length=16, default="idle")
    last_started_at = models.DateTimeField(_("last started at"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last synced at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    records = models.PositiveIntegerField(_("records imported"), default=0)

    class Meta:
        verbose_name = _("usage import")
        verbose_name_plural = _("usage imports")


class AccountUserState(models.TextChoices):
    """A scheduler user of an account: ``pending`` (named, not yet on the scheduler: the account
    has not opened, or the task is under way; ``state_reason`` says which), ``active`` (an
    association of the user with the account exists), ``removing`` (removal asked, the task
    under way), ``removed`` (no longer on the scheduler), ``failed`` (the scheduler refused
    after every retry: ``last_error``)."""

    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    REMOVING = "removing", _("Being removed")
    REMOVED = "removed", _("Removed")
    FAILED = "failed", _("Failed")


class AccountUser(models.Model):
    """A scheduler (POSIX) user allowed to charge an account: one row per account and user
    name, its state kept by :func:`tungban.compute.services.user_task` (``sacctmgr add user`` /
    ``remove user``)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="account_users", verbose_name=_("compute account")
    )
    name = models.CharField(_("scheduler user name"), max_length=32)
    state = models.CharField(
        _("state"), max_length=16, choices=AccountUserState.choices, default=AccountUserState.PENDING
    )
    state_reason = models.CharField(_("reason for the state"), max_length=300, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    task_id = models.CharField(_("current task"), max_length=64, blank=True)
    changed_by = models.CharField(_("changed by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scheduler user of an account")
        verbose_name_plural = _("scheduler users of accounts")
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="compute_account_user_unique")]
        ordering = ("account", "name")

    def __str__(self) -> str:
        return f"{self.name}@{self.account_id}"
