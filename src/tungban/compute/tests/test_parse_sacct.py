"""parse_sacct on output captured from the test cluster (Slurm 22.05.8, scripts/slurm-cluster):
``sacct --allusers --allocations --parsable2 --noheader --format=<SACCT_FIELDS>`` with TZ=UTC;
the jobs: GPU jobs completed, failed and cancelled while running, one without GPUs, one
cancelled while pending, one pending on its account's GPU-minutes (AssocGrpGRESMinutes) and one
still running."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tungban.compute.services import parse_sacct

FIXTURE = Path(__file__).parent / "fixtures" / "sacct-22.05.txt"
UTC = dt.UTC


def _by_id():
    return {r.job_id: r for r in parse_sacct(FIXTURE.read_text())}


def test_every_line_is_a_record_in_order():
    records = parse_sacct(FIXTURE.read_text())
    assert [r.job_id for r in records] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert {r.cluster for r in records} == {"tungban"}
    assert {r.user for r in records} == {"root"}


def test_a_completed_gpu_job_counts_its_gpus_times_its_elapsed_seconds():
    job = _by_id()["3"]
    assert (job.account, job.state, job.gpus, job.elapsed_seconds) == ("fixture-a", "COMPLETED", 2, 4)
    assert job.gpu_seconds == 8
    assert job.submitted_at == dt.datetime(2026, 12, 6, 4, 31, 38, tzinfo=UTC)
    assert job.started_at == dt.datetime(2026, 12, 6, 4, 31, 39, tzinfo=UTC)
    assert job.ended_at == dt.datetime(2026, 12, 6, 4, 31, 43, tzinfo=UTC)


def test_failed_and_cancelled_jobs_are_charged_for_the_time_they_ran():
    jobs = _by_id()
    assert (jobs["4"].state, jobs["4"].gpu_seconds) == ("FAILED", 1)
    assert (jobs["6"].state, jobs["6"].gpus, jobs["6"].gpu_seconds) == ("CANCELLED", 4, 4)  # "CANCELLED by 0"


def test_a_job_without_gpus_is_charged_nothing():
    job = _by_id()["5"]
    assert (job.state, job.gpus, job.gpu_seconds) == ("COMPLETED", 0, 0)


def test_pending_and_never_started_jobs_have_no_times_and_no_charge():
    jobs = _by_id()
    pending, cancelled = jobs["7"], jobs["2"]
    assert (pending.state, pending.started_at, pending.ended_at, pending.gpu_seconds) == ("PENDING", None, None, 0)
    assert (cancelled.state, cancelled.started_at, cancelled.gpu_seconds) == ("CANCELLED", None, 0)
    assert cancelled.ended_at == dt.datetime(2026, 12, 6, 4, 30, 20, tzinfo=UTC)


def test_a_running_job_is_charged_so_far_and_has_no_end():
    job = _by_id()["8"]
    assert (job.state, job.ended_at, job.gpus, job.elapsed_seconds, job.gpu_seconds) == ("RUNNING", None, 3, 3, 9)


def test_typed_gpus_count_when_there_is_no_untyped_total():
    (job,) = parse_sacct(
        "c|9|a|u|COMPLETED|2026-12-06T00:00:00|2026-12-06T00:00:00|2026-12-06T00:01:00|60|cpu=1,gres/gpu:a100=2,gres/gpu:h100=1\n"
    )
    assert job.gpus == 3 and job.gpu_seconds == 180


def test_blank_lines_are_skipped_and_a_short_line_is_named():
    assert parse_sacct("\n\n") == []
    with pytest.raises(ValueError, match="line 2"):
        parse_sacct("\ntungban|1|a|root|COMPLETED\n")
    with pytest.raises(ValueError, match="line 1"):
        parse_sacct("c|1|a|u|COMPLETED|yesterday|None|None|0|\n")
