"""Every command and every option of the CLI is documented in docs/cli.md and listed in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from llavamix.cli import cli

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"
README = Path(__file__).parents[2] / "README.md"
COMMANDS = sorted(cli.commands)


def section(text: str, name: str) -> str:
    head = f"## llavamix {name}\n"
    assert head in text, f"docs/cli.md has no section '{head.strip()}'"
    return text.split(head, 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("name", COMMANDS)
def test_command_documented(name: str) -> None:
    body = section(DOCS.read_text(), name)
    command = cli.commands[name]
    for param in command.params:
        if isinstance(param, click.Option):
            for flag in param.opts:
                if flag.startswith("--"):
                    assert flag in body, f"docs/cli.md: llavamix {name} does not document {flag}"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_in_readme(name: str) -> None:
    assert f"`llavamix {name}" in README.read_text()


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        assert cli.commands[name].help, name
