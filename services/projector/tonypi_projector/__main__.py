"""`tonypi-projector`: fold the events stream into the read tables."""

from tonypi_runtime.entrypoint import run_service
from tonypi_runtime.gc_tuning import tune_for_throughput

from .bootstrap import main as _main


def main() -> None:
    tune_for_throughput()
    run_service("tonypi-projector", _main)


if __name__ == "__main__":
    main()
