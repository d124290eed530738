"""Run trainmon as `python -m trainmon`."""

from trainmon.cli import main

raise SystemExit(main())
