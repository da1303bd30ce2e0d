"""`python -m bot` entry point; the guard keeps worker processes from re-running the CLI on import."""

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
