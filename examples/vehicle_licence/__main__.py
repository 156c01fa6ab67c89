"""Entry point for ``python -m examples.vehicle_licence`` (run from the repository root)."""

from .app import main

if __name__ == "__main__":
    main()
