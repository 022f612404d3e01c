"""``python -m ncmsurf`` runs the command line."""

from __future__ import annotations

from ncmsurf.cli import main

raise SystemExit(main())
