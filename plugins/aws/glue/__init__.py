"""AWS Glue tasks (`aws.glue.*`): start, describe and stop job runs."""

from sluice.plugins.aws.glue._runs import JobRunOutputs
from sluice.plugins.aws.glue.get_job_run import GetJobRun
from sluice.plugins.aws.glue.start_job_run import StartJobRun
from sluice.plugins.aws.glue.stop_job_run import StopJobRun

__all__ = ["GetJobRun", "JobRunOutputs", "StartJobRun", "StopJobRun"]
