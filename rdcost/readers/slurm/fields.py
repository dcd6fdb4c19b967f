"""sacct field names: every ``--format`` name across Slurm 14.11-26.05, how sacct
matches a name a user or a header writes to one of them, and which fields hold free
text (where an unescaped delimiter can hide)."""

from __future__ import annotations

from collections.abc import Iterable

from rdcost.errors import UsageError

#: Every sacct --format field name across Slurm 14.11-26.05, spelled as sacct
#: prints it, in sacct's own table order (case-insensitive alphabetical), which
#: is the order its prefix matching tries them (``elapsed`` -> Elapsed).
SACCT_FIELDS: tuple[str, ...] = tuple(
    sorted(
        (
            "Account",
            "AdminComment",
            "AllocCPUS",
            "AllocGRES",
            "AllocNodes",
            "AllocTRES",
            "AssocID",
            "AveCPU",
            "AveCPUFreq",
            "AveDiskRead",
            "AveDiskWrite",
            "AvePages",
            "AveRSS",
            "AveVMSize",
            "BlockID",
            "Cluster",
            "Comment",
            "Constraints",
            "ConsumedEnergy",
            "ConsumedEnergyRaw",
            "Container",
            "CPUTime",
            "CPUTimeRAW",
            "DBIndex",
            "DerivedExitCode",
            "Elapsed",
            "ElapsedRaw",
            "Eligible",
            "End",
            "Exclusive",
            "ExitCode",
            "Extra",
            "FailedNode",
            "Flags",
            "GID",
            "Group",
            "JobID",
            "JobIDRaw",
            "JobName",
            "Layout",
            "Licenses",
            "MaxDiskRead",
            "MaxDiskReadNode",
            "MaxDiskReadTask",
            "MaxDiskWrite",
            "MaxDiskWriteNode",
            "MaxDiskWriteTask",
            "MaxPages",
            "MaxPagesNode",
            "MaxPagesTask",
            "MaxRSS",
            "MaxRSSNode",
            "MaxRSSTask",
            "MaxVMSize",
            "MaxVMSizeNode",
            "MaxVMSizeTask",
            "McsLabel",
            "MinCPU",
            "MinCPUNode",
            "MinCPUTask",
            "NCPUS",
            "NNodes",
            "NodeList",
            "NTasks",
            "OriginalSLUID",
            "OverSubscribe",
            "Partition",
            "Planned",
            "PlannedCPU",
            "PlannedCPURAW",
            "Priority",
            "QOS",
            "QOSRAW",
            "QOSREQ",
            "Reason",
            "ReqCPUFreq",
            "ReqCPUFreqGov",
            "ReqCPUFreqMax",
            "ReqCPUFreqMin",
            "ReqCPUS",
            "ReqGRES",
            "ReqMem",
            "ReqNodes",
            "ReqReservation",
            "ReqTRES",
            "Reservation",
            "ReservationId",
            "Reserved",
            "Restarts",
            "ResvCPU",
            "ResvCPURAW",
            "SegmentSize",
            "SLUID",
            "Start",
            "State",
            "StdErr",
            "StdIn",
            "StdOut",
            "Submit",
            "SubmitLine",
            "Suspended",
            "SystemComment",
            "SystemCPU",
            "Timelimit",
            "TimelimitRaw",
            "TotalCPU",
            "TRESUsageInAve",
            "TRESUsageInMax",
            "TRESUsageInMaxNode",
            "TRESUsageInMaxTask",
            "TRESUsageInMin",
            "TRESUsageInMinNode",
            "TRESUsageInMinTask",
            "TRESUsageInTot",
            "TRESUsageOutAve",
            "TRESUsageOutMax",
            "TRESUsageOutMaxNode",
            "TRESUsageOutMaxTask",
            "TRESUsageOutMin",
            "TRESUsageOutMinNode",
            "TRESUsageOutMinTask",
            "TRESUsageOutTot",
            "UID",
            "User",
            "UserCPU",
            "WCKey",
            "WCKeyID",
            "WorkDir",
        ),
        key=str.casefold,
    )
)

_BY_LOWER = {f.casefold(): f for f in SACCT_FIELDS}


def resolve_field(name: str) -> str | None:
    """A field name as a header or --fields writes it -> sacct's spelling.

    Exact case-insensitive match first; otherwise a case-insensitive prefix,
    the first in sacct's table order wins (as ``sacct -o`` does). A name cut
    by the fixed-width header (``ConsumedE+``) is matched by its prefix.
    None when nothing matches.
    """
    n = name.strip()
    if n.endswith("+"):
        n = n[:-1]
    low = n.casefold()
    if not low:
        return None
    if low in _BY_LOWER and not name.strip().endswith("+"):
        return _BY_LOWER[low]
    for f in SACCT_FIELDS:
        if f.casefold().startswith(low):
            return f
    return None


def fields_from_user(names: Iterable[str]) -> list[str]:
    """``--fields`` -> canonical names; an unknown name is a UsageError."""
    out: list[str] = []
    unknown: list[str] = []
    for n in names:
        f = resolve_field(n)
        (out if f else unknown).append(f or n)
    if unknown:
        raise UsageError(
            f"--fields: not sacct field names: {', '.join(unknown)}",
            hint="use the names of the sacct --format list, e.g. JobID,State,Elapsed",
        )
    return out


def is_known_field(name: str) -> bool:
    return name.strip().casefold() in _BY_LOWER


#: Fields whose values are free text written by users or admins: sacct prints them
#: without escaping, so a delimiter inside one (a shell pipe in ``--wrap``, a
#: ``a100|h100`` constraint) gives the line extra fields (formats.md 1.3).
FREE_TEXT_FIELDS: frozenset[str] = frozenset(
    {
        "JobName",
        "Comment",
        "AdminComment",
        "SystemComment",
        "SubmitLine",
        "WorkDir",
        "Constraints",
        "Reason",
        "StdOut",
        "StdErr",
        "StdIn",
        "Extra",
        "Container",
        "Licenses",
        "McsLabel",
        "WCKey",
        "FailedNode",
        "Reservation",
        "Flags",
        "BlockID",
    }
)
