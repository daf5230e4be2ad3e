"""`tonypi-projector`: fold the events stream into the read tables."""

from tonypi_runtime.entrypoint import run_service

from .bootstrap import main as _main


def main() -> None:
    run_service("tonypi-projector", _main)


if __name__ == "__main__":
    main()
