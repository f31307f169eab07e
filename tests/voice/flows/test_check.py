"""`ivr flows check` on the shipped flows (clean) and on broken copies (each problem caught)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import cli
from ivr.core.forces import ForceCatalogue
from ivr.core.settings import PROJECT_ROOT
from ivr.voice.flows.check import check_flows

FLOWS = PROJECT_ROOT / "call_flows"
FORCES = PROJECT_ROOT / "config" / "forces.toml"


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    """A copy of call_flows/ that a test may break."""
    target = tmp_path / "call_flows"
    shutil.copytree(FLOWS, target)
    return target


@pytest.fixture
def forces_copy(tmp_path: Path) -> Path:
    target = tmp_path / "forces.toml"
    shutil.copy(FORCES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"  # the mutation must really happen
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(flows: Path, forces: Path = FORCES) -> list[str]:
    return check_flows(flows, ForceCatalogue.load(forces))


def test_the_shipped_flows_are_clean():
    assert problems(FLOWS) == []


def test_the_command_passes_on_the_shipped_flows_and_says_the_path_times():
    result = CliRunner().invoke(cli, ["flows", "check"])
    assert result.exit_code == 0, result.output
    assert re.search(r"helpline: ok; shortest keypad path to the queue in cy: \d+ s", result.stdout)
    assert "in en:" in result.stdout


def helpline(flows: Path) -> Path:
    return flows / "helpline" / "flow.toml"


def welsh(flows: Path) -> Path:
    return flows / "helpline" / "prompts" / "cy.toml"


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "unreachable step": (
        lambda f: helpline(f).write_text(
            helpline(f).read_text() + '\n[steps.orphan]\nkind = "message"\n'
            'say = ["welcome"]\nnext = "force"\n'
        ),
        "helpline: step orphan cannot be reached",
    ),
    "option leading nowhere": (
        lambda f: edit(
            helpline(f),
            '{ key = "2", label = "force.gwent", value = "gwent", next = "category" }',
            '{ key = "2", label = "force.gwent", value = "gwent", next = "rissk" }',
        ),
        "helpline: step force_wales: option 2 leads to 'rissk', which is not a step",
    ),
    "option with no next": (
        lambda f: edit(
            helpline(f),
            '{ key = "2", label = "no", value = false, next = "anonymity" }',
            '{ key = "2", label = "no", value = false }',
        ),
        "helpline: step risk: option 2 leads nowhere",
    ),
    "loop with no way out": (
        lambda f: (
            edit(
                helpline(f),
                '"dont_know", value = "unknown", next = "anonymity", spoken',
                '"dont_know", value = "unknown", next = "trap_a", spoken',
            ),
            helpline(f).write_text(
                helpline(f).read_text()
                + '\n[steps.trap_a]\nkind = "menu"\nsay = ["risk.ask"]\nfail_next = "trap_b"\n'
                'options = [{ key = "1", label = "yes", next = "trap_b" }]\n'
                '\n[steps.trap_b]\nkind = "message"\nsay = ["risk.advice"]\nnext = "trap_a"\n'
            ),
        ),
        "helpline: steps trap_a, trap_b loop with no way out to a queue",
    ),
    "two options on one key": (
        lambda f: edit(helpline(f), '{ key = "2", label = "no"', '{ key = "1", label = "no"'),
        "helpline: step risk: two options on key 1",
    ),
    "more than nine options": (
        lambda f: edit(
            helpline(f),
            'value = "west-midlands", next = "category" },',
            'value = "west-midlands", next = "category" },'
            '\n  { key = "7", label = "force.derbyshire", value = "derbyshire",'
            ' next = "category" },',
        ),
        "helpline: step force_midlands: 10 options, more than nine",
    ),
    "a key that is not on the keypad": (
        lambda f: edit(helpline(f), '{ key = "2", label = "no"', '{ key = "#", label = "no"'),
        "helpline: step risk: option key '#' is not one keypad digit (0-9)",
    ),
    "an option on the operator key": (
        lambda f: edit(
            helpline(f),
            '{ key = "9", label = "dont_know", value = "unknown", next = "anonymity"',
            '{ key = "0", label = "dont_know", value = "unknown", next = "anonymity"',
        ),
        "helpline: step risk: option key 0 is the operator key, kept for a person at every menu",
    ),
    "prompt missing in Welsh": (
        lambda f: edit(welsh(f), 'no = "Nac oes"\n', ""),
        "helpline: prompt no is missing in cy (prompts/cy.toml)",
    ),
    "prompt missing in English": (
        lambda f: edit(welsh(f), 'no = "Nac oes"\n', 'no = "Nac oes"\nextra = "Arall"\n'),
        "helpline: prompt extra is missing in en (prompts/en.toml)",
    ),
    "prompt over the length limit": (
        lambda f: edit(
            welsh(f),
            'ask = "Oes rhywun mewn perygl nawr?"',
            'ask = "' + "Oes rhywun mewn perygl nawr? " * 30 + '"',
        ),
        "helpline: prompt risk.ask in cy is 150 words, over the limit of 80",
    ),
    "a placeholder the renderer never fills": (
        lambda f: edit(welsh(f), 'heard = "Clywais i: {value}."', 'heard = "Clywais i: {vaule}."'),
        "helpline: prompt force.heard in cy uses {vaule}, which is never filled",
    ),
    "shortest path over the time limit": (
        lambda f: edit(helpline(f), "path_seconds = 55", "path_seconds = 30"),
        # (the words themselves change with the prompts; the line's shape does not)
        "helpline: the shortest keypad path to the queue in en is ",
    ),
    "option switching to a language the line lacks": (
        lambda f: edit(
            helpline(f), 'language = "cy", next = "welcome"', 'language = "ga", next = "welcome"'
        ),
        "helpline: step language: option 2 switches to 'ga', "
        "which is not one of the line's languages",
    ),
    "force not in the config": (
        lambda f: edit(helpline(f), 'value = "gwent"', 'value = "gwentshire"'),
        "helpline: step force_wales: option 2 names force 'gwentshire', which is not in "
        "config/forces.toml",
    ),
    "force in the config that no menu reaches": (
        lambda f: edit(
            helpline(f),
            '  { key = "2", label = "force.gwent", value = "gwent", next = "category" },\n',
            "",
        ),
        "helpline: force gwent in config/forces.toml is in no force menu a caller can reach",
    ),
    "a prompt with other placeholders than in English": (
        lambda f: edit(welsh(f), 'heard = "Clywais i: {value}."', 'heard = "Clywais i."'),
        "helpline: prompt force.heard in cy uses [], but in en ['value']",
    ),
    "a file that is not TOML": (
        lambda f: edit(helpline(f), 'queue = "helpline"', 'queue = "helpline'),
        "flow.toml: not valid TOML",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_problem_is_caught_in_one_line(case: str, flows_copy: Path):
    assert problems(flows_copy) == []  # the copy starts clean
    breaks, expected = BROKEN[case]
    breaks(flows_copy)
    found = problems(flows_copy)
    assert any(expected in line for line in found), found
    assert all("\n" not in line for line in found)


def test_a_force_added_to_the_config_must_be_in_a_menu(flows_copy: Path, forces_copy: Path):
    forces_copy.write_text(
        forces_copy.read_text()
        + '\n[forces.jersey]\nname = "States of Jersey Police"\nname_cy = "Heddlu Jersey"\n'
        'nation = "Jersey"\n'
        'kind = "crown-dependency"\nregion = "scotland-ni-national"\naliases = []\n'
        'destination = "Professional Standards Department"\n'
    )
    assert problems(flows_copy, forces_copy) == [
        "helpline: force jersey in config/forces.toml is in no force menu a caller can reach"
    ]


def test_the_command_fails_with_one_line_per_problem(flows_copy: Path):
    BROKEN["two options on one key"][0](flows_copy)
    BROKEN["prompt missing in Welsh"][0](flows_copy)
    result = CliRunner().invoke(cli, ["flows", "check", "--flows-dir", str(flows_copy)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "helpline: step risk: two options on key 1",
        "helpline: prompt no is missing in cy (prompts/cy.toml)",
    ]


def test_the_command_refuses_a_folder_that_does_not_exist(tmp_path: Path):
    result = CliRunner().invoke(cli, ["flows", "check", "--flows-dir", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "nope" in result.output
    assert "Traceback" not in result.output
