"""`ivr flows check` and `ivr flows draw`: the call flows in call_flows/, without a server."""

from __future__ import annotations

from pathlib import Path

import click

from ivr.core.contact import parse_phone
from ivr.core.settings import ConfigPaths
from ivr.voice.flows.catalogue import FlowCatalogue


@click.group()
def flows() -> None:
    """Check and draw the call flows in call_flows/."""


@flows.command("check")
@click.option("--flows-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Default: call_flows/ (IVR_FLOWS_DIR).")  # fmt: skip
@click.option("--forces", "forces_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Default: config/forces.toml (IVR_CONFIG_DIR).")  # fmt: skip
def flows_check(flows_dir: Path | None, forces_file: Path | None) -> None:
    """Fail with one line per problem found in any flow (CI runs this)."""
    from ivr.core.forces import ForceCatalogue
    from ivr.voice.flows.check import check_flows
    from ivr.voice.flows.path_times import keypad_paths

    paths = ConfigPaths.from_environ()
    flows_dir = flows_dir or paths.flows_dir
    forces_file = forces_file or paths.forces_file
    if not flows_dir.is_dir():
        raise click.ClickException(f"{flows_dir} is not a folder of call flows")
    try:
        forces = ForceCatalogue.load(forces_file)
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(f"{forces_file}: cannot read the force list ({exc})") from None
    problems = check_flows(flows_dir, forces)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    catalogue = FlowCatalogue.load(flows_dir)
    for flow in catalogue.flows.values():
        for language, path in keypad_paths(flow).items():
            click.echo(
                f"{flow.id}: ok; shortest keypad path to the queue in {language}: "
                f"{path.seconds:.0f} s ({path.words} words, keys {' '.join(path.keys)})"
            )


@flows.command("draw")
@click.argument("line")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The SVG file to write (default: LINE.svg).")  # fmt: skip
@click.option("--language", default=None, help="The language of the words (default: the first).")
def flows_draw(line: str, output: Path | None, language: str | None) -> None:
    """Draw LINE's flow (a folder name in call_flows/, or one of its numbers) as SVG."""
    from ivr.voice.flows.diagram import flow_svg

    catalogue = FlowCatalogue.load(ConfigPaths.from_environ().flows_dir)
    flow = catalogue.flows.get(line)
    if flow is None:
        number = parse_phone(line)
        flow = next((f for f in catalogue.flows.values() if number in f.numbers), None)
    if flow is None:
        raise click.ClickException(
            f"no line {line!r}: give one of {', '.join(sorted(catalogue.flows))} or its number"
        )
    if language is not None and language not in flow.languages:
        raise click.ClickException(
            f"line {flow.id} has no language {language!r} (it has {', '.join(flow.languages)})"
        )
    output = output or Path(f"{flow.id}.svg")
    try:
        output.write_text(flow_svg(flow, language), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output} ({len(flow.steps)} steps)")
