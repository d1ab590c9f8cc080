"""``claran`` entry point: a click group whose subcommands are imported only when used (fast ``--help``)."""

from __future__ import annotations

import importlib
import sys

import click

# command name -> "module:attribute" of a click.Command
_COMMANDS = {
    "train": "cli.train:train",
    "evaluate": "cli.evaluate:evaluate",
    "predict": "cli.predict:predict",
    "detect": "cli.detect:detect",
    "simulate": "cli.simulate:simulate",
    "data": "cli.data:data",
    "export": "cli.export:export",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="claran")
def cli() -> None:
    """claran: find and classify radio galaxies (Faster/Mask/Cascade R-CNN in PyTorch)."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a user's mistake ends in one line on stderr and a non-zero exit, never a traceback."""
    from claran.errors import UserError

    try:
        cli.main(args=argv, prog_name="claran", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except UserError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except OSError as e:  # disk full, permissions: name the file, no traceback
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        click.echo(f"Error: {where}{e.strerror or e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
