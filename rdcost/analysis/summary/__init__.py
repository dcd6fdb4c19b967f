"""The case-study summary of a project, computed once: per-job costs
(:mod:`.job_costs`), a partial per partition (:mod:`.partial`), one combine step
(:mod:`.combine`) into a :class:`.result.Summary`; on a store or a table in memory
(:mod:`.engines`)."""

from rdcost.analysis.summary.engines import (
    CostedJobs,
    check_on_missing,
    cost_jobs,
    summarize,
    summarize_jobs,
    summarize_store,
    summarize_store_by,
)
from rdcost.analysis.summary.job_costs import costs_for, job_costs, median_start_year
from rdcost.analysis.summary.result import FINAL_SIZE_QUANTILE, SCHEMA_VERSION, Summary

__all__ = [
    "CostedJobs",
    "check_on_missing",
    "cost_jobs",
    "FINAL_SIZE_QUANTILE",
    "SCHEMA_VERSION",
    "Summary",
    "costs_for",
    "job_costs",
    "median_start_year",
    "summarize",
    "summarize_jobs",
    "summarize_store",
    "summarize_store_by",
]
