"""Background work of the people app: registry imports run in the Huey worker (immediate mode in tests)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from tongxin.core.models import ImportJob


@db_task()
def run_import_job(job_id: int) -> str:
    """Run one import job. Idempotent: a job that already finished is left alone."""
    from tongxin.people.imports import run_import

    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING):
        return "skipped"
    return run_import(job).status
