"""The CLI as users meet it: help, exit codes, stdout/stderr discipline."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from rdcost.cli import app
from rdcost.cli.assumption_options import OPTIONS, AssumptionOptions, assumption_options


def run(*args: str, env_store=None, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
    )


def command_names() -> list[str]:
    return sorted(c.name for c in typer.main.get_command(app).commands.values())


def test_top_level_help_lists_commands_with_an_example():
    r = run("--help")
    assert r.returncode == 0
    assert "Example" in r.stdout
    for name in command_names():
        assert name in r.stdout


def test_start_up_imports_only_the_command_it_runs():
    """`rdcost --help` imports no command module (nor pandas, pyarrow, matplotlib); the
    table that lists the commands without importing them matches the commands."""
    from rdcost.cli.lazy import COMMANDS

    code = (
        "import sys; from rdcost.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('MODULES', *sorted(sys.modules))"
    )
    heavy = {"pandas", "pyarrow", "numpy", "matplotlib", "dateparser"}
    commands = {m for _, m, _ in COMMANDS}
    for args, expect in ((["--help"], set()), (["ingest", "--help"], {"rdcost.cli.ingest_cmd"})):
        r = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
        )
        modules = set(r.stdout.split("MODULES", 1)[1].split())
        assert modules & commands == expect, args
        if not expect:
            assert not {m.split(".")[0] for m in modules} & heavy
        assert "matplotlib" not in modules
    group = typer.main.get_command(app)
    assert [n for n, _, _ in COMMANDS] == list(group.commands)
    for name, module, text in COMMANDS:
        cmd = group.commands[name]
        assert cmd.callback.__module__ == module
        stand_in = typer.core.TyperCommand(name, help=text)
        for limit in (30, 45, 60, 80):
            assert stand_in.get_short_help_str(limit) == cmd.get_short_help_str(limit), name


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help_with_an_example(name):
    r = run(name, "--help")
    assert r.returncode == 0, r.stderr
    assert "Example" in r.stdout, f"`rdcost {name} --help` shows no example"
    assert f"rdcost {name}" in r.stdout


def test_missing_file_is_a_clear_error_without_traceback(tmp_path):
    r = run("ingest", str(tmp_path / "nope.txt"), "--store", str(tmp_path / "s"))
    assert r.returncode == 1
    assert "nope.txt" in r.stderr and "no such file" in r.stderr
    assert "Traceback" not in r.stderr


def test_empty_file_is_refused(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("")
    r = run("ingest", str(f), "--store", str(tmp_path / "s"))
    assert r.returncode == 1 and "empty" in r.stderr and "Traceback" not in r.stderr


def test_binary_file_is_refused(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(bytes(range(256)) * 64)
    r = run("ingest", str(f), "--store", str(tmp_path / "s"))
    assert r.returncode == 1 and "binary" in r.stderr and "Traceback" not in r.stderr


def test_unknown_option_is_a_usage_error():
    r = run("ingest", "--no-such-option", "x")
    assert r.returncode == 2


def test_jobs_on_an_empty_store_says_what_to_do(tmp_path):
    r = run("jobs", "--store", str(tmp_path / "s"))
    assert r.returncode == 1 and "rdcost ingest" in r.stderr


# -- the shared job-selection and assumption options (rdcost.cli.assumption_options) ----------

FULL = ("summarize", "plot", "report", "card", "tuning")  # every shared option
PARTIAL = ("compare-buy-vs-cloud", "estimate")  # the ones that apply to them


def _params(name: str) -> dict:
    cmd = typer.main.get_command(app).commands[name]
    return {p.name: p for p in cmd.params}


def test_commands_share_one_definition_of_each_assumption_option():
    ref = _params("summarize")
    assert set(OPTIONS) <= set(ref)
    for name in FULL + PARTIAL:
        params = _params(name)
        shared = [k for k in OPTIONS if k in params]
        if name in FULL:
            assert shared == list(OPTIONS), name
        else:
            assert "assumptions" in shared, name
        for k in shared:
            p, q = params[k], ref[k]
            assert (p.opts, p.default, p.multiple, p.envvar) == (
                q.opts,
                q.default,
                q.multiple,
                q.envvar,
            ), (name, k)
            assert p.help, (name, k)
            if name in FULL:
                assert p.help == q.help, (name, k)


def test_every_assumption_option_is_in_help_with_its_text():
    r = run("plot", "--help")
    text = " ".join(r.stdout.split())
    for p in _params("plot").values():
        if p.name in ("kind", "help"):
            continue
        assert max(p.opts, key=len) in text, p.name
        assert " ".join(p.help.split())[:40] in text, p.name


def test_options_become_assumptions_with_the_option_that_set_them():
    a = AssumptionOptions(
        pue=1.25,
        lbs_co2e_per_kwh=0.5,
        carbon_region="DEU",
        crash_minutes=2.5,
        gpu_alias=("titanx = titanx_pascal",),
        power_basis="measured",
    ).load_assumptions()
    assert (a.pue.value, a.pue.origin) == (1.25, "option --pue")
    assert (
        a.carbon.lbs_co2e_per_kwh == 0.5
        and a.carbon.origin == "option --carbon-region --lbs-co2e-per-kwh"
    )
    assert (
        a.crash_threshold_minutes.value == 2.5
        and a.crash_threshold_minutes.origin == "option --crash-minutes"
    )
    assert dict(a.gpu_aliases)["titanx"] == "titanx_pascal"
    assert a.power_basis == "measured"
    assert "option --pue" in a.layers
    assert AssumptionOptions().load_assumptions().layers == ("built-in defaults",)


@pytest.mark.parametrize(
    "opts,match",
    [
        ({"usd_per_gpu_hour_low": 1.0}, "give both"),
        ({"kg_co2e_per_kwh": 0.4, "lbs_co2e_per_kwh": 0.9}, "not both"),
        ({"gpu_alias": ("titanx",)}, "NAME=KEY"),
    ],
    ids=["price-range-half", "kg-and-lbs", "alias-without-equals"],
)
def test_contradictory_assumption_options_are_usage_errors(opts, match):
    from rdcost.errors import UsageError

    with pytest.raises(UsageError, match=match):
        AssumptionOptions(**opts).load_assumptions()


def test_a_command_cannot_redeclare_or_misname_a_shared_option():
    with pytest.raises(TypeError, match="nope"):
        assumption_options("pue", "nope")
    with pytest.raises(TypeError, match="pue"):
        assumption_options("assumptions", help={"pue": "not taken"})

    def cmd(pue: float = 1.0, *, opts: AssumptionOptions) -> None: ...

    with pytest.raises(TypeError, match="pue"):
        assumption_options()(cmd)
