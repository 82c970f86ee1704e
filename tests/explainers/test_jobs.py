"""explainers.jobs.LatestJob: one job at a time, the newest request wins, stale results
are dropped; driven by a stand-in runner so every step is explicit."""

from __future__ import annotations

from explainers.jobs import LatestJob

from .deferred import DeferredPool


def test_a_click_storm_supersedes_instead_of_queueing():
    pool = DeferredPool()
    calls, shown, progress = [], [], []

    def compute(x, report):
        calls.append(x)
        report(0.5, ("partial", x))
        report(1.0)
        return x * 10

    latest = LatestJob(
        compute, shown.append, lambda f, part: progress.append((f, part)), runner=pool
    )
    latest.request(1)
    for x in range(2, 50):  # 48 more requests while the first is still running
        latest.request(x)
    assert latest.launched == 1 and len(pool.jobs) == 1 and latest.busy
    pool.run_next()  # the first job stops at its first report: it is stale
    assert calls == [1] and shown == [] and progress == []
    assert latest.launched == 2 and len(pool.jobs) == 1  # only the newest runs next
    pool.run_next()
    assert calls == [1, 49] and shown == [490]
    assert progress == [(0.5, ("partial", 49)), (1.0, ("partial", 49))]
    assert not latest.busy and pool.jobs == []


def test_late_or_out_of_order_progress_is_dropped():
    pool = DeferredPool()
    progress = []
    latest = LatestJob(
        lambda report: report(0.3) or 1,
        lambda v: None,
        lambda f, p: progress.append(f),
        runner=pool,
    )
    latest.request()
    job, on_done, on_progress = pool.jobs.pop()
    on_progress(0.6)
    on_progress(0.4)  # older than what is shown
    on_done(job(lambda f: None))
    on_progress(0.9)  # after the result
    assert progress == [0.6]


def test_without_supersede_a_request_while_busy_is_refused_and_the_first_result_shown():
    pool, shown = DeferredPool(), []
    job = LatestJob(lambda x, report: x, shown.append, supersede=False, runner=pool)
    assert job.request(1)
    assert not job.request(2)  # refused: the caller tells the reader
    pool.run_next()
    assert shown == [1] and not job.busy and job.launched == 1


def test_cancel_drops_a_running_jobs_result_and_frees_the_slot():
    pool, shown = DeferredPool(), []
    job = LatestJob(lambda x, report: x, shown.append, runner=pool)
    job.request(1)
    job.cancel()
    pool.run_next()
    assert shown == [] and not job.busy
    job.request(2)
    pool.run_next()
    assert shown == [2]


def test_a_failure_goes_to_on_error_and_never_to_on_done():
    pool, shown, errors = DeferredPool(), [], []

    def broken(report):
        raise RuntimeError("boom")

    job = LatestJob(broken, shown.append, on_error=errors.append, runner=pool)
    job.request()
    pool.run_next()
    assert shown == [] and [str(e) for e in errors] == ["boom"] and not job.busy


def test_a_job_runs_at_once_without_a_server_session():
    shown = []
    LatestJob(lambda x, report: (report(1.0), x)[1], shown.append).request(7)
    assert shown == [7]
