"""The command line imports only the group asked for; the table of groups stays true."""

from __future__ import annotations

import argparse
import importlib

import pytest

from opsproof import cli


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


@pytest.mark.parametrize(("group", "module"), sorted(cli.GROUPS.items()))
def test_each_module_registers_the_group_the_table_names(group: str, module: str) -> None:
    parser = argparse.ArgumentParser()
    groups = parser.add_subparsers(dest="group")
    importlib.import_module(module).register(groups)
    assert set(groups.choices) == {group}
    assert _choices(cli.build_parser(only=group)) == {group}


def test_the_full_parser_has_every_group() -> None:
    assert _choices(cli.build_parser()) == set(cli.GROUPS)


def test_main_runs_a_command_of_the_group_it_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lock-path"]) == 0
    assert capsys.readouterr().out.strip().endswith(".lock")
    with pytest.raises(SystemExit):  # an unknown group: argparse names the choices
        cli.main(["no-such-group"])
    assert "invalid choice" in capsys.readouterr().err
