"""Python client of the monoroute services (trainer, recorder, analysis).

    from monoroute_client import Client
    with Client() as c:                       # addresses from arguments or the environment
        job = c.submit_job(open("job.yaml").read())
        for update in c.watch_job(job.id):
            print(update.job.progress.step, update.job.progress.total_loss)
        report = c.get_report(job.recorder_run_id, out_dir="out")

The gRPC stubs are generated from ``proto/`` on first import (see ``_stubs``).
"""

from monoroute_client.client import Client, ServiceError, pb  # noqa: F401

__all__ = ["Client", "ServiceError", "pb"]
