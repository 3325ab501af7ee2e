"""Amazon EMR and EMR Serverless tasks (`aws.emr.*`)."""

from sluice.plugins.aws.emr._serverless import JobRunOutputs
from sluice.plugins.aws.emr._steps import StepConfig
from sluice.plugins.aws.emr.create_cluster_and_submit_steps import (
    ClusterOutputs,
    CreateClusterAndSubmitSteps,
)
from sluice.plugins.aws.emr.create_serverless_application_and_start_job import (
    CreateServerlessApplicationAndStartJob,
)
from sluice.plugins.aws.emr.delete_cluster import DeleteCluster, DeleteClusterOutputs
from sluice.plugins.aws.emr.delete_serverless_application import (
    DeleteApplicationsOutputs,
    DeleteServerlessApplication,
)
from sluice.plugins.aws.emr.get_serverless_job_run import GetServerlessJobRun
from sluice.plugins.aws.emr.list_serverless_job_runs import (
    ListJobRunsOutputs,
    ListServerlessJobRuns,
)
from sluice.plugins.aws.emr.start_serverless_job_run import StartServerlessJobRun
from sluice.plugins.aws.emr.submit_steps import SubmitSteps, SubmitStepsOutputs

__all__ = [
    "ClusterOutputs",
    "CreateClusterAndSubmitSteps",
    "CreateServerlessApplicationAndStartJob",
    "DeleteApplicationsOutputs",
    "DeleteCluster",
    "DeleteClusterOutputs",
    "DeleteServerlessApplication",
    "GetServerlessJobRun",
    "JobRunOutputs",
    "ListJobRunsOutputs",
    "ListServerlessJobRuns",
    "StartServerlessJobRun",
    "StepConfig",
    "SubmitSteps",
    "SubmitStepsOutputs",
]
