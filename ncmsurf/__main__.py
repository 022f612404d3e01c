"""``python -m ncmsurf`` runs the command line."""

from __future__ import annotations

if __name__ == "__main__":
    from ncmsurf.cli import main

    raise SystemExit(main())
